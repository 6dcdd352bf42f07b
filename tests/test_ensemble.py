"""An ensemble of flows: a density (integrates to 1, the mean of its
members'), samples that follow it, a .keras round trip and bad input."""

import os

import keras
import numpy as np
import pytest

from helpers import (assert_integrates_to_one, assert_samples_match_density,
                     random_flow)
from maf_tf import MAF
from maf_tf.ensemble import Ensemble


def _members(context_size=0, count=3):
  return [random_flow(MAF, weights_seed=k, event_size=2, num_layers=2,
                      hidden_units=[16], context_size=context_size,
                      dtype="float32", seed=k) for k in range(count)]


def _context(model, n):
  return np.tile([[0.5, -1.0]], (n, 1)).astype(np.float32) \
      if model.context_size else None


@pytest.mark.parametrize("context_size", [0, 2])
def test_the_mixture_is_a_density_and_its_samples_follow_it(context_size):
  ensemble = Ensemble(_members(context_size))
  assert_integrates_to_one(ensemble, _context)
  samples = ensemble.sample(40_000, _context(ensemble, 1)[0]
                            if context_size else None, seed=1)
  # Wrong: the first member alone (it differs from the mixture).
  first = ensemble.members[0]
  assert_samples_match_density(
      samples, lambda p: ensemble.log_prob(p, _context(ensemble, len(p))),
      wrong=lambda p: first.log_prob(p, _context(first, len(p))))


def test_its_density_is_the_mean_of_its_members():
  members = _members()
  x = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)
  mean = np.mean([np.exp(m.log_prob(x).numpy()) for m in members], axis=0)
  np.testing.assert_allclose(np.exp(Ensemble(members).log_prob(x)), mean,
                             rtol=1e-5)


def test_a_keras_file_keeps_every_member(tmp_path):
  ensemble = Ensemble(_members(context_size=2))
  path = os.path.join(tmp_path, "ensemble.keras")
  ensemble.save(path)
  again = keras.models.load_model(path)
  x = np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32)
  context = _context(ensemble, 4)
  np.testing.assert_allclose(again.log_prob(x, context),
                             ensemble.log_prob(x, context), atol=1e-6)
  np.testing.assert_allclose(again.sample(5, context[0], seed=3),
                             ensemble.sample(5, context[0], seed=3),
                             atol=1e-6)


def test_bad_ensembles_are_one_line():
  with pytest.raises(ValueError, match="at least one member"):
    Ensemble([])
  with pytest.raises(ValueError, match="must share event size"):
    Ensemble(_members(0, 1) + _members(2, 1))
  with pytest.raises(ValueError, match="context must be finite"):
    Ensemble(_members(2)).sample(3, [np.nan, 0.0])
