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
