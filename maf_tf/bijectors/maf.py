"""The MAF bijector: one MADE layer as an autoregressive transform.

Direction follows TFP: forward maps base -> data (z -> x), inverse maps
data -> base (x -> z).

    inverse (cheap, one MADE pass):   z_d = f(x_d; theta_d(x_<d))
    forward (D sequential passes):    x_d = f^-1(z_d; theta_d(x_<d))

with f the layer's transformer (`maf_tf.transformers`): by default the
affine z = x * exp(s(x)) + t(x) of the MADE's shift and log-scale
(MADE(affine='scale_then_shift')), or the paper's
z = (x - m(x)) * exp(-alpha(x)) (MADE(affine='shift_then_scale')).

Papamakarios et al. 2017, "Masked Autoregressive Flow for Density
Estimation", arXiv 1705.07057, eq. (2)-(5).
"""

from typing import Optional

import tensorflow as tf

from maf_tf.bijectors.vector import VectorBijector
from maf_tf.made import MADE, affine_step, autoregressive_inverse
from maf_tf.transformers import Affine, Transformer

__all__ = ["MAFBijector", "made_to_data"]


def made_to_data(made: MADE, z: tf.Tensor,
                 context: Optional[tf.Tensor] = None) -> tf.Tensor:
  """z -> x exactly through an affine MADE, by D sequential MADE passes
  (the reference sampler, `maf_tf.made.autoregressive_inverse`)."""
  return autoregressive_inverse(made, z[..., None], affine_step(made),
                                context)


class MAFBijector(VectorBijector):
  """One MAF layer as a TFP bijector (forward z -> x is the slow direction).

  The bijector holds no variables: the weights live in the Keras `MADE`
  layer it is built from, so it is cheap to create per call (for example
  once per context tensor).

  Args:
    made: the MADE layer that gives the transformer's parameters.
    context: conditioning tensor [..., context_size], if the MADE has one.
    transformer: the elementwise map (`maf_tf.transformers`); None for
      the MADE's own affine form and log-scale bound.
    name: bijector name.

  Example:
    >>> bijector = MAFBijector(MADE(event_size=2, hidden_units=[8]))
    >>> x = tf.constant([[0.5, -1.0]])
    >>> bool(tf.reduce_all(tf.abs(bijector.forward(bijector.inverse(x)) - x)
    ...                    < 1e-5))
    True
  """

  def __init__(self, made: MADE, context: Optional[tf.Tensor] = None,
               transformer: Optional[Transformer] = None, name: str = "maf"):
    parameters = dict(locals())
    if not made.built:
      made.build()
    self._made = made
    self._context = context
    self._transformer = transformer or Affine(made.affine,
                                              made.log_scale_bound)
    super().__init__(made.compute_dtype, parameters, name)

  @property
  def made(self) -> MADE:
    return self._made

  def _forward(self, z):
    return autoregressive_inverse(self._made, z[..., None],
                                  self._transformer.step, self._context)

  def _to_base(self, x):
    z, log_slopes = self._transformer.to_base(
        x, self._made.outputs(x, self._context))
    return z, tf.reduce_sum(log_slopes, -1)

  def _inverse(self, x):
    return self._to_base(x)[0]

  def _inverse_log_det_jacobian(self, x):
    return self._to_base(x)[1]
