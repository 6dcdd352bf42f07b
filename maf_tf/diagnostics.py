"""Calibration of a conditional density q(theta | x) learned from
simulations (neural posterior estimation), on held-out pairs (theta_i,
x_i) drawn from the prior and the simulator:

  * simulation-based calibration (Talts et al. 2018): the rank of each
    theta_i[j] among L posterior samples given x_i. For the true
    posterior the ranks are uniform on 0..L; too narrow a posterior piles
    them at both ends, too wide in the middle, a biased one to one side.
  * expected coverage: the share of theta_i inside q's highest-density
    region of mass gamma given x_i, for a grid of gamma. For the true
    posterior it is gamma; below the diagonal means over-confident.

Any object with `sample(n, context, seed=...)` (context [n, C]) and
`log_prob(theta, context)` works: a conditional flow, or a closed-form
posterior. Samples for many observations are drawn in one pass
(`samples_for_each`).
"""

from typing import Sequence

import numpy as np
import tensorflow_probability as tfp

from maf_tf.checks import check_positive_int
from maf_tf.inputs import refuse_non_finite
from maf_tf.sampling import sample_in_chunks

__all__ = ["samples_for_each", "sbc_ranks", "rank_uniformity",
           "highest_density_levels", "expected_coverage", "calibration"]

LEVELS = tuple(np.linspace(0, 1, 21))  # expected_coverage's default grid

CHUNK_ROWS = 100_000  # samples drawn per call (sample_in_chunks)


def _as_rows(values, name: str) -> np.ndarray:
  values = np.asarray(values, dtype=np.float32)
  if values.ndim != 2 or not len(values):
    raise ValueError(f"{name} must have shape [N >= 1, size]; got "
                     f"{list(values.shape)}")
  refuse_non_finite(values, name)
  return values


def samples_for_each(flow, num_samples: int, contexts,
                     seed: int = 0) -> np.ndarray:
  """num_samples samples for each context row: [B, num_samples, D] for
  contexts [B, C], drawn CHUNK_ROWS at a time, every row's in one pass."""
  contexts = _as_rows(contexts, "contexts")
  width = getattr(flow, "context_size", None)
  if width is not None and contexts.shape[1] != width:
    raise ValueError(f"contexts must have {width} columns, the flow's "
                     f"context size; got shape {list(contexts.shape)}")
  check_positive_int("num_samples", num_samples)
  samples = [part for _, part in sample_in_chunks(
      flow, num_samples, contexts, seed, CHUNK_ROWS)]
  return np.concatenate(samples).reshape(len(contexts), num_samples, -1)


def _pairs(theta, x):
  theta, x = _as_rows(theta, "theta"), _as_rows(x, "x")
  if len(theta) != len(x):
    raise ValueError(f"theta and x must have one row per simulation; got "
                     f"{len(theta)} and {len(x)} rows")
  return theta, x


def sbc_ranks(flow, theta, x, num_samples: int = 100,
              seed: int = 0) -> np.ndarray:
  """Ranks [N, P] in 0..num_samples: how many of num_samples posterior
  samples given x_i fall below theta_i, per parameter."""
  theta, x = _pairs(theta, x)
  return _ranks(samples_for_each(flow, num_samples, x, seed), theta)


def _ranks(samples, theta) -> np.ndarray:
  return (samples < theta[:, None, :]).sum(axis=1)


def rank_uniformity(ranks, num_samples: int, bins: int = 10) -> np.ndarray:
  """p-values [P] of a chi-square test of each parameter's ranks against
  the uniform distribution on 0..num_samples, in `bins` equal bins
  (num_samples + 1 must be a multiple of bins). Small means the ranks
  are not uniform: the posterior is miscalibrated."""
  ranks = np.asarray(ranks)
  if (num_samples + 1) % bins:
    raise ValueError(f"num_samples + 1 must be a multiple of bins; got "
                     f"{num_samples} and {bins}")
  counts = np.stack([np.bincount(r * bins // (num_samples + 1),
                                 minlength=bins) for r in ranks.T])
  expected = len(ranks) / bins
  statistic = ((counts - expected) ** 2 / expected).sum(axis=1)
  return tfp.distributions.Chi2(float(bins - 1)).survival_function(
      statistic).numpy()


def highest_density_levels(flow, theta, x, num_samples: int = 100,
                           seed: int = 0) -> np.ndarray:
  """For each pair, the share of posterior samples given x_i that q
  finds more probable than theta_i [N]: theta_i lies in the
  highest-density region of mass gamma exactly when this is below gamma.
  Uniform on [0, 1] for the true posterior."""
  theta, x = _pairs(theta, x)
  return _denser_shares(flow, samples_for_each(flow, num_samples, x, seed),
                        theta, x)


def _denser_shares(flow, samples, theta, x) -> np.ndarray:
  count, num_samples = samples.shape[:2]
  denser = np.asarray(flow.log_prob(
      samples.reshape(count * num_samples, -1),
      np.repeat(x, num_samples, axis=0))).reshape(count, num_samples)
  own = np.asarray(flow.log_prob(theta, x))
  return (denser > own[:, None]).mean(axis=1)


def _coverage(shares, levels) -> np.ndarray:
  return np.array([(shares < level).mean() for level in levels])


def expected_coverage(flow, theta, x, levels: Sequence[float] = LEVELS,
                      num_samples: int = 100, seed: int = 0) -> np.ndarray:
  """The share of held-out theta_i inside q's highest-density region of
  each mass in `levels` [len(levels)]; the diagonal for the true
  posterior, below it for an over-confident one."""
  return _coverage(highest_density_levels(flow, theta, x, num_samples,
                                          seed), levels)


def calibration(flow, theta, x, levels: Sequence[float] = LEVELS,
                num_samples: int = 100, seed: int = 0) -> tuple:
  """(sbc_ranks, expected_coverage) from one draw of the posterior
  samples: the same as calling both with these arguments, at the cost
  of one."""
  theta, x = _pairs(theta, x)
  samples = samples_for_each(flow, num_samples, x, seed)
  return _ranks(samples, theta), _coverage(
      _denser_shares(flow, samples, theta, x), levels)
