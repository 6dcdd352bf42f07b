"""Autoregressive rational-quadratic spline flows (RQ-NSF (AR), Durkan et
al. 2019, arXiv 1906.04032): MAF with each affine map replaced by a
monotonic spline (`maf_tf.transformers.Spline`, `maf_tf.splines`) whose
3K - 1 parameters per dimension come from the same MADE.

Density (data -> base) is one MADE pass per layer, as for MAF. Sampling
inverts each spline in closed form, so the fast sampler (`maf_tf.sampling`,
each hidden unit computed once) applies unchanged.
"""

import keras

from maf_tf.checks import check_scale
from maf_tf.flows import MAF
from maf_tf.splines import (DEFAULT_BINS, DEFAULT_BOUND,
                            spline_params_per_dimension)
from maf_tf.transformers import Spline

__all__ = ["NSF"]

# MAF arguments that shape an affine map, which a spline layer has none of.
AFFINE_ONLY = {"affine": "scale_then_shift"}


@keras.saving.register_keras_serializable(package="maf_tf")
class NSF(MAF):
  """Neural spline flow, autoregressive: `MAF(transformer=Spline(bins,
  bound))`, standardised in front as any bounded transformer: MAF's
  stack (orderings, batch norm, base densities, context, dtype policy,
  fit, save, samplers) with a
  rational-quadratic spline of `bins` bins on [-bound, bound] (identity
  outside) per dimension and layer.

  Args:
    bins: K, the spline's bins (3K - 1 MADE outputs per dimension).
    bound: B, the half-width of the spline's interval.
    standardize: a per-dimension standardisation, adapted to the data by
      the first fit(), in front of the layers (MAF's argument; True here:
      without it data outside [-B, B], such as pixel logits near -13.8,
      is never moved by any layer).
    Every other argument is MAF's, except `affine` and `transformer` (a
    spline has no affine form); `log_scale_bound` bounds only a
    'made_mog' base's log-scales.

  Example:
    >>> flow = NSF(event_size=2, num_layers=2, hidden_units=[16])
    >>> tuple(flow.sample(3, seed=0).shape)
    (3, 2)
  """

  def __init__(self, *, event_size: int, bins: int = DEFAULT_BINS,
               bound: float = DEFAULT_BOUND, standardize: bool = True,
               **kwargs):
    for name, default in {**AFFINE_ONLY, "transformer": None}.items():
      if kwargs.get(name, default) != default:
        raise ValueError(f"NSF takes no {name} (its layers are splines); "
                         f"got {name}={kwargs[name]!r}")
    kwargs.pop("transformer", None)
    spline = Spline(bins, bound)
    self.bins, self.bound = spline.bins, spline.bound
    super().__init__(event_size=event_size, standardize=standardize,
                     transformer=spline, **kwargs)
    check_scale("bound", bound, self.compute_dtype)
    del self._config["transformer"]
    self._config.update({"bins": self.bins, "bound": self.bound})

  @classmethod
  def _params_per_dimension(cls, config: dict) -> int:
    return spline_params_per_dimension(config.get("bins", DEFAULT_BINS))
