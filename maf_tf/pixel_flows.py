"""Flows over raw pixels: the logit preprocessing bijector in front of a
logit-space flow (`PixelFlow`, as PixelMAF, PixelRealNVP and PixelNSF; a
PixelMAF with num_layers=0 and a 'made_mog' or 'gaussian' base is the
pixel MADE MoG or Gaussian).

Inputs are dequantised pixels x = (v + u) / 256 in [0, 1], flattened to
[..., D]. `log_prob` is the exact pixel-space density (what bits/dim is
computed from); `log_prob_pixel_and_logit` also returns the logit-space
density that the MAF paper's Table 2 reports. Their difference is the
log-det of the preprocessing, which has no parameters, so training on
either gives the same gradients.
"""

from typing import Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from maf_tf.bijectors.logit import (LogitBijector, logits_to_pixels,
                                    pixels_to_logits)
from maf_tf.checks import check_alpha
from maf_tf.flows import MAF
from maf_tf.metrics import bits_per_dim
from maf_tf.nsf import NSF
from maf_tf.real_nvp import RealNVP

__all__ = ["PixelFlow", "PixelMAF", "PixelRealNVP", "PixelNSF", "to_uint8"]


def to_uint8(pixels: tf.Tensor) -> tf.Tensor:
  """Pixels in [0, 1] back to 8-bit values floor(256 x), clipped."""
  return tf.cast(tf.clip_by_value(tf.floor(pixels * 256.0), 0, 255),
                 tf.uint8)


class PixelFlow:
  """Mixin: a flow (MAF, RealNVP) on pixel data in [0, 1]^D through a
  logit transform.

  Takes the flow's arguments plus `alpha` (MNIST 1e-6, CIFAR-10 0.05) and,
  optionally, `image_shape` (H, W, C) with H W C = event_size, which the
  flow keeps for whatever draws or serves its samples as images.

  Example:
    >>> flow = PixelMAF(event_size=4, alpha=0.05, num_layers=1,
    ...                 hidden_units=[8], image_shape=(2, 2, 1))
    >>> pixel, logit = flow.log_prob_pixel_and_logit(tf.fill([2, 4], 0.5))
    >>> tuple(pixel.shape), tuple(logit.shape)
    ((2,), (2,))
  """

  def __init__(self, *, alpha: float,
               image_shape: Optional[Sequence[int]] = None, **kwargs):
    super().__init__(**kwargs)
    self.alpha = check_alpha(alpha)
    if image_shape is not None:
      image_shape = tuple(int(n) for n in image_shape)
      if len(image_shape) != 3 or np.prod(image_shape) != self.event_size:
        raise ValueError(f"image_shape must be (height, width, channels) "
                         f"with {self.event_size} values; got "
                         f"{list(image_shape)}")
    self.image_shape = image_shape

  def logit_to_base(self, y, context=None, training=False, until_norm=None,
                    made_inputs=None):
    """The logit-space flow: logits y -> (z, log|det dz/dy|); see
    MAF.to_base."""
    return super().to_base(y, context, training, until_norm, made_inputs)

  def to_base(self, x, context=None, training=False, until_norm=None,
              made_inputs=None):
    logits, logit_log_det = pixels_to_logits(x, self.alpha)
    z, log_det = self.logit_to_base(logits, context, training, until_norm,
                                    made_inputs)
    return z, log_det + logit_log_det

  def _before_standardization(self, x):
    return super()._before_standardization(pixels_to_logits(x, self.alpha)[0])

  def to_data(self, z, context=None, sampler="fast"):
    return logits_to_pixels(super().to_data(z, context, sampler), self.alpha)

  def _bijector_steps(self, context, training):
    logit = LogitBijector(self.alpha, dtype=self.compute_dtype)
    return [logit] + super()._bijector_steps(context, training)

  def log_prob_pixel_and_logit(self, x, context=None, training=False
                               ) -> Tuple[tf.Tensor, tf.Tensor]:
    """(pixel-space, logit-space) log densities in nats, one pass."""
    x, context = self._inputs(x, context, "log_prob_pixel_and_logit")
    logits, logit_log_det = pixels_to_logits(x, self.alpha)
    z, log_det = self.logit_to_base(logits, context, training)
    logit = self.base_log_prob(z, context) + log_det
    return logit + logit_log_det, logit

  metric_names = ("nll", "bits_per_dim")

  def scores(self, x, context=None, training=False):
    """Pixel log_prob (the loss) with logit-space 'nll' (nats, the paper's
    Table 2) and pixel-space 'bits_per_dim'. The loss and 'nll' differ by
    the logit transform's log-det, which has no parameters: the same
    gradients, and on fixed data the same best epoch."""
    pixel, logit = self.log_prob_pixel_and_logit(x, context, training)
    return pixel, {"nll": -logit,
                   "bits_per_dim": bits_per_dim(pixel, self.event_size)}

  def bits_per_dim(self, x, context=None) -> tf.Tensor:
    """Bits per dimension of the 8-bit data for dequantised pixels x."""
    return bits_per_dim(self.log_prob(x, context), self.event_size)

  def get_config(self):
    return {**super().get_config(), "alpha": self.alpha,
            "image_shape": None if self.image_shape is None
            else list(self.image_shape)}


@keras.saving.register_keras_serializable(package="maf_tf")
class PixelMAF(PixelFlow, MAF):
  """MAF on pixel data in [0, 1]^D through a logit transform (`PixelFlow`)."""


@keras.saving.register_keras_serializable(package="maf_tf")
class PixelRealNVP(PixelFlow, RealNVP):
  """Real NVP on pixel data in [0, 1]^D through a logit transform
  (`PixelFlow`)."""


@keras.saving.register_keras_serializable(package="maf_tf")
class PixelNSF(PixelFlow, NSF):
  """The autoregressive spline flow on pixel data in [0, 1]^D through a
  logit transform (`PixelFlow`)."""
