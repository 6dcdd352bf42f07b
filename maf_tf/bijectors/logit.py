"""The logit preprocessing of pixel data as a bijector (MAF paper, sec. 4.3).

Direction follows TFP: forward maps logit space -> pixel space, inverse maps
pixels x in [0, 1] to logits. Both directions are cheap.

    inverse: y = logit(s),  s = alpha + (1 - 2 alpha) x
    forward: x = (sigmoid(y) - alpha) / (1 - 2 alpha)
    log|det dy/dx| = sum_d [log(1 - 2 alpha) - log s_d - log(1 - s_d)]
"""

import math

import tensorflow as tf

from maf_tf.bijectors.vector import VectorBijector
from maf_tf.checks import check_alpha

__all__ = ["LogitBijector", "pixels_to_logits", "logits_to_pixels"]


def pixels_to_logits(x: tf.Tensor, alpha: float):
  """(y, log|det dy/dx| per event) for pixels x in [0, 1]."""
  # 1 - s computed as alpha + (1 - 2 alpha)(1 - x): no cancellation near 1.
  log_s = tf.math.log(alpha + (1.0 - 2.0 * alpha) * x)
  log_one_minus_s = tf.math.log(alpha + (1.0 - 2.0 * alpha) * (1.0 - x))
  log_det = tf.reduce_sum(
      math.log1p(-2.0 * alpha) - log_s - log_one_minus_s, axis=-1)
  return log_s - log_one_minus_s, log_det


def logits_to_pixels(y: tf.Tensor, alpha: float) -> tf.Tensor:
  """The inverse of `pixels_to_logits`:
  (sigmoid(y) - alpha) / (1 - 2 alpha)."""
  return (tf.sigmoid(y) - alpha) / (1.0 - 2.0 * alpha)


class LogitBijector(VectorBijector):
  """Pixels in [0, 1] <-> logits; forward (logits -> pixels) is cheap too.

  Args:
    alpha: keeps s away from 0 and 1 (MNIST 1e-6, CIFAR-10 0.05).
    dtype: float dtype of the events.
    name: bijector name.

  Example:
    >>> bijector = LogitBijector(alpha=0.05)
    >>> x = tf.constant([[0.0, 0.5, 1.0]])
    >>> [round(float(v), 4) for v in bijector.inverse(x)[0]]
    [-2.9444, 0.0, 2.9444]
  """

  def __init__(self, alpha: float, dtype=tf.float32, name: str = "logit"):
    parameters = dict(locals())
    self._alpha = check_alpha(alpha)
    super().__init__(dtype, parameters, name)

  @property
  def alpha(self) -> float:
    return self._alpha

  def _forward(self, y):
    return logits_to_pixels(y, self._alpha)

  def _inverse(self, x):
    return pixels_to_logits(x, self._alpha)[0]

  def _inverse_log_det_jacobian(self, x):
    return pixels_to_logits(x, self._alpha)[1]
