"""The Gaussian baseline's density: a full-covariance Gaussian fitted in
closed form (MAF paper, Tables 1 and 2, row "Gaussian").

Fitting accumulates the sufficient statistics of the data it is shown
(count, sum and sum of outer products, in float64) and sets

    mean = sum / N,   covariance = sum of outer products / N - mean mean^T

(maximum likelihood: divisor N), then its Cholesky factor. A conditional
one keeps one Gaussian per class (context = one-hot label):

    log p(x | c) = logsumexp_k [log c_k + log N(x; mean_k, cov_k)],

which is log N(x; mean_y, cov_y) for a one-hot c and the class mixture for
c = the class prior. Nothing is trained by gradient.
"""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

__all__ = ["FullGaussian"]

# Added to the covariance's diagonal, relative to its mean variance, so
# that a dimension without spread (a constant feature) keeps a Cholesky
# factor.
RELATIVE_JITTER = 1e-9


@keras.saving.register_keras_serializable(package="maf_tf")
class FullGaussian(keras.layers.Layer):
  """N(x; mean, cov) on R^D (one per class if `context_size` > 0), fitted by
  `accumulate` in closed form; a flow's base density with nothing to train.

  Before any data it is N(0, I).

  Args:
    event_size: D.
    context_size: number of classes (one-hot contexts); 0: unconditional.

  Example:
    >>> gaussian = FullGaussian(2)
    >>> gaussian.build()
    >>> gaussian.accumulate(tf.constant([[0.0, 1.0], [2.0, 3.0]]))
    >>> [float(v) for v in gaussian.loc[0]]
    [1.0, 2.0]
  """

  def __init__(self, event_size: int, context_size: int = 0, **kwargs):
    super().__init__(**kwargs)
    self.event_size = int(event_size)
    self.context_size = int(context_size)

  def build(self, input_shape=None):
    classes, size = max(1, self.context_size), self.event_size
    statistic = lambda name, shape, init="zeros": self.add_weight(  # noqa: E731
        name=name, shape=shape, initializer=init, dtype="float64",
        trainable=False, aggregation="only_first_replica")
    self.count = statistic("count", (classes,))
    self.total = statistic("total", (classes, size))
    self.squares = statistic("squares", (classes, size, size))
    self.loc = self.add_weight(name="loc", shape=(classes, size),
                               initializer="zeros", trainable=False,
                               aggregation="only_first_replica")
    eye = np.tile(np.eye(size), (classes, 1, 1))
    self.scale_tril = self.add_weight(
        name="scale_tril", shape=(classes, size, size),
        initializer=lambda shape, dtype=None: tf.constant(eye, dtype),
        trainable=False, aggregation="only_first_replica")

  def _weights(self, x, context):
    """Per-class weights [N, classes] of flattened rows x [N, D]."""
    if not self.context_size:
      return tf.ones_like(x[:, :1])
    return tf.reshape(tf.cast(context, x.dtype), [-1, self.context_size])

  def accumulate(self, x, context=None) -> None:
    """Adds the rows of x [..., D] (of class `context`, one-hot) to the
    statistics and refits. Under tf.distribute every replica's rows are
    added (the sums are all-reduced first)."""
    x = tf.reshape(tf.cast(x, tf.float64), [-1, self.event_size])
    if self.context_size:
      context = tf.broadcast_to(context, tf.concat(
          [tf.shape(x)[:1], [self.context_size]], 0))
    weights = self._weights(x, context)
    # [K, N, D]: each class's rows, weighted (0 for the other classes).
    weighted = tf.transpose(weights)[:, :, None] * x[None]
    sums = (tf.reduce_sum(weights, 0), tf.matmul(weights, x, transpose_a=True),
            tf.matmul(weighted, x[None], transpose_a=True))
    replicas = tf.distribute.get_replica_context()
    if replicas is not None and replicas.num_replicas_in_sync > 1:
      sums = replicas.all_reduce(tf.distribute.ReduceOp.SUM, sums)
    for variable, value in zip((self.count, self.total, self.squares), sums):
      variable.assign_add(value)
    self._refit()

  def determined(self) -> tf.Tensor:
    """Whether every class has been shown more points than dimensions
    (before that its covariance is singular but for the jitter)."""
    return tf.reduce_all(self.count > self.event_size)

  def _refit(self) -> None:
    count = tf.maximum(self.count, 1.0)
    mean = self.total / count[:, None]
    covariance = (self.squares / count[:, None, None]
                  - mean[:, :, None] * mean[:, None, :])
    eye = tf.eye(self.event_size, dtype=tf.float64)
    jitter = RELATIVE_JITTER * tf.reduce_mean(
        tf.linalg.diag_part(covariance), -1) + 1e-300
    seen = (self.count > 0)[:, None, None]
    covariance = tf.where(seen, covariance + jitter[:, None, None] * eye, eye)
    self.loc.assign(tf.cast(mean, self.loc.dtype))
    self.scale_tril.assign(tf.cast(tf.linalg.cholesky(covariance),
                                   self.scale_tril.dtype))

  def _class_log_probs(self, x):
    """log N(x; mean_k, cov_k) for every class: [N, classes], x [N, D]."""
    diff = x[None, :, :] - self.loc[:, None, :]             # [K, N, D]
    solved = tf.linalg.triangular_solve(
        self.scale_tril, tf.linalg.matrix_transpose(diff))  # [K, D, N]
    log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(
        self.scale_tril)), -1)
    log_probs = (-0.5 * tf.reduce_sum(tf.square(solved), 1)
                 - log_det[:, None]
                 - 0.5 * self.event_size * math.log(2.0 * math.pi))
    return tf.transpose(log_probs)

  def log_prob(self, x, context=None) -> tf.Tensor:
    batch = tf.shape(x)[:-1]
    flat = tf.reshape(x, [-1, self.event_size])
    log_probs = self._class_log_probs(flat)
    if self.context_size:
      context = tf.reshape(tf.broadcast_to(tf.cast(context, x.dtype),
                                           tf.concat([batch, [
                                               self.context_size]], 0)),
                           [-1, self.context_size])
      log_probs = tf.reduce_logsumexp(tf.math.log(context) + log_probs, -1)
    else:
      log_probs = log_probs[:, 0]
    return tf.reshape(log_probs, batch)

  def sample(self, n, context=None, seed=None, sampler="fast") -> tf.Tensor:
    """n samples [n, D]: of the class each row of `context` [n, K] names
    (drawn from it, if it is not one-hot)."""
    del sampler  # one pass
    dtype = self.loc.dtype
    shape = tf.stack([n, self.event_size])
    eps = (tf.random.normal(shape, dtype=dtype) if seed is None else
           tf.random.stateless_normal(shape, seed, dtype=dtype))
    per_class = self.loc[:, None, :] + tf.matmul(
        eps[None], self.scale_tril, transpose_b=True)       # [K, n, D]
    if not self.context_size:
      return per_class[0]
    logits = tf.math.log(tf.cast(context, dtype))
    classes = (tf.random.categorical(logits, 1) if seed is None else
               tf.random.stateless_categorical(logits, 1, seed + [0, 1]))
    return tf.gather(tf.transpose(per_class, [1, 0, 2]), classes[:, 0],
                     batch_dims=1)

  def distribution(self, context=None) -> tfd.Distribution:
    """A tfd.MultivariateNormalTriL; conditional: the mixture over classes
    with weights `context` (batch shape that of the context)."""
    gaussians = tfd.MultivariateNormalTriL(tf.convert_to_tensor(self.loc),
                                           tf.convert_to_tensor(
                                               self.scale_tril))
    if not self.context_size:
      return gaussians[0]
    return tfd.MixtureSameFamily(
        tfd.Categorical(probs=tf.cast(context, self.loc.dtype)), gaussians)

  def get_config(self):
    return {**super().get_config(), "event_size": self.event_size,
            "context_size": self.context_size}
