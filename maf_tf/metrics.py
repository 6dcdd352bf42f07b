"""Units of density estimates: nats, bits per dimension, error bars.

Pixel data x = (v + u) / 256 with v in {0..255}: a density p_x on [0, 1]^D
is a density on the 8-bit data v + u in [0, 256)^D scaled by 256^-D, so

    bits/dim = -log p_x(x) / (D ln 2) + 8

(the MAF paper's reference code). Error bars are the paper's: mean ± 2
standard errors, 2 std / sqrt(N) over test points.
"""

from typing import Tuple

import numpy as np

__all__ = ["bits_per_dim", "mean_and_error", "format_mean_error", "summarize"]


def bits_per_dim(log_prob_pixels, event_size: int):
  """Bits per dimension of 8-bit data from pixel-space log densities
  (nats; array or tensor, elementwise)."""
  return -log_prob_pixels / (event_size * np.log(2.0)) + 8.0


def mean_and_error(values) -> Tuple[float, float]:
  """(mean, 2 standard errors) of a 1-D sample."""
  values = np.asarray(values, dtype=np.float64).ravel()
  if values.size == 0:
    raise ValueError("mean_and_error needs at least one value; got none")
  error = 2.0 * values.std() / np.sqrt(values.size) if values.size > 1 else 0
  return float(values.mean()), float(error)


def format_mean_error(values, digits: int = 2) -> str:
  mean, error = mean_and_error(values)
  return f"{mean:.{digits}f} ± {error:.{digits}f}"


def summarize(scores: dict, prefix: str = "") -> dict:
  """{prefix+name: mean, ..._2se: 2 standard errors, ..._median: median}
  for every per-example array in `scores` (the median because one outlying
  example can dominate a mean)."""
  summary = {}
  for name, values in scores.items():
    key = prefix + name
    summary[key], summary[key + "_2se"] = mean_and_error(values)
    summary[key + "_median"] = float(np.median(values))
  return summary
