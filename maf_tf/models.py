"""The MAF paper's model family by name, and `build_flow`, the model for a
dataset's description.

    maf       MAF(K): K MADEs (with batch norm as configured), normal base
    maf_mog   MAF MoG(K): the same stack over a MADE MoG base
    made      MADE: one Gaussian MADE, no batch norm (= MAF(num_layers=1))
    made_mog  MADE MoG: the MADE MoG density alone (`MADEMoG`)
    real_nvp  Real NVP(K): K coupling layers (`RealNVP`)
    gaussian  a full-covariance Gaussian fitted in closed form (`Gaussian`)

Every one is a `MAF` (or, for real_nvp, a subclass of it), so each trains
with the same fit(), saves, exports and scores alike; over images each
gets the logit preprocessing in front (maf_tf.pixel_flows).
"""

from typing import Sequence

import keras

from maf_tf.checks import check_one_of
from maf_tf.flows import MAF, MAX_LOADED_WEIGHTS
from maf_tf.made import DEFAULT_LOG_SCALE_BOUND
from maf_tf.nsf import NSF
from maf_tf.pixel_flows import PixelMAF, PixelNSF, PixelRealNVP
from maf_tf.real_nvp import RealNVP

__all__ = ["MADEMoG", "Gaussian", "MODELS", "model_structure", "flow_class",
           "build_flow"]

MODELS = ("maf", "maf_mog", "made", "made_mog", "real_nvp", "gaussian",
          "nsf")


def model_structure(model: str, num_layers: int, batch_norm) -> dict:
  """The MAF arguments that make `model` (one of MODELS) out of a config's
  num_layers and batch_norm: e.g. made_mog -> num_layers=0,
  base='made_mog'. maf, real_nvp and nsf keep them as given."""
  check_one_of("model", model, MODELS)
  return {
      "maf": {}, "real_nvp": {}, "nsf": {},
      "maf_mog": dict(base="made_mog"),
      "made": dict(num_layers=1, batch_norm=None, base="normal"),
      "made_mog": dict(num_layers=0, batch_norm=None, base="made_mog"),
      "gaussian": dict(num_layers=0, batch_norm=None, base="gaussian"),
  }[model] | {key: value for key, value in (("num_layers", num_layers),
                                             ("batch_norm", batch_norm))
              if model in ("maf", "maf_mog", "real_nvp", "nsf")}


def flow_class(model: str, images: bool = False) -> type:
  """The class that builds `model` (one of MODELS); its pixel variant if
  `images`."""
  check_one_of("model", model, MODELS)
  flow, pixel_flow = {"real_nvp": (RealNVP, PixelRealNVP),
                      "nsf": (NSF, PixelNSF)}.get(model, (MAF, PixelMAF))
  return pixel_flow if images else flow


@keras.saving.register_keras_serializable(package="maf_tf")
class MADEMoG(MAF):
  """MADE MoG: one MADE whose every conditional is a mixture of
  `num_components` Gaussians (maf_tf.mog); a MAF of no layers over that
  density.

  Example:
    >>> model = MADEMoG(event_size=3, hidden_units=[8], num_components=2)
    >>> tuple(model.sample(4, seed=0).shape)
    (4, 3)
  """

  def __init__(self, *, event_size: int, hidden_units: Sequence[int] = (512,),
               num_components: int = 10, context_size: int = 0,
               log_scale_bound: float = DEFAULT_LOG_SCALE_BOUND,
               seed: int = 0, **kwargs):
    kwargs.update(num_layers=0, base="made_mog", batch_norm=None)
    super().__init__(event_size=event_size, hidden_units=hidden_units,
                     num_components=num_components, context_size=context_size,
                     log_scale_bound=log_scale_bound, seed=seed, **kwargs)


@keras.saving.register_keras_serializable(package="maf_tf")
class Gaussian(MAF):
  """The Gaussian baseline: a full-covariance Gaussian (one per class if
  conditional) fitted in closed form by fit() (maf_tf.gaussian).

  Example:
    >>> import numpy as np
    >>> model = Gaussian(event_size=2)
    >>> model.compile()
    >>> _ = model.fit(np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 5.0]]),
    ...               verbose=0)
    >>> [float(v) for v in model.base.loc[0]]
    [1.0, 3.0]

  It needs more rows than dimensions in every class (else its covariance
  is singular, and fit refuses, undoing the fit).
  """

  def __init__(self, *, event_size: int, context_size: int = 0, **kwargs):
    kwargs.update(num_layers=0, base="gaussian", batch_norm=None)
    if context_size and kwargs.setdefault("context_type",
                                          "labels") != "labels":
      raise ValueError("a Gaussian is conditional on class labels only (one "
                       "per class); got context_type="
                       f"{kwargs['context_type']!r}")
    super().__init__(event_size=event_size, context_size=context_size,
                     **kwargs)


def build_flow(description, conditional: bool = False, model: str = "maf",
               max_weights: int = MAX_LOADED_WEIGHTS, **kwargs) -> MAF:
  """The `model` (one of MODELS) for a dataset (a
  maf_tf.data.DatasetDescription): over images with the logit
  preprocessing (PixelMAF, PixelRealNVP, PixelNSF) and the description's
  alpha and image shape, else a MAF (or RealNVP, NSF); event size,
  context size and type (if `conditional`, or a table's context columns)
  and a table's preprocessing (bounds, standardisation) from the
  description. `kwargs` are MAF's
  other arguments (num_layers and batch_norm as `model_structure` sets
  them). A model of more than `max_weights` weights (counted with the
  context's) is refused before it is allocated.

  Example:
    >>> from maf_tf.data import DatasetDescription
    >>> flow = build_flow(DatasetDescription("points", "tabular", 3),
    ...                   num_layers=2, hidden_units=[8])
    >>> type(flow).__name__, flow.event_size
    ('MAF', 3)
  """
  if not hasattr(description, "event_size"):
    raise TypeError("build_flow needs a maf_tf.data.DatasetDescription "
                    "(from load_dataset, load_table or describe_arrays); "
                    f"got {type(description).__name__}")
  kwargs.update(model_structure(model, kwargs.pop("num_layers", 5),
                                kwargs.pop("batch_norm", None)))
  kwargs.update(event_size=description.event_size,
                context_size=description.context_size(conditional))
  if kwargs["context_size"]:
    kwargs.setdefault("context_type", description.context_type)
  if description.preprocessing is not None:
    kwargs.setdefault("preprocessing", description.preprocessing)
  weights = flow_class(model).weights_of(kwargs)
  if weights > max_weights:  # labels up to 10**9: a context that wide
    raise ValueError(f"this {model} would have {weights:,} weights, more "
                     f"than max_weights={max_weights:,}, for "
                     f"{description.event_size} dimensions and a context "
                     f"of {kwargs['context_size']:,}; refused before "
                     "allocating them")
  if description.kind != "image":
    return flow_class(model)(**kwargs)
  return flow_class(model, images=True)(
      alpha=description.alpha, image_shape=description.image_shape, **kwargs)
