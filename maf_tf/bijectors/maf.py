"""The MAF bijector: one MADE layer as an affine autoregressive transform.

Direction follows TFP: forward maps base -> data (z -> x), inverse maps
data -> base (x -> z).

    inverse (cheap, one MADE pass):   z = x * exp(s(x)) + t(x)
    forward (D sequential passes):    x_d = (z_d - t_d) * exp(-s_d)

with (t, s) the MADE's shift and log-scale (MADE(affine=
'scale_then_shift'), the default), or with the paper's form
z = (x - m(x)) * exp(-alpha(x)) (MADE(affine='shift_then_scale')).

Papamakarios et al. 2017, "Masked Autoregressive Flow for Density
Estimation", arXiv 1705.07057, eq. (2)-(5).
"""

from typing import Optional, Tuple

import tensorflow as tf

from maf_tf.bijectors.vector import VectorBijector
from maf_tf.made import MADE, affine_step, autoregressive_inverse

__all__ = ["MAFBijector", "made_to_base", "made_to_data"]


def made_to_base(made: MADE, x: tf.Tensor,
                 context: Optional[tf.Tensor] = None
                 ) -> Tuple[tf.Tensor, tf.Tensor]:
  """x -> z in one MADE pass; returns (z, log|det dz/dx|) per event."""
  return made.to_base(x, context)


def made_to_data(made: MADE, z: tf.Tensor,
                 context: Optional[tf.Tensor] = None) -> tf.Tensor:
  """z -> x exactly, by D sequential MADE passes (the reference sampler,
  `maf_tf.made.autoregressive_inverse`)."""
  return autoregressive_inverse(made, z[..., None], affine_step(made),
                                context)


class MAFBijector(VectorBijector):
  """One MAF layer as a TFP bijector (forward z -> x is the slow direction).

  The bijector holds no variables: the weights live in the Keras `MADE`
  layer it is built from, so it is cheap to create per call (for example
  once per context tensor).

  Args:
    made: the MADE layer that gives shift and log-scale.
    context: conditioning tensor [..., context_size], if the MADE has one.
    name: bijector name.

  Example:
    >>> bijector = MAFBijector(MADE(event_size=2, hidden_units=[8]))
    >>> x = tf.constant([[0.5, -1.0]])
    >>> bool(tf.reduce_all(tf.abs(bijector.forward(bijector.inverse(x)) - x)
    ...                    < 1e-5))
    True
  """

  def __init__(self, made: MADE, context: Optional[tf.Tensor] = None,
               name: str = "maf"):
    parameters = dict(locals())
    self._made = made
    self._context = context
    super().__init__(made.compute_dtype, parameters, name)

  @property
  def made(self) -> MADE:
    return self._made

  def _forward(self, z):
    return made_to_data(self._made, z, self._context)

  def _inverse(self, x):
    return made_to_base(self._made, x, self._context)[0]

  def _inverse_log_det_jacobian(self, x):
    return made_to_base(self._made, x, self._context)[1]
