"""Shared test helpers: float64 flows with non-trivial weights."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def randomize(model, seed: int = 0, scale: float = 0.3) -> None:
  """Gives every variable of `model` a random, non-trivial value.

  Kernels keep their initial values unless those are all zero (a MADE's
  output layer starts at zero: initialization='identity'); biases,
  batch-norm parameters and statistics and the mixture's weights move away
  from their (symmetric) initial values so that no test passes because a
  term is zero.
  """
  rng = np.random.default_rng(seed)
  for variable in model.weights:
    name = variable.path.split("/")[-1]
    shape = tuple(variable.shape)
    if name == "kernel" and not np.any(variable.numpy()):
      variable.assign(scale * rng.standard_normal(shape) /
                      np.sqrt(shape[0]))
    elif name in ("bias", "beta", "moving_mean", "logits", "log_gamma",
                  "log_scale"):
      variable.assign(scale * rng.standard_normal(shape))
    elif name == "moving_variance":
      variable.assign(np.exp(scale * rng.standard_normal(shape)))


def square_grid(half_width=25.0, n=600):
  """Points [n * n, 2] of a square grid of [-half_width, half_width]^2
  (the default holds all but ~1e-3 of a flow's mass) and each cell's area."""
  axis = np.linspace(-half_width, half_width, n)
  xx, yy = np.meshgrid(axis, axis)
  return np.stack([xx.ravel(), yy.ravel()], axis=1), (axis[1] - axis[0])**2


def assert_integrates_to_one(model, context_of):
  """A 2-D model's density sums to 1 (within 0.01) over `square_grid`;
  context_of(model, n) gives its context for n points (or None)."""
  points, cell = square_grid()
  log_p = model.log_prob(points, context_of(model, len(points)))
  assert abs(np.exp(log_p.numpy()).sum() * cell - 1.0) < 0.01


def _bin_masses(points, weights, edges):
  """Sums of `weights` of 2-D points over the grid of `edges` x `edges`."""
  which = lambda p: np.clip(np.digitize(p, edges) - 1, 0,  # noqa: E731
                            len(edges) - 2)
  masses = np.zeros((len(edges) - 1,) * 2)
  np.add.at(masses, (which(points[:, 0]), which(points[:, 1])), weights)
  return masses


def assert_samples_match_density(samples, log_prob, half_width=25.0,
                                  grid=800, tolerance=0.03, wrong=None):
  """2-D samples against a density: the histogram of the samples over
  coarse bins against the density integrated over the same bins (a fine
  grid of [-half_width, half_width]^2), in total variation, below
  `tolerance`. `log_prob` maps points [N, 2] to log densities [N]. With
  `wrong` (another log density, e.g. the base alone), also checks that the
  same test tells that one apart (distance > 0.1), so it can fail."""
  samples = np.asarray(samples)
  points, cell = square_grid(half_width, grid)
  edges = np.array([-half_width, -6, -4, -2, -1, 0, 1, 2, 4, 6, half_width])
  observed = _bin_masses(samples, 1.0 / len(samples), edges)

  def distance(density):
    expected = _bin_masses(points, np.exp(np.asarray(density(points))) *
                           cell, edges)
    return 0.5 * np.abs(observed - expected).sum()

  assert distance(log_prob) < tolerance
  if wrong is not None:
    assert distance(wrong) > 0.1
