"""MADE MoG: an autoregressive density whose every conditional is a
mixture of K Gaussians, all K weights, means and log-scales of dimension d
given by one MADE from the dimensions before d (MAF paper, section 2.2 and
its experiments, K = 10; Germain et al. 2015).

    log p(x) = sum_d logsumexp_k [log pi_dk + log N(x_d; mu_dk, sigma_dk^2)]

with log pi = log_softmax(logits) and log sigma = soft_clamp(raw, bound):
no exponential is taken before the logsumexp, so log p is finite wherever
every x_d is finite and its squared distance to a mean is (it is -inf past
that: zero density). Density is one MADE pass; exact sampling is sequential
over the dimensions (for each, draw the component, then the value), and
the fast sampler computes every hidden unit once (maf_tf.sampling).

`MADEMoGDensity` is a Keras layer, used as the base density of a flow
(`MAF(base='made_mog')`: MAF MoG; `MADEMoG`: the MADE MoG alone).
"""

import math
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from maf_tf.checks import check_positive_int
from maf_tf.made import DEFAULT_LOG_SCALE_BOUND, MADE, soft_clamp
from maf_tf.sampling import invert_made_with

tfd = tfp.distributions

__all__ = ["MADEMoGDensity", "mog_log_prob", "mog_step", "mog_noise"]


def _split(parameters: tf.Tensor, bound: float):
  """(log weights, means, log-scales), each [..., D, K], from the MADE's
  parameters [..., D, 3K]."""
  logits, means, raw = tf.split(parameters, 3, axis=-1)
  return tf.nn.log_softmax(logits), means, soft_clamp(raw, bound)


def mog_log_prob(x: tf.Tensor, parameters: tf.Tensor, num_components: int,
                 bound: float) -> tf.Tensor:
  """log p(x) [...] for x [..., D] and the MADE's parameters [..., D, 3K]."""
  log_weights, means, log_scales = _split(parameters, bound)
  standardized = (x[..., None] - means) * tf.exp(-log_scales)
  log_normal = (-0.5 * tf.square(standardized) - log_scales
                - 0.5 * math.log(2.0 * math.pi))
  return tf.reduce_sum(tf.reduce_logsumexp(log_weights + log_normal, -1), -1)


def mog_step(num_components: int, bound: float):
  """The samplers' per-dimension map: (parameters [..., 3K], noise
  [..., K + 1]) -> x [...]. The noise holds K Gumbel draws (the component
  is argmax_k log pi_k + g_k, which is exactly a draw from pi) and one
  standard normal draw eps: x = mu_k + sigma_k eps."""
  def step(parameters, noise):
    log_weights, means, log_scales = _split(parameters, bound)
    component = tf.one_hot(tf.argmax(log_weights + noise[..., :-1], -1),
                           num_components, dtype=means.dtype)
    values = means + tf.exp(log_scales) * noise[..., -1:]
    return tf.reduce_sum(component * values, -1)
  return step


def mog_noise(n, event_size: int, num_components: int, dtype,
              seed: Optional[tf.Tensor] = None) -> tf.Tensor:
  """[n, D, K + 1] noise for `mog_step`: K standard Gumbel draws and one
  standard normal draw per dimension (stateless when `seed` [2] is
  given)."""
  shape = tf.stack([n, event_size])
  if seed is None:
    uniform = tf.random.uniform(tf.concat([shape, [num_components]], 0),
                                dtype=dtype)
    normal = tf.random.normal(tf.concat([shape, [1]], 0), dtype=dtype)
  else:
    uniform = tf.random.stateless_uniform(
        tf.concat([shape, [num_components]], 0), seed, dtype=dtype)
    normal = tf.random.stateless_normal(tf.concat([shape, [1]], 0),
                                        seed + [0, 1], dtype=dtype)
  tiny = np.finfo(dtype.as_numpy_dtype).tiny
  gumbel = -tf.math.log(-tf.math.log(tf.maximum(uniform, tiny)))
  return tf.concat([gumbel, normal], -1)


@keras.saving.register_keras_serializable(package="maf_tf")
class MADEMoGDensity(keras.layers.Layer):
  """A MADE MoG density on R^D, as a flow's base density.

  The MADE starts with a zero output kernel (so the conditionals start
  independent of the inputs, as the identity start of a MAF's MADE), zero
  weight logits and log-scales, and component means at seeded N(0, 1)
  draws so that the components differ (a zero start would keep them equal
  forever: they would get equal gradients).

  Args:
    event_size: D.
    hidden_units, activation, hidden_degrees, order, context_size,
      matmul_dtype: the MADE's (see `maf_tf.MADE`).
    num_components: K, Gaussians per dimension.
    log_scale_bound: bound of every component's log-scale.
    seed: seeds the MADE and the means.

  Example:
    >>> density = MADEMoGDensity(3, hidden_units=[8], num_components=2)
    >>> density.build()
    >>> tuple(density.log_prob(tf.zeros([4, 3])).shape)
    (4,)
  """

  def __init__(self, event_size: int, hidden_units: Sequence[int] = (512,),
               num_components: int = 10, activation: str = "relu",
               hidden_degrees: str = "sequential", order="natural",
               context_size: int = 0,
               log_scale_bound: float = DEFAULT_LOG_SCALE_BOUND,
               seed: Optional[int] = None,
               matmul_dtype: Optional[str] = None, **kwargs):
    super().__init__(**kwargs)
    check_positive_int("num_components", num_components)
    self.event_size = int(event_size)
    self.num_components = int(num_components)
    self.context_size = int(context_size)
    self.seed = seed
    self.made = MADE(self.event_size, hidden_units, activation,
                     hidden_degrees, order, context_size, log_scale_bound,
                     seed=seed, matmul_dtype=matmul_dtype,
                     num_params=3 * self.num_components,
                     dtype=self.dtype_policy, name="made")

  @property
  def log_scale_bound(self) -> float:
    return self.made.log_scale_bound

  def build(self, input_shape=None):
    self.made.build((None, self.event_size))
    bias = self.made.output_layer.bias
    means = np.zeros(bias.shape, bias.dtype)
    size, k = self.event_size, self.num_components
    means[k * size:2 * k * size] = np.random.default_rng(
        self.seed).standard_normal(k * size)
    bias.assign(means)

  def log_prob(self, x, context=None) -> tf.Tensor:
    return mog_log_prob(x, self.made.parameters(x, context),
                        self.num_components, self.log_scale_bound)

  def sample(self, n, context=None, seed=None, sampler="fast") -> tf.Tensor:
    """n exact samples [n, D]; `seed` a stateless seed [2] or None."""
    noise = mog_noise(n, self.event_size, self.num_components,
                      tf.as_dtype(self.compute_dtype), seed)
    return invert_made_with(self.made, noise, self.step, context, sampler)

  @property
  def step(self):
    return mog_step(self.num_components, self.log_scale_bound)

  def distribution(self, context=None) -> tfd.Distribution:
    """The density as a tfd.Autoregressive (TFP's own sampler: D MADE
    passes) whose log_prob equals `log_prob`."""
    def conditionals(x):
      log_weights, means, log_scales = _split(
          self.made.parameters(x, context), self.log_scale_bound)
      return tfd.Independent(tfd.MixtureSameFamily(
          tfd.Categorical(logits=log_weights),
          tfd.Normal(means, tf.exp(log_scales))), reinterpreted_batch_ndims=1)
    return tfd.Autoregressive(
        conditionals, sample0=tf.zeros([self.event_size], self.compute_dtype),
        num_steps=self.event_size)

  def get_config(self):
    made = self.made
    return {**super().get_config(), "event_size": self.event_size,
            "hidden_units": made.hidden_units,
            "num_components": self.num_components,
            "activation": made.activation,
            "hidden_degrees": made.hidden_degrees, "order": made.order,
            "context_size": self.context_size,
            "log_scale_bound": made.log_scale_bound, "seed": self.seed,
            "matmul_dtype": made.matmul_dtype}
