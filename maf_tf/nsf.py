"""Autoregressive rational-quadratic spline flows (RQ-NSF (AR), Durkan et
al. 2019, arXiv 1906.04032): MAF with each affine map replaced by a
monotonic spline (`maf_tf.splines`) whose 3K - 1 parameters per dimension
come from the same MADE.

Density (data -> base) is one MADE pass per layer, as for MAF. Sampling
inverts each spline in closed form, so the fast sampler (`maf_tf.sampling`,
each hidden unit computed once) applies unchanged.
"""

from typing import Optional

import keras
import tensorflow as tf

from maf_tf.bijectors.vector import VectorBijector
from maf_tf.flows import MAF
from maf_tf.made import MADE, autoregressive_inverse
from maf_tf.sampling import invert_made_with
from maf_tf.checks import (check_int_at_least, check_positive_finite,
                           check_scale)
from maf_tf.splines import (DEFAULT_BINS, DEFAULT_BOUND, MIN_BIN,
                            spline_params_per_dimension,
                            spline_to_base, spline_to_data)

__all__ = ["NSF", "SplineMADEBijector", "spline_made_to_base", "spline_step",
           "MAX_BINS", "check_bins"]

# MAF arguments that shape an affine map, which a spline layer has none of.
AFFINE_ONLY = {"affine": "scale_then_shift"}
STANDARD_WIDTH = 3.0  # standard deviations from the centre to the bound
MAX_BINS = int(0.5 / MIN_BIN)  # bins of at least MIN_BIN leave half to share


def check_bins(bins) -> int:
  """bins as an int, unless it is not an integer in 2..MAX_BINS."""
  bins = check_int_at_least("bins", bins, 2)
  if bins > MAX_BINS:
    raise ValueError(f"bins must be at most {MAX_BINS}; got {bins!r} (each "
                     f"bin is at least {MIN_BIN} of the interval)")
  return bins


def spline_made_to_base(made: MADE, x: tf.Tensor, bound: float,
                        context: Optional[tf.Tensor] = None):
  """x -> z through one spline MADE in one pass; (z, log|dz/dx| summed)."""
  z, log_det = spline_to_base(x, made.parameters(x, context), bound)
  return z, tf.reduce_sum(log_det, -1)


def spline_step(bound: float):
  """The per-dimension base -> data map of a spline MADE, for the
  samplers: (parameters [..., 3K - 1], noise [..., 1] = z) -> x [...]."""
  def step(parameters, noise):
    return spline_to_data(noise[..., 0], parameters, bound)
  return step


class SplineMADEBijector(VectorBijector):
  """One spline MADE as a TFP bijector: inverse (data -> base) one pass,
  forward (base -> data) D passes (the reference sampler); no variables
  of its own."""

  def __init__(self, made: MADE, bound: float,
               context: Optional[tf.Tensor] = None, name: str = "nsf"):
    parameters = dict(locals())
    self._made = made
    self._bound = bound
    self._context = context
    super().__init__(made.compute_dtype, parameters, name)

  def _forward(self, z):
    return autoregressive_inverse(self._made, z[..., None],
                                  spline_step(self._bound), self._context)

  def _inverse(self, x):
    return spline_made_to_base(self._made, x, self._bound, self._context)[0]

  def _inverse_log_det_jacobian(self, x):
    return spline_made_to_base(self._made, x, self._bound, self._context)[1]


@keras.saving.register_keras_serializable(package="maf_tf")
class NSF(MAF):
  """Neural spline flow, autoregressive: MAF's stack (orderings, batch
  norm, base densities, context, dtype policy, fit, save, samplers) with a
  rational-quadratic spline of `bins` bins on [-bound, bound] (identity
  outside) per dimension and layer.

  Args:
    bins: K, the spline's bins (3K - 1 MADE outputs per dimension).
    bound: B, the half-width of the spline's interval.
    standardize: a per-dimension standardisation, adapted to the data by
      the first fit(), in front of the layers (MAF's argument; True here:
      without it data outside [-B, B], such as pixel logits near -13.8,
      is never moved by any layer).
    Every other argument is MAF's, except `affine` (a spline has no affine
    form); `log_scale_bound` bounds only a 'made_mog' base's log-scales.

  Example:
    >>> flow = NSF(event_size=2, num_layers=2, hidden_units=[16])
    >>> tuple(flow.sample(3, seed=0).shape)
    (3, 2)
  """

  def __init__(self, *, event_size: int, bins: int = DEFAULT_BINS,
               bound: float = DEFAULT_BOUND, standardize: bool = True,
               **kwargs):
    for name, default in AFFINE_ONLY.items():
      if kwargs.get(name, default) != default:
        raise ValueError(f"NSF takes no {name} (a spline layer has no "
                         f"affine form); got {name}={kwargs[name]!r}")
    self.bins = check_bins(bins)
    self.bound = check_positive_finite("bound", bound)
    super().__init__(event_size=event_size, standardize=standardize,
                     **kwargs)
    check_scale("bound", bound, self.compute_dtype)
    self._config.update({"bins": self.bins, "bound": self.bound})

  def _standard_scale(self) -> float:
    """`standardize` spreads each dimension over the splines' interval:
    STANDARD_WIDTH standard deviations reach the bound."""
    return self.bound / STANDARD_WIDTH

  @classmethod
  def _params_per_dimension(cls, config: dict) -> int:
    return spline_params_per_dimension(config.get("bins", DEFAULT_BINS))

  def _make_layer(self, k: int, seed: int, **made) -> MADE:
    return MADE(self.event_size, context_size=self.layer_context_size,
                seed=seed * 100 + k, dtype=self.dtype_policy,
                name=f"made_{k}",
                num_params=spline_params_per_dimension(self.bins), **made)

  def _made_to_base(self, made, x, context):
    return spline_made_to_base(made, x, self.bound, context)

  def _made_to_data(self, made, z, context, sampler="fast"):
    return invert_made_with(made, z[..., None], spline_step(self.bound),
                            context, sampler)

  def _made_bijector(self, made, context):
    return SplineMADEBijector(made, self.bound, context, name=made.name)

  def _layer_log_scales(self, made, x, context):
    """A spline layer's log|dz_d/dx_d|: the spline's log-slope, which plays
    a MAF log-scale's part."""
    return spline_to_base(x, made.parameters(x, context), self.bound)[1]
