"""A MAF over raw pixels: the logit preprocessing bijector + a logit-space MAF.

Inputs are dequantised pixels x = (v + u) / 256 in [0, 1], flattened to
[..., D]. `log_prob` is the exact pixel-space density (what bits/dim is
computed from); `log_probs` also returns the logit-space density that the
MAF paper's Table 2 reports. Their difference is the log-det of the
preprocessing, which has no parameters, so training on either gives the
same gradients.
"""

from typing import Tuple

import keras
import tensorflow as tf

from maf_tf.bijectors.logit import LogitBijector, pixels_to_logits
from maf_tf.flows import MAF
from maf_tf.metrics import bits_per_dim

__all__ = ["PixelMAF", "to_uint8"]


def to_uint8(pixels: tf.Tensor) -> tf.Tensor:
  """Pixels in [0, 1] back to 8-bit values floor(256 x), clipped."""
  return tf.cast(tf.clip_by_value(tf.floor(pixels * 256.0), 0, 255),
                 tf.uint8)


@keras.saving.register_keras_serializable(package="maf_tf")
class PixelMAF(MAF):
  """MAF on pixel data in [0, 1]^D through a logit transform.

  Takes MAF's arguments plus `alpha` (MNIST 1e-6, CIFAR-10 0.05).

  Example:
    >>> flow = PixelMAF(event_size=4, alpha=0.05, num_layers=1,
    ...                 hidden_units=[8])
    >>> pixel, logit = flow.log_probs(tf.fill([2, 4], 0.5))
    >>> tuple(pixel.shape), tuple(logit.shape)
    ((2,), (2,))
  """

  def __init__(self, *, alpha: float, **kwargs):
    super().__init__(**kwargs)
    if not 0.0 < alpha < 0.5:
      raise ValueError(f"alpha must be in (0, 0.5); got {alpha}")
    self.alpha = float(alpha)

  def to_base(self, x, context=None, training=False, until_norm=None,
              made_inputs=None):
    logits, logit_log_det = pixels_to_logits(x, self.alpha)
    z, log_det = super().to_base(logits, context, training, until_norm,
                                 made_inputs)
    return z, log_det + logit_log_det

  def to_data(self, z, context=None, sampler="fast"):
    logits = super().to_data(z, context, sampler)
    return (tf.sigmoid(logits) - self.alpha) / (1.0 - 2.0 * self.alpha)

  def _bijector_steps(self, context, training):
    logit = LogitBijector(self.alpha, dtype=self.compute_dtype)
    return [logit] + super()._bijector_steps(context, training)

  def log_probs(self, x, context=None,
                training=False) -> Tuple[tf.Tensor, tf.Tensor]:
    """(pixel-space, logit-space) log densities in nats, one pass."""
    x = self._check(x, self.event_size, "x")
    context = self._check_context(context, "log_probs", x)
    logits, logit_log_det = pixels_to_logits(x, self.alpha)
    z, log_det = MAF.to_base(self, logits, context, training)
    logit = self.base.distribution().log_prob(z) + log_det
    return logit + logit_log_det, logit

  metric_names = ("nll", "bits_per_dim")

  def scores(self, x, context=None, training=False):
    """Pixel log_prob (the loss) with logit-space 'nll' (nats, the paper's
    Table 2) and pixel-space 'bits_per_dim'."""
    pixel, logit = self.log_probs(x, context, training)
    return pixel, {"nll": -logit,
                   "bits_per_dim": bits_per_dim(pixel, self.event_size)}

  def bits_per_dim(self, x, context=None) -> tf.Tensor:
    """Bits per dimension of the 8-bit data for dequantised pixels x."""
    return bits_per_dim(self.log_prob(x, context), self.event_size)

  def get_config(self):
    return {**super().get_config(), "alpha": self.alpha}


