"""Argument checks with one-line messages, shared by the library and the
command line (configs/checks.py), so that Python and the flags refuse a
bad value in the same words: "<name> must be ...; got <value>".

This module imports nothing from maf_tf: every other module may use it.
"""

import math
from typing import Sequence

import numpy as np

__all__ = ["check_one_of", "check_positive_int", "check_int_at_least",
           "check_positive_finite", "check_hidden_units", "check_alpha",
           "check_scale", "check_log_scale"]


def check_one_of(name: str, value, choices: Sequence):
  """value, unless it is not among choices."""
  if value not in choices:
    raise ValueError(f"{name} must be one of "
                     f"{', '.join(map(repr, choices))}; got {value!r}")
  return value


def _is_int(value) -> bool:
  return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_positive_int(name: str, value) -> int:
  """value as an int, unless it is not an integer >= 1 (a bool is not)."""
  if not _is_int(value) or value < 1:
    raise ValueError(f"{name} must be a positive integer; got {value!r}")
  return int(value)


def check_int_at_least(name: str, value, minimum: int) -> int:
  """value as an int, unless it is not an integer >= minimum."""
  if not _is_int(value) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}; got "
                     f"{value!r}")
  return int(value)


def check_positive_finite(name: str, value) -> float:
  """value as a float, unless it is not a finite number > 0."""
  try:
    number = float(value)
  except (TypeError, ValueError):
    number = math.nan
  if isinstance(value, bool) or not 0 < number < math.inf:
    raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
  return number


def _check_in_dtype(name: str, value, dtype, limit: float, why: str
                    ) -> float:
  number = check_positive_finite(name, value)
  if number > limit:
    raise ValueError(f"{name} must be at most {limit:.3g} for a model "
                     f"computing in {dtype} ({why}); got {value!r}")
  return number


def _largest(dtype) -> float:
  import tensorflow as tf
  return float(tf.as_dtype(dtype or "float32").max)


def check_scale(name: str, value, dtype="float32") -> float:
  """value as a float, unless it is not a number > 0 whose square, with a
  factor 100 to spare, is finite in `dtype`, the dtype a model computes
  in (values on its scale get squared: 1e308 is finite in float64 and
  gave NaN log_probs in float32)."""
  return _check_in_dtype(name, value, dtype,
                         math.sqrt(_largest(dtype)) / 10,
                         "values on its scale are squared")


def check_log_scale(name: str, value, dtype="float32") -> float:
  """value as a float, unless it is not a number > 0 with exp(2 value)
  finite in `dtype` (a bound on log-scales, whose exp is squared)."""
  return _check_in_dtype(name, value, dtype, math.log(_largest(dtype)) / 2,
                         f"exp(2 x {name}) must be finite")


def check_hidden_units(units, name: str = "hidden_units") -> list:
  """A network's layer sizes as a list of ints: one or more, each
  positive."""
  if isinstance(units, (int, str)) or len(units) == 0 or not all(
      _is_int(u) and u >= 1 for u in units):
    raise ValueError(f"{name} must be one or more positive integers, "
                     f"one per layer; got {units!r}")
  return [int(u) for u in units]


def check_alpha(alpha) -> float:
  """alpha as a float, unless 0 < alpha < 0.5 fails (then
  s = alpha + (1 - 2 alpha) x stays inside (0, 1) for x in [0, 1])."""
  if isinstance(alpha, bool) or not 0.0 < float(alpha) < 0.5:
    raise ValueError(f"alpha must be in (0, 0.5); got {alpha}")
  return float(alpha)
