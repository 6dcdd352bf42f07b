"""A coupling layer (`maf_tf.real_nvp.Coupling`) as a TFP bijector."""

from maf_tf.bijectors.vector import VectorBijector

__all__ = ["CouplingBijector"]


class CouplingBijector(VectorBijector):
  """A coupling layer as a TFP bijector (forward base -> data, inverse
  data -> base; both one pass): any layer with `to_data(z, context)` and
  `to_base(x, context)` -> (x's z, log|det dz/dx|). Holds no variables
  itself."""

  def __init__(self, coupling, context=None, name: str = "coupling"):
    parameters = dict(locals())
    self._coupling = coupling
    self._context = context
    super().__init__(coupling.compute_dtype, parameters, name)

  def _forward(self, z):
    return self._coupling.to_data(z, self._context)

  def _inverse(self, x):
    return self._coupling.to_base(x, self._context)[0]

  def _inverse_log_det_jacobian(self, x):
    return self._coupling.to_base(x, self._context)[1]
