"""Base densities of a flow, as Keras layers that build TFP distributions.

Each layer owns its variables (if any) and gives, for an optional context,
`log_prob(z, context)`, `sample(n, context, seed, sampler)` and a fresh
`tfd.Distribution` with event shape [D] from `distribution(context)`.
'normal' and 'mixture' take no context; 'made_mog' (maf_tf.mog) and
'gaussian' (maf_tf.gaussian, fitted in closed form) do.
"""

from typing import Optional

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from maf_tf.checks import check_one_of, check_positive_int
from maf_tf.gaussian import FullGaussian
from maf_tf.mog import MADEMoGDensity

tfd = tfp.distributions

__all__ = ["StandardNormal", "GaussianMixture", "MADEMoGDensity",
           "FullGaussian", "make_base", "BASES"]

BASES = ("normal", "mixture", "made_mog", "gaussian")


class _WithoutContext:
  """log_prob and sample of a base density that takes no context."""

  def log_prob(self, z, context=None) -> tf.Tensor:
    del context
    return self.distribution().log_prob(z)

  def sample(self, n, context=None, seed=None, sampler="fast") -> tf.Tensor:
    del context, sampler
    return self.distribution().sample(n, seed=seed)


@keras.saving.register_keras_serializable(package="maf_tf")
class StandardNormal(_WithoutContext, keras.layers.Layer):
  """N(0, I) on R^D; has no variables."""

  def __init__(self, event_size: int, **kwargs):
    super().__init__(**kwargs)
    self.event_size = int(event_size)

  def distribution(self, context=None) -> tfd.Distribution:
    del context
    zeros = tf.zeros([self.event_size], dtype=self.compute_dtype)
    return tfd.Independent(tfd.Normal(zeros, tf.ones_like(zeros)),
                           reinterpreted_batch_ndims=1)

  def get_config(self):
    return {**super().get_config(), "event_size": self.event_size}


@keras.saving.register_keras_serializable(package="maf_tf")
class GaussianMixture(_WithoutContext, keras.layers.Layer):
  """A learnable mixture of K diagonal Gaussians on R^D.

  p(z) = sum_k softmax(logits)_k N(z; loc_k, diag(exp(log_scale_k))^2).
  Locations start at seeded N(0, 1) draws so the components differ, scales
  at 1 and weights uniform.

  Args:
    event_size: D.
    num_components: K.
    seed: initialiser seed.
  """

  def __init__(self, event_size: int, num_components: int = 10,
               seed: Optional[int] = None, **kwargs):
    super().__init__(**kwargs)
    check_positive_int("num_components", num_components)
    self.event_size = int(event_size)
    self.num_components = int(num_components)
    self.seed = seed

  def build(self, input_shape=None):
    shape = (self.num_components, self.event_size)
    self.logits = self.add_weight(name="logits",
                                  shape=(self.num_components,),
                                  initializer="zeros")
    self.loc = self.add_weight(
        name="loc", shape=shape,
        initializer=keras.initializers.RandomNormal(seed=self.seed))
    self.log_scale = self.add_weight(name="log_scale", shape=shape,
                                     initializer="zeros")

  def distribution(self, context=None) -> tfd.Distribution:
    del context
    components = tfd.Independent(
        tfd.Normal(tf.convert_to_tensor(self.loc), tf.exp(self.log_scale)),
        reinterpreted_batch_ndims=1)
    return tfd.MixtureSameFamily(
        tfd.Categorical(logits=tf.convert_to_tensor(self.logits)), components)

  def get_config(self):
    return {**super().get_config(), "event_size": self.event_size,
            "num_components": self.num_components, "seed": self.seed}


def make_base(kind: str, event_size: int, num_components: int,
              seed: Optional[int], dtype, **made) -> keras.layers.Layer:
  """The base density layer named by `kind` (one of BASES). `made` holds
  the MADE arguments of a 'made_mog' base (and its context_size, which
  'gaussian' takes too)."""
  if kind == "normal":
    return StandardNormal(event_size, dtype=dtype, name="base")
  if kind == "mixture":
    return GaussianMixture(event_size, num_components, seed=seed, dtype=dtype,
                           name="base")
  if kind == "made_mog":
    return MADEMoGDensity(event_size, num_components=num_components,
                          seed=seed, dtype=dtype, name="base", **made)
  if kind == "gaussian":
    return FullGaussian(event_size, made.get("context_size", 0), dtype=dtype,
                        name="base")
  check_one_of("base", kind, BASES)
