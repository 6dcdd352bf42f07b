"""Calibration diagnostics on a task with a closed-form posterior: theta
~ N(0, 1) in 2 dimensions, x = theta + N(0, 1), so p(theta | x) =
N(x / 2, 1/2). The true posterior passes; one too narrow, too wide or
shifted fails in the way each diagnostic describes."""

import numpy as np
import pytest
import tensorflow as tf

from maf_tf import MAF
from maf_tf.diagnostics import (calibration, expected_coverage,
                                highest_density_levels, rank_uniformity,
                                samples_for_each, sbc_ranks)

LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)


class GaussianPosterior:
  """N(x / 2 + shift, scale^2 / 2) per dimension: the true posterior for
  scale 1 and shift 0."""

  def __init__(self, scale=1.0, shift=0.0):
    self.scale, self.shift = scale, shift

  def _moments(self, context):
    context = np.asarray(context, np.float64)
    return context / 2 + self.shift, self.scale * np.sqrt(0.5)

  def sample(self, n, context, seed):
    mean, std = self._moments(context)
    noise = tf.random.stateless_normal([n, mean.shape[1]], seed,
                                       dtype=tf.float64).numpy()
    return mean + std * noise

  def log_prob(self, theta, context):
    mean, std = self._moments(context)
    z = (np.asarray(theta, np.float64) - mean) / std
    return (-0.5 * z**2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(-1)


def _simulations(count=1000, seed=0):
  rng = np.random.default_rng(seed)
  theta = rng.standard_normal((count, 2))
  return theta, theta + rng.standard_normal((count, 2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_true_posterior_is_calibrated(seed):
  theta, x = _simulations(seed=seed)
  posterior = GaussianPosterior()
  ranks = sbc_ranks(posterior, theta, x, num_samples=99, seed=seed)
  assert ranks.shape == (1000, 2) and ranks.min() >= 0 and ranks.max() <= 99
  assert (rank_uniformity(ranks, 99) > 1e-3).all()
  coverage = expected_coverage(posterior, theta, x, LEVELS, 99, seed)
  np.testing.assert_allclose(coverage, LEVELS, atol=0.06)


@pytest.mark.parametrize("scale,shift,low,high", [
    (0.5, 0.0, True, True),     # too narrow: ranks at both ends
    (2.0, 0.0, False, False),   # too wide: ranks in the middle
    (1.0, 0.5, True, False),    # shifted up: truth below most samples
])
def test_a_wrong_posterior_is_caught(scale, shift, low, high):
  theta, x = _simulations()
  posterior = GaussianPosterior(scale, shift)
  ranks = sbc_ranks(posterior, theta, x, num_samples=99)
  assert (rank_uniformity(ranks, 99) < 1e-6).all()
  share_low, share_high = (ranks < 10).mean(), (ranks >= 90).mean()
  assert (share_low > 0.2) == low and (share_high > 0.2) == high
  coverage = expected_coverage(posterior, theta, x, LEVELS, 99)
  if scale < 1 or shift:
    assert (coverage < np.array(LEVELS) - 0.1).any()  # over-confident
  else:
    assert (coverage > np.array(LEVELS) + 0.1).any()  # under-confident


def test_calibration_draws_once_what_the_two_diagnostics_draw():
  theta, x = _simulations(200)
  posterior = GaussianPosterior(scale=0.8)
  ranks, coverage = calibration(posterior, theta, x, LEVELS, 49, seed=5)
  np.testing.assert_array_equal(
      ranks, sbc_ranks(posterior, theta, x, num_samples=49, seed=5))
  np.testing.assert_array_equal(coverage, expected_coverage(
      posterior, theta, x, LEVELS, 49, seed=5))


def test_samples_for_each_observation_come_in_one_batch(monkeypatch):
  """Every observation's samples, in chunks that split a row's samples,
  each sample drawn at its own observation's context."""
  from maf_tf import diagnostics
  monkeypatch.setattr(diagnostics, "CHUNK_ROWS", 7)
  contexts = np.array([[0.0, 0.0], [100.0, 100.0], [-100.0, 0.0]])
  samples = samples_for_each(GaussianPosterior(scale=1e-3), 5, contexts)
  assert samples.shape == (3, 5, 2)
  np.testing.assert_allclose(samples, np.broadcast_to(
      contexts[:, None, :] / 2, samples.shape), atol=0.01)
  flow = MAF(event_size=2, num_layers=1, hidden_units=[4], context_size=2)
  drawn = samples_for_each(flow, 4, contexts, seed=3)
  assert drawn.shape == (3, 4, 2) and np.isfinite(drawn).all()


@pytest.mark.parametrize("theta,x,message", [
    (np.zeros((3, 2)), np.zeros((4, 2)), "one row per simulation; got 3 "
     "and 4"),
    (np.zeros((3, 2)), np.full((3, 2), np.nan), "x holds NaN"),
    (np.zeros(3), np.zeros((3, 2)), r"theta must have shape \[N >= 1, "),
])
def test_bad_pairs_are_one_line(theta, x, message):
  with pytest.raises(ValueError, match=message):
    highest_density_levels(GaussianPosterior(), theta, x)


def test_bins_must_divide_the_ranks():
  with pytest.raises(ValueError, match="multiple of bins"):
    rank_uniformity(np.zeros((5, 1), int), 100)
