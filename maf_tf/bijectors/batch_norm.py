"""Invertible batch normalisation (Dinh et al. 2017; MAF paper appendix B).

Direction follows TFP: inverse maps data -> base and is what a density
evaluation and training use; forward maps base -> data (sampling).

    inverse: z = (x - mean) / sqrt(var + eps) * exp(log_gamma) + beta
    forward: x = (z - beta) * exp(-log_gamma) * sqrt(var + eps) + mean
    log|det dz/dx| = sum(log_gamma) - 1/2 sum(log(var + eps))

In training the mean and variance are those of the batch and the moving
averages are updated; in inference the stored (moving or recomputed)
statistics are used in both directions. Both directions are cheap.
"""

from typing import Optional, Tuple

import keras
import tensorflow as tf

from maf_tf.bijectors.vector import VectorBijector


__all__ = ["BatchNormLayer", "BatchNormBijector"]


@keras.saving.register_keras_serializable(package="maf_tf")
class BatchNormLayer(keras.layers.Layer):
  """Keras state of an invertible batch norm: log_gamma, beta and statistics.

  call(x, training) returns (z, log_det) for the data -> base direction and,
  when training, updates the moving mean and variance once.

  Args:
    event_size: D.
    momentum: moving average weight of the old value.
    eps: added to the variance.
  """

  def __init__(self, event_size: int, momentum: float = 0.95,
               eps: float = 1e-5, **kwargs):
    super().__init__(**kwargs)
    if not 0.0 <= momentum < 1.0:
      raise ValueError("batch-norm momentum must be in [0, 1); got "
                       f"{momentum}")
    if eps <= 0.0:
      raise ValueError(f"batch-norm eps must be > 0; got {eps}")
    self.event_size = int(event_size)
    self.momentum = float(momentum)
    self.eps = float(eps)

  def build(self, input_shape=None):
    shape = (self.event_size,)
    self.log_gamma = self.add_weight(name="log_gamma", shape=shape,
                                     initializer="zeros")
    self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
    # Replicas update these with identical (synchronised) statistics.
    self.moving_mean = self.add_weight(name="moving_mean", shape=shape,
                                       initializer="zeros", trainable=False,
                                       aggregation="mean")
    self.moving_variance = self.add_weight(
        name="moving_variance", shape=shape, initializer="ones",
        trainable=False, aggregation="mean")

  def statistics(self, x: tf.Tensor, training: bool
                 ) -> Tuple[tf.Tensor, tf.Tensor]:
    """(mean, variance): of the batch x in training, the stored ones else.

    Under tf.distribute the batch statistics are those of the global batch
    (all replicas), so the result does not depend on the replica count.
    """
    if training:
      replicas = tf.distribute.get_replica_context()
      if replicas is None or replicas.num_replicas_in_sync == 1:
        return tf.nn.moments(x, axes=list(range(x.shape.rank - 1)))
      return _global_moments(x, replicas)
    return (tf.convert_to_tensor(self.moving_mean),
            tf.convert_to_tensor(self.moving_variance))

  def to_base(self, x, mean, variance) -> Tuple[tf.Tensor, tf.Tensor]:
    log_det = tf.reduce_sum(self.log_gamma) - 0.5 * tf.reduce_sum(
        tf.math.log(variance + self.eps))
    z = (x - mean) * tf.math.rsqrt(variance + self.eps) * tf.exp(
        self.log_gamma) + self.beta
    return z, log_det

  def to_data(self, z, mean, variance) -> tf.Tensor:
    return (z - self.beta) * tf.exp(-self.log_gamma) * tf.sqrt(
        variance + self.eps) + mean

  def update_statistics(self, mean: tf.Tensor, variance: tf.Tensor) -> None:
    """Moves the stored statistics towards the given batch statistics,
    unless those are NaN/Inf (a bad batch must not poison them)."""
    finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(mean)),
                            tf.reduce_all(tf.math.is_finite(variance)))
    for stored, batch in ((self.moving_mean, mean),
                          (self.moving_variance, variance)):
      moved = self.momentum * stored + (1.0 - self.momentum) * batch
      stored.assign(tf.where(finite, moved, stored))

  def call(self, x, training=False):
    mean, variance = self.statistics(x, bool(training))
    if training:
      self.update_statistics(mean, variance)
    z, log_det = self.to_base(x, mean, variance)
    return z, tf.broadcast_to(log_det, tf.shape(x)[:-1])

  def get_config(self):
    config = super().get_config()
    config.update(event_size=self.event_size, momentum=self.momentum,
                  eps=self.eps)
    return config


def _global_moments(x, replicas) -> Tuple[tf.Tensor, tf.Tensor]:
  """Mean and (biased) variance over the batches of all replicas."""
  flat = tf.reshape(x, [-1, x.shape[-1]])
  total, count = replicas.all_reduce(
      tf.distribute.ReduceOp.SUM,
      (tf.reduce_sum(flat, 0), tf.cast(tf.shape(flat)[0], x.dtype)))
  mean = total / count
  squares = replicas.all_reduce(tf.distribute.ReduceOp.SUM,
                                tf.reduce_sum(tf.square(flat - mean), 0))
  return mean, squares / count


class BatchNormBijector(VectorBijector):
  """A `BatchNormLayer` as a TFP bijector; holds no variables itself.

  With training=True the inverse (data -> base) uses the statistics of the
  batch it is given, without updating the moving averages (the flow model's
  log_prob(training=True) does the update, once per step). The forward
  (base -> data) always uses the stored statistics. Only the inverse
  log-det is implemented: TFP derives the forward one through its cache,
  which keeps the pair (x, z) of a training-mode inverse consistent.

  Args:
    layer: the BatchNormLayer.
    training: use batch statistics in the inverse direction.
    name: bijector name.
  """

  def __init__(self, layer: BatchNormLayer, training: bool = False,
               name: Optional[str] = "batch_norm"):
    parameters = dict(locals())
    self._layer = layer
    self._training = bool(training)
    super().__init__(layer.compute_dtype, parameters, name)

  def _forward(self, z):
    return self._layer.to_data(z, *self._layer.statistics(z, False))

  def _inverse(self, x):
    stats = self._layer.statistics(x, self._training)
    return self._layer.to_base(x, *stats)[0]

  def _inverse_log_det_jacobian(self, x):
    stats = self._layer.statistics(x, self._training)
    return self._layer.to_base(x, *stats)[1]
