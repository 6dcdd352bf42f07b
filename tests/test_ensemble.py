"""An ensemble of flows: a density (integrates to 1, the mean of its
members'), samples that follow it, a .keras round trip and bad input."""

import json
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


def test_fit_gives_each_member_the_gradient_it_would_take_alone():
  """The loss is the sum of the members' NLLs: one step of the ensemble
  moves each member exactly as one step of that member alone."""
  x = np.random.default_rng(2).normal(size=(64, 2)).astype(np.float32)
  alone = _members(count=2)
  for member in alone:
    member.compile(optimizer=keras.optimizers.SGD(0.1))
    member.fit(x, batch_size=64, epochs=1, verbose=0)
  ensemble = Ensemble(_members(count=2))
  ensemble.compile(optimizer=keras.optimizers.SGD(0.1))
  history = ensemble.fit(x, batch_size=64, epochs=1, verbose=0)
  for member, single in zip(ensemble.members, alone):
    np.testing.assert_allclose(member.log_prob(x), single.log_prob(x),
                               atol=1e-5)
  assert history.history["nll"][0] > 0  # the mixture's, reported


def test_a_saved_model_serves_the_mixture_in_a_fresh_process(tmp_path):
  from maf_tf.export import export_saved_model
  from test_evaluate_export import _load_and_run
  ensemble = Ensemble(_members(context_size=2))
  path = export_saved_model(ensemble, os.path.join(tmp_path, "served"),
                            max_samples=40_000)
  x = np.random.default_rng(3).normal(size=(4, 2)).astype(np.float32)
  context = _context(ensemble, 4)
  code = (f"x = np.array({x.tolist()}, np.float32)\n"
          f"c = np.array({context.tolist()}, np.float32)\n"
          "out = m.signatures['serving_default'](x=tf.constant(x), "
          "context=tf.constant(c))\n"
          "s = m.signatures['sample'](num_samples=tf.constant(40000), "
          "seed=tf.constant(1), context=tf.constant(c[0]))['samples']\n"
          "print(json.dumps({'log_prob': out['log_prob'].numpy().tolist(), "
          "'samples': s.numpy().tolist()}))")
  done = _load_and_run(path, code)
  assert done.returncode == 0, done.stderr[-2000:]
  out = json.loads(done.stdout.strip().splitlines()[-1])
  np.testing.assert_allclose(out["log_prob"], ensemble.log_prob(x, context),
                             rtol=1e-5, atol=1e-5)
  samples = np.array(out["samples"], np.float32)
  assert np.isfinite(samples).all() and samples.shape == (40_000, 2)
  # Every member drew its share: the served samples follow the mixture.
  first = ensemble.members[0]
  assert_samples_match_density(
      samples, lambda p: ensemble.log_prob(p, _context(ensemble, len(p))),
      wrong=lambda p: first.log_prob(p, _context(first, len(p))))
