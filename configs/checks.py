"""Checks of a TrainConfig, run before any output is written."""

import math
import os

from configs.base import TrainConfig
from maf_tf.bijectors import check_alpha
from maf_tf.distributions import BASES
from maf_tf.flows import BATCH_NORM_PLACEMENTS, DTYPE_POLICIES, ORDERINGS
from maf_tf.made import AFFINES, INITIALIZATIONS, MATMUL_DTYPES
from maf_tf.masks import HIDDEN_DEGREES
from maf_tf.models import MODELS
from maf_tf.real_nvp import MADE_ONLY

__all__ = ["check_config", "CHOICES"]

# The library's own lists (a flag of a field whose choices hold None takes
# 'none'); activation: the two the presets and the paper use.
CHOICES = {
    "model": MODELS,
    "activation": ("relu", "tanh"),
    "hidden_degrees": HIDDEN_DEGREES,
    "ordering": ORDERINGS,
    "batch_norm": BATCH_NORM_PLACEMENTS,
    "base": BASES[:2],  # made_mog, gaussian: through --model
    "dtype_policy": DTYPE_POLICIES,
    "matmul_dtype": MATMUL_DTYPES,
    "affine": AFFINES,
    "initialization": INITIALIZATIONS,
}
POSITIVE = ("num_layers", "num_components", "batch_size", "eval_batch_size",
            "epochs", "patience", "max_bad_steps", "sample_every",
            "num_samples", "toy_size", "steps_per_execution")
NON_NEGATIVE_FLOATS = ("weight_decay", "clip_norm")


def _check_model_fields(config: TrainConfig) -> None:
  """A field the config's model does not use must keep its default: a
  flag is never silently ignored."""
  if config.model == "real_nvp":
    for name, default in MADE_ONLY.items():
      if name != "matmul_dtype" and getattr(config, name) != default:
        raise ValueError(f"--{name} does not apply to --model=real_nvp (it "
                         f"has no MADE); got {getattr(config, name)!r}")
  if config.model not in ("maf", "real_nvp") and config.base != "normal":
    raise ValueError(f"--model={config.model} sets its own base density; "
                     f"--base applies to maf and real_nvp; got "
                     f"{config.base!r}")


def check_config(config: TrainConfig) -> None:
  """Raises ValueError (one line, naming what was expected) on a bad value."""
  for name, choices in CHOICES.items():
    value = getattr(config, name)
    if value not in choices:
      raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
  _check_model_fields(config)
  for name in POSITIVE:
    value = getattr(config, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
      raise ValueError(f"{name} must be a positive integer; got {value!r}")
  for name in NON_NEGATIVE_FLOATS:
    if getattr(config, name) < 0:
      raise ValueError(f"{name} must be >= 0; got {getattr(config, name)}")
  if not 0 < config.learning_rate < math.inf:
    raise ValueError(f"learning_rate must be a finite number > 0; got "
                     f"{config.learning_rate}")
  for name in ("log_scale_bound", "clip_norm", "weight_decay"):
    if not math.isfinite(getattr(config, name)):
      raise ValueError(f"{name} must be finite; got {getattr(config, name)}")
  units = config.hidden_units
  if not units or any(not isinstance(u, int) or u < 1 for u in units):
    raise ValueError("hidden_units must be one or more positive integers "
                     f"(a MADE needs at least one hidden layer); got "
                     f"{list(units)}")
  if not config.log_scale_bound > 0:
    raise ValueError(f"log_scale_bound must be > 0; got "
                     f"{config.log_scale_bound}")
  if config.alpha is not None:
    check_alpha(config.alpha)
  if config.validation_size is not None and config.validation_size < 1:
    raise ValueError("validation_size must be a positive integer; got "
                     f"{config.validation_size}")
  if config.data_dir is not None:
    if not os.path.exists(config.data_dir):
      raise ValueError(f"data_dir {config.data_dir!r} does not exist")
    if not os.access(config.data_dir, os.R_OK):
      raise ValueError(f"data_dir {config.data_dir!r} is not readable")
