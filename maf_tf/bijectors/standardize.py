"""A per-dimension standardisation adapted to the data before training
(as Keras's Normalization layer adapts), in front of a flow's layers.

Direction follows TFP: inverse maps data -> standardised, forward back.

    inverse: s = (x - mean) * exp(-log_scale)
    forward: x = s * exp(log_scale) + mean
    log|det ds/dx| = -sum(log_scale)

mean and log_scale are non-trainable weights, zero (the identity) until
`adapt` sets them from data; `adapted` records that it did, so a model
restored from a checkpoint keeps them and a further fit() leaves them.
The spline flow needs this: its splines act on [-B, B] and are the
identity outside, so data far outside (pixel logits reach -13.8) would
never be moved by any layer.
"""

import keras
import numpy as np
import tensorflow as tf

from maf_tf.bijectors.vector import VectorBijector

__all__ = ["Standardization", "StandardizationBijector", "ADAPT_ROWS"]

ADAPT_ROWS = 100_000  # at most this many rows set the statistics
MIN_SCALE = 1e-6      # a dimension with no spread keeps this scale


@keras.saving.register_keras_serializable(package="maf_tf")
class Standardization(keras.layers.Layer):
  """mean and log_scale per dimension, set once by `adapt` so that the
  data's standard deviation becomes `target_scale` (1: unit variance)."""

  def __init__(self, event_size: int, target_scale: float = 1.0, **kwargs):
    super().__init__(**kwargs)
    self.event_size = int(event_size)
    self.target_scale = float(target_scale)

  def build(self, input_shape=None):
    shape = (self.event_size,)
    # Every replica adapts from the same rows: identical values.
    self.mean = self.add_weight(name="standardize_mean", shape=shape,
                                initializer="zeros", trainable=False,
                                aggregation="only_first_replica")
    self.log_scale = self.add_weight(
        name="standardize_log_scale", shape=shape, initializer="zeros",
        trainable=False, aggregation="only_first_replica")
    self.adapted = self.add_weight(name="standardize_adapted", shape=(),
                                   initializer="zeros", trainable=False,
                                   aggregation="only_first_replica")
    self.built = True

  @property
  def is_adapted(self) -> bool:
    return bool(self.adapted.numpy())

  def adapt(self, values: np.ndarray) -> None:
    """Sets mean and log-scale from rows [N, D] (finite ones only)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1,
                                                          self.event_size)
    values = values[np.isfinite(values).all(axis=1)]
    if len(values) < 2:
      raise ValueError("standardize needs at least two finite rows to adapt "
                       f"to; got {len(values)}")
    self.mean.assign(values.mean(axis=0))
    self.log_scale.assign(np.log(np.maximum(values.std(axis=0), MIN_SCALE))
                          - np.log(self.target_scale))
    self.adapted.assign(1.0)

  def to_base(self, x):
    """(s, log|det ds/dx| per row)."""
    mean = tf.cast(self.mean, x.dtype)
    log_scale = tf.cast(self.log_scale, x.dtype)
    log_det = -tf.reduce_sum(log_scale) * tf.ones(tf.shape(x)[:-1], x.dtype)
    return (x - mean) * tf.exp(-log_scale), log_det

  def to_data(self, s):
    return s * tf.exp(tf.cast(self.log_scale, s.dtype)) + tf.cast(
        self.mean, s.dtype)

  def get_config(self):
    return {**super().get_config(), "event_size": self.event_size,
            "target_scale": self.target_scale}


class StandardizationBijector(VectorBijector):
  """A `Standardization` layer as a TFP bijector (forward: s -> x)."""

  def __init__(self, layer: Standardization, dtype=tf.float32,
               name: str = "standardize"):
    parameters = dict(locals())
    self._layer = layer
    super().__init__(dtype, parameters, name)

  def _forward(self, s):
    return self._layer.to_data(s)

  def _inverse(self, x):
    return self._layer.to_base(x)[0]

  def _inverse_log_det_jacobian(self, x):
    return self._layer.to_base(x)[1]
