"""Checks of a TrainConfig, run before any output is written."""

import math
import os

import numpy as np

from configs.base import SEED_OFFSETS, TrainConfig
from configs.build import params_per_dimension, transformer_fields
from maf_tf.checks import (check_alpha, check_hidden_units,
                           check_log_scale, check_one_of,
                           check_positive_finite, check_positive_int,
                           check_scale)
from maf_tf.data import IMAGE_SPECS, TABULAR_SIZES, TOYS
from maf_tf.data.tables import MISSING, parse_bounds
from maf_tf.distributions import BASES
from maf_tf.flows import BATCH_NORM_PLACEMENTS, DTYPE_POLICIES, ORDERINGS
from maf_tf.flows import weight_count
from maf_tf.made import AFFINES, INITIALIZATIONS
from maf_tf.masks import HIDDEN_DEGREES
from maf_tf.models import MODELS, model_structure
from maf_tf.transformers import TRANSFORMERS, check_bins

__all__ = ["check_config", "check_cost", "check_picture_size", "CHOICES",
           "unused_fields"]

# The library's own lists (a flag of a field whose choices hold None takes
# 'none'); activation: the two the presets and the paper use.
CHOICES = {
    "model": tuple(MODELS),
    "activation": ("relu", "tanh"),
    "hidden_degrees": HIDDEN_DEGREES,
    "ordering": ORDERINGS,
    "batch_norm": BATCH_NORM_PLACEMENTS,
    "base": BASES[:2],  # made_mog, gaussian: through --model
    "dtype_policy": DTYPE_POLICIES,
    "transformer": tuple(TRANSFORMERS),
    "affine": AFFINES,
    "initialization": INITIALIZATIONS,
    "missing": MISSING,
}
# The fields of a --data table, and those that apply to named sets only.
TABLE_FIELDS = ("columns", "context_columns", "label_column", "id_column",
                "bounds", "discrete_columns", "missing",
                "validation_fraction", "test_fraction", "test_data",
                "max_table_megabytes")
NAMED_SET_FIELDS = ("source", "data_dir", "validation_size", "flips",
                    "alpha", "toy_size")
POSITIVE = ("num_layers", "num_components", "batch_size", "eval_batch_size",
            "epochs", "patience", "max_bad_steps", "sample_every",
            "num_samples", "toy_size", "steps_per_execution",
            "max_parameters")
MAX_TOY_SIZE = 10_000_000     # points of a 2-D toy drawn into memory
MAX_PICTURE_VALUES = 10**7    # num_samples x D of a sample picture
NON_NEGATIVE_FLOATS = ("weight_decay", "clip_norm")
MAX_MEMBERS = 100  # flows in one ensemble
# numpy's seeds are 32-bit, and each stream adds its offset
MAX_SEED = 2**32 - 1 - max(SEED_OFFSETS.values())


# Each model's own fields (nsf's bins and spline_bound) against any other.
OWN_FIELDS = {field for record in MODELS.values()
              for field in record.own_fields}
# How an own field is checked, beyond its type.
OWN_FIELD_CHECKS = {"bins": check_bins,
                    "spline_bound": lambda value: check_scale("spline_bound",
                                                              value)}


# The fields transformers are built from (affine's form and log-scale
# bound, a spline's bins and bound): a model that takes a transformer
# reads those of its own.
TRANSFORMER_FIELDS = {field for name in TRANSFORMERS
                      for field in transformer_fields(name)}


def _own_fields(model: str, transformer: str) -> set:
  """The model's own fields, and where it takes a transformer those
  `transformer` is built from; a MADE MoG base's log_scale_bound."""
  record = MODELS[model]
  own = set(record.own_fields)
  if record.takes_transformer:
    own |= set(transformer_fields(transformer))
  if record.fixed.get("base") == "made_mog":
    own.add("log_scale_bound")
  return own


def unused_fields(model: str, transformer: str = "affine") -> tuple:
  """The config fields `model` does not use with `transformer` (where it
  takes one): its record's, the transformer fields its transformer has
  not, and every other model's own fields."""
  record = MODELS[model]
  if not record.takes_transformer:
    return ("transformer", *record.unused_fields,
            *sorted(OWN_FIELDS - _own_fields(model, transformer)))
  return (*record.unused_fields, *sorted(
      (OWN_FIELDS | TRANSFORMER_FIELDS) - _own_fields(model, transformer)))


def _appliers(name: str) -> str:
  """Where a model's or transformer's own field applies, for a message:
  '--model=nsf or --transformer=spline or linear'."""
  models = [m for m, r in MODELS.items() if name in r.own_fields]
  transformers = [t for t in TRANSFORMERS if name in transformer_fields(t)]
  return " or ".join(f"--{flag}={' or '.join(names)}" for flag, names in (
      ("model", models), ("transformer", transformers)) if names)


def _check_model_fields(config: TrainConfig, given=()) -> None:
  """A field the config's model does not use must keep its default, and
  must not be among the `given` flags: a flag is never silently
  ignored."""
  record = MODELS[config.model]
  takers = [name for name, r in MODELS.items() if r.takes_base]
  if not record.takes_base and (config.base != "normal" or "base" in given):
    raise ValueError(f"--model={config.model} sets its own base density; "
                     f"--base applies to {', '.join(takers)}; got "
                     f"{config.base!r}")
  if not record.takes_transformer and (config.transformer != "affine"
                                       or "transformer" in given):
    takers = [name for name, r in MODELS.items() if r.takes_transformer]
    raise ValueError(f"--model={config.model} has its own layers; "
                     f"--transformer applies to {', '.join(takers)}; got "
                     f"{config.transformer!r}")
  default = TrainConfig()
  for name in unused_fields(config.model, config.transformer):
    if name in OWN_FIELDS and (name in given or getattr(config, name) !=
                               getattr(default, name)):
      raise ValueError(f"--{name} applies to {_appliers(name)} only; got "
                       f"{getattr(config, name)!r} with --model="
                       f"{config.model}, --transformer={config.transformer}")
    if record.takes_transformer and name in TRANSFORMER_FIELDS and \
        name in given:
      raise ValueError(f"--{name} does not apply to --transformer="
                       f"{config.transformer}; got "
                       f"{getattr(config, name)!r}")
    if name in given:
      raise ValueError(f"--{name} does not apply to --model={config.model}"
                       f"; got {getattr(config, name)!r}")
  for name, value in record.fixed_fields.items():
    if getattr(config, name, value) != value:  # matmul_dtype: no flag
      raise ValueError(f"--{name} does not apply to --model={config.model}"
                       f"; got {getattr(config, name)!r}")
  for name in _own_fields(config.model, config.transformer):
    OWN_FIELD_CHECKS.get(name, lambda value: value)(getattr(config, name))


def _check_table_fields(config: TrainConfig) -> None:
  """--data takes the table flags, and a named dataset the others; a flag
  that does not apply is refused, never ignored."""
  default = TrainConfig()
  given = lambda names: [n for n in names  # noqa: E731
                         if getattr(config, n) != getattr(default, n)]
  if config.data is None:
    for name in given(TABLE_FIELDS):
      raise ValueError(f"--{name} applies to a table file (--data=FILE) "
                       f"only; got {getattr(config, name)!r}")
    return
  for name in given(NAMED_SET_FIELDS):
    raise ValueError(f"--{name} applies to named datasets, not to --data "
                     f"tables; got {getattr(config, name)!r}")
  if config.conditional and not config.label_column:
    raise ValueError("--conditional needs --label_column with --data (a "
                     "table is conditioned on its label column, or on "
                     "--context_columns without --conditional)")
  if config.label_column and config.context_columns:
    raise ValueError("give --label_column or --context_columns, not both")
  parse_bounds(config.bounds)
  for name in ("validation_fraction", "test_fraction"):
    if not 0 <= getattr(config, name) < 1:
      raise ValueError(f"{name} must be in [0, 1); got "
                       f"{getattr(config, name)}")
  if not 0 < config.validation_fraction < 1 - config.test_fraction:
    raise ValueError("validation_fraction must be > 0 and leave training "
                     f"rows beside test_fraction {config.test_fraction}; "
                     f"got {config.validation_fraction}")
  check_positive_finite("max_table_megabytes", config.max_table_megabytes)


def event_size(dataset: str):
  """D of a named dataset, or None for a name this project has not."""
  if dataset in IMAGE_SPECS:
    return IMAGE_SPECS[dataset].event_size
  return 2 if dataset in TOYS else TABULAR_SIZES.get(dataset)


def model_weights(config: TrainConfig, size: int, context_size: int = 0
                  ) -> int:
  """How many weights the config's model has for D = size and a context
  of context_size (all its members')."""
  structure = model_structure(config.model, config.num_layers,
                              config.batch_norm)
  return config.num_members * weight_count(
      size, config.hidden_units,
      structure.get("num_layers", config.num_layers),
      structure.get("base", config.base), config.num_components,
      params_per_dimension(config),
      context_size, config.embedding_units)


def check_cost(config: TrainConfig, size: int, context_size: int = 0,
               name: str = "") -> None:
  """What the config would allocate for D = size and a context of
  context_size, before anything is: the model's weights and a sample
  picture. The trainer calls it once the data is known; check_config
  for a named dataset's size before."""
  weights = model_weights(config, size, context_size)
  if weights > config.max_parameters:
    raise ValueError(f"this model would have {weights:,} weights, more "
                     f"than max_parameters={config.max_parameters:,} "
                     "(about 8 bytes each with its mask); raise "
                     "--max_parameters to allow it")
  check_picture_size(config.num_samples, size, name or config.dataset)


def _check_cost(config: TrainConfig) -> None:
  if config.toy_size > MAX_TOY_SIZE:
    raise ValueError(f"toy_size must be at most {MAX_TOY_SIZE}; got "
                     f"{config.toy_size}")
  size = event_size(config.dataset)
  if size is not None:
    check_cost(config, size)


def check_picture_size(num_samples: int, size: int, name: str) -> None:
  """ValueError unless a sample picture of num_samples x D = size values
  stays within MAX_PICTURE_VALUES (the trainer's and evaluate's)."""
  if num_samples * size > MAX_PICTURE_VALUES:
    raise ValueError(f"num_samples must be at most "
                     f"{MAX_PICTURE_VALUES // size} for {name} "
                     f"(a sample picture of at most {MAX_PICTURE_VALUES} "
                     f"values); got {num_samples}")


def check_config(config: TrainConfig, files: bool = True,
                 given=()) -> None:
  """Raises ValueError (one line, naming what was expected) on a bad value
  or a `given` field (the flags a command line set) that the model does
  not use; files=False skips whether data_dir exists (a saved config's
  data may have moved: evaluate takes another)."""
  for name, choices in CHOICES.items():
    check_one_of(name, getattr(config, name), choices)
  _check_model_fields(config, given)
  _check_table_fields(config)
  for name in POSITIVE:
    check_positive_int(name, getattr(config, name))
  for name in NON_NEGATIVE_FLOATS:
    if getattr(config, name) < 0:
      raise ValueError(f"{name} must be >= 0; got {getattr(config, name)}")
  check_positive_finite("learning_rate", config.learning_rate)
  check_log_scale("log_scale_bound", config.log_scale_bound)
  for name in (*NON_NEGATIVE_FLOATS, "learning_rate"):
    # the model computes in float32: 1e300 is finite only in float64
    if not math.isfinite(getattr(config, name)) or not np.isfinite(
        np.float32(getattr(config, name))):
      raise ValueError(f"{name} must be finite in float32 (at most "
                       f"{float(np.finfo(np.float32).max):.3g}); got "
                       f"{getattr(config, name)}")
  for name in ("seed", "split_seed"):
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or \
        not 0 <= value <= MAX_SEED:
      raise ValueError(f"{name} must be an integer in 0..{MAX_SEED}; got "
                       f"{value!r}")
  check_hidden_units(config.hidden_units)
  if isinstance(config.num_members, bool) or not isinstance(
      config.num_members, int) or not 1 <= config.num_members <= MAX_MEMBERS:
    raise ValueError(f"num_members must be an integer in 1..{MAX_MEMBERS}; "
                     f"got {config.num_members!r}")
  if config.num_members > 1 and config.data is None and \
      config.dataset in IMAGE_SPECS:
    raise ValueError("--num_members applies to tables and toy datasets, "
                     f"not to images; got --dataset={config.dataset}")
  if config.embedding_units is not None:
    check_hidden_units(config.embedding_units, "embedding_units")
    if not (config.conditional or config.context_columns
            or config.label_column):
      raise ValueError("--embedding_units needs a context: "
                       "--context_columns, --label_column or --conditional")
  _check_cost(config)
  if config.alpha is not None:
    check_alpha(config.alpha)
  if config.validation_size is not None:
    check_positive_int("validation_size", config.validation_size)
  if files and config.data_dir is not None:
    if not os.path.exists(config.data_dir):
      raise ValueError(f"data_dir {config.data_dir!r} does not exist")
    if os.path.isfile(config.data_dir) and not config.data_dir.endswith(
        ".npz"):
      raise ValueError(f"data_dir {config.data_dir!r} is a file; expected a "
                       "directory of the dataset's files (or a .npz)")
    if not os.access(config.data_dir, os.R_OK):
      raise ValueError(f"data_dir {config.data_dir!r} is not readable")
