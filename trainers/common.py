"""Deprecated: what this module held now lives by concern (kept for one
release; every name warns). Strategy: trainers.strategy; data and model
from a config: configs.build; pictures: trainers.pictures.samples_picture;
logs and errors: trainers.logs."""

import warnings

from configs import build
from trainers import logs, strategy

__all__ = []


def _build_model(config, data):
  return build.build_model(config, data.description)


def _model_arguments(config, event_size, num_classes=0):
  return dict(build.model_arguments(config), event_size=event_size,
              context_size=num_classes if config.conditional else 0)


_MOVED = {"split_cpu": strategy.split_cpu,
          "make_strategy": strategy.make_strategy,
          "load_data": build.load_data,
          "build_model": _build_model,
          "model_arguments": _model_arguments,
          "op_error_line": logs.op_error_line,
          "quiet_logs": logs.quiet_logs}


def __getattr__(name):
  if name not in _MOVED:
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
  warnings.warn(f"trainers.common.{name} is deprecated; see the "
                "trainers.common docstring for where it lives now",
                DeprecationWarning, stacklevel=2)
  return _MOVED[name]
