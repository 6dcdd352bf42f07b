"""The MAF paper's model family by name, and `build_flow`, the model for a
dataset's description.

    maf       MAF(K): K MADEs (with batch norm as configured), normal base
    maf_mog   MAF MoG(K): the same stack over a MADE MoG base
    made      MADE: one Gaussian MADE, no batch norm (= MAF(num_layers=1))
    made_mog  MADE MoG: the MADE MoG density alone (`MADEMoG`)
    real_nvp  Real NVP(K): K coupling layers (`RealNVP`)
    gaussian  a full-covariance Gaussian fitted in closed form (`Gaussian`)
    nsf       MAF with rational-quadratic spline layers (`NSF`)

Every one is a `MAF` (or, for real_nvp, a subclass of it), so each trains
with the same fit(), saves, exports and scores alike; over images each
gets the logit preprocessing in front (maf_tf.pixel_flows). `MODELS`
holds one `ModelRecord` per name: everything the library, the trainer's
configs and checks, the presets and the benchmarks know of a model.
"""

import dataclasses
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from maf_tf.checks import check_one_of
from maf_tf.flows import MAF, MAX_LOADED_WEIGHTS
from maf_tf.made import DEFAULT_LOG_SCALE_BOUND
from maf_tf.nsf import AFFINE_ONLY, NSF
from maf_tf.pixel_flows import PixelFlow, PixelMAF, PixelNSF, PixelRealNVP
from maf_tf.real_nvp import MADE_ONLY, RealNVP

__all__ = ["MADEMoG", "Gaussian", "PixelGaussian", "ModelRecord", "MODELS",
           "model_structure", "flow_class", "build_flow"]

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

  fits_in_closed_form = True

  def __init__(self, *, event_size: int, context_size: int = 0, **kwargs):
    kwargs.update(num_layers=0, base="gaussian", batch_norm=None)
    if context_size and kwargs.setdefault("context_type",
                                          "labels") != "labels":
      raise ValueError("a Gaussian is conditional on class labels only (one "
                       "per class); got context_type="
                       f"{kwargs['context_type']!r}")
    super().__init__(event_size=event_size, context_size=context_size,
                     **kwargs)

  def fit(self, *args, **kwargs):
    """keras.Model.fit, each batch added to the statistics (train_step).
    A fit shown no more rows than dimensions in some class would have a
    singular covariance (a single row gave NaN everywhere): it is undone
    and refused."""
    before = [v.numpy() for v in self.base.weights]
    history = super().fit(*args, **kwargs)
    counts = self.base.count.numpy()
    if (counts > self.event_size).all():
      return history
    for variable, value in zip(self.base.weights, before):
      variable.assign(value)
    short = np.flatnonzero(counts <= self.event_size)
    which = (f"class {short[0]} was" if self.context_size else "it was")
    raise ValueError(
        f"a Gaussian fitted in closed form needs more rows than its "
        f"{self.event_size} dimensions in every class; {which} shown "
        f"{int(counts[short[0]])} row{'' if counts[short[0]] == 1 else 's'}"
        ": its covariance would be singular. The fit was undone")

  def train_step(self, data):
    """The batch, mapped to the base's space, is added to the base's
    statistics; nothing is trained by gradient and no step is skipped.
    The epoch's training metrics score each batch before it is added, by
    the fit so far, once that fit is determined (more points than
    dimensions in every class): a progressive held-out score."""
    x, context = self._split_batch(data)
    determined = self.base.determined()
    _, values = self.scores(x, context)
    z, _ = self.to_base(tf.cast(x, self.compute_dtype), context)
    self.base.accumulate(z, self.layer_context(context))
    return self._step_logs({**values, "grad_norm": tf.zeros([])},
                           keep=determined, applied=True)


@keras.saving.register_keras_serializable(package="maf_tf")
class PixelGaussian(PixelFlow, Gaussian):
  """The Gaussian baseline on pixel data in [0, 1]^D through a logit
  transform (`PixelFlow`): fitted in closed form to the logits."""


@dataclasses.dataclass(frozen=True)
class ModelRecord:
  """One model of the family.

  Attributes:
    flow, pixel_flow: the class that builds it, and over images.
    fixed: the MAF arguments it fixes (made_mog: no layers, a MADE MoG
      base); the others, num_layers and batch_norm included, come from
      the caller.
    takes_base: whether a base density may be chosen (--base).
    takes_transformer: whether its layers' transformer may be chosen
      (--transformer; the others fix theirs, or have no MADE layers).
    own_fields: the trainer's config fields only this model reads, each
      to its argument of `flow` (nsf: spline_bound -> bound).
    unused_fields: config fields it does not read: given as flags, they
      are refused, never ignored.
    fixed_fields: those of unused_fields that must keep these values
      even from a preset (a coupling layer has no MADE masks).
    settings: the training settings every preset gives it.
    paper_name: its name in the paper's tables, of `layers`.
  """

  flow: type
  pixel_flow: type = PixelMAF
  fixed: dict = dataclasses.field(default_factory=dict)
  takes_base: bool = False
  takes_transformer: bool = False
  own_fields: dict = dataclasses.field(default_factory=dict)
  unused_fields: tuple = ()
  fixed_fields: dict = dataclasses.field(default_factory=dict)
  settings: dict = dataclasses.field(default_factory=dict)
  paper_name: str = ""

  @property
  def fits_in_closed_form(self) -> bool:
    """Fitted by accumulating statistics, with no gradient step."""
    return self.flow.fits_in_closed_form

  def structure(self, num_layers: int, batch_norm) -> dict:
    """The MAF arguments that make this model of a config's num_layers
    and batch_norm."""
    return {"num_layers": num_layers, "batch_norm": batch_norm,
            **self.fixed}


_ONE_MADE = ("num_layers", "batch_norm", "base")
# Settings: the MADE baselines train at Adam 1e-3 (the paper's rate for
# them); the Gaussian is fitted in one pass.
MODELS = {
    "maf": ModelRecord(MAF, takes_base=True, takes_transformer=True,
                       paper_name="MAF({layers})"),
    "maf_mog": ModelRecord(MAF, fixed=dict(base="made_mog"),
                           takes_transformer=True,
                           unused_fields=("base",),
                           paper_name="MAF MoG({layers})"),
    "made": ModelRecord(MAF, fixed=dict(num_layers=1, batch_norm=None,
                                        base="normal"),
                        unused_fields=_ONE_MADE, takes_transformer=True,
                        settings=dict(learning_rate=1e-3), paper_name="MADE"),
    "made_mog": ModelRecord(MAF, fixed=dict(num_layers=0, batch_norm=None,
                                            base="made_mog"),
                            unused_fields=_ONE_MADE,
                            settings=dict(learning_rate=1e-3),
                            paper_name="MADE MoG"),
    "real_nvp": ModelRecord(RealNVP, PixelRealNVP, takes_base=True,
                            unused_fields=tuple(MADE_ONLY),
                            fixed_fields=MADE_ONLY,
                            paper_name="Real NVP({layers})"),
    # fitted in closed form: no MADE, no gradient step
    "gaussian": ModelRecord(
        Gaussian, PixelGaussian,
        fixed=dict(num_layers=0, batch_norm=None, base="gaussian"),
        unused_fields=(*_ONE_MADE, "hidden_units", "embedding_units",
                       "num_members", "activation", "hidden_degrees",
                       "ordering", "num_components", "log_scale_bound",
                       "affine", "initialization", "dtype_policy",
                       "learning_rate", "cosine_decay", "weight_decay",
                       "clip_norm"),
        settings=dict(epochs=1, patience=1), paper_name="Gaussian"),
    "nsf": ModelRecord(NSF, PixelNSF, takes_base=True,
                       own_fields={"bins": "bins", "spline_bound": "bound"},
                       unused_fields=tuple(AFFINE_ONLY),
                       fixed_fields=AFFINE_ONLY,
                       paper_name="NSF({layers})"),  # not the paper's
}


def model_structure(model: str, num_layers: int, batch_norm) -> dict:
  """The MAF arguments that make `model` (one of MODELS) out of a config's
  num_layers and batch_norm: e.g. made_mog -> num_layers=0,
  base='made_mog'."""
  return MODELS[check_one_of("model", model, tuple(MODELS))].structure(
      num_layers, batch_norm)


def flow_class(model: str, images: bool = False) -> type:
  """The class that builds `model` (one of MODELS); its pixel variant if
  `images`."""
  record = MODELS[check_one_of("model", model, tuple(MODELS))]
  return record.pixel_flow if images else record.flow


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
