"""Common base of this package's bijectors: events are vectors [..., D]."""

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ["VectorBijector"]


class VectorBijector(tfp.bijectors.Bijector):
  """A bijector on vectors whose state, if any, lives in Keras layers.

  It has no tensor parameters of its own, so its batch shape is [] and any
  batch dimensions of the input broadcast through.
  """

  def __init__(self, dtype, parameters: dict, name: str):
    super().__init__(forward_min_event_ndims=1, is_constant_jacobian=False,
                     dtype=tf.as_dtype(dtype), parameters=parameters,
                     name=name)

  @classmethod
  def _parameter_properties(cls, dtype):
    return {}
