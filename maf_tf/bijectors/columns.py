"""The preprocessing of a table's columns as a bijector: each column's
bounds mapped away, then standardised (what a flow over your own data
carries in front of its layers, `maf_tf.preprocessing`).

Direction follows TFP: forward maps the standardised space -> the data's
units, inverse maps data x to y. Both directions are cheap. Per column,
with lo and hi its bounds (either may be infinite):

    [lo, hi]    y = log(x - lo) - log(hi - x)   (a scaled logit)
                log|dy/dx| = log(hi - lo) - log(x - lo) - log(hi - x)
    [lo, inf)   y = log(x - lo),  log|dy/dx| = -log(x - lo)
    (-inf, hi]  y = log(hi - x),  log|dy/dx| = -log(hi - x)
    unbounded   y = x
    then        s = (y - mean) / scale,  log|ds/dy| = -log(scale)

A value outside its bounds (or on one: log and logit have no finite image
there) has no density: its row's log-det, and so its log_prob, is -inf.
NaN stays NaN. Sampling maps back inside the bounds.
"""

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from maf_tf.bijectors.vector import VectorBijector

__all__ = ["ColumnMap", "ColumnBijector"]


def _bounds(values: Optional[Sequence], size: int, default: float,
            what: str) -> np.ndarray:
  if values is None:
    return np.full(size, default)
  values = np.array([default if v is None else v for v in values],
                    dtype=np.float64)
  if values.shape != (size,) or np.isnan(values).any():
    raise ValueError(f"{what} must be {size} numbers (None for no bound); "
                     f"got {list(values)}")
  return values


class ColumnMap:
  """Bounds and standardisation of D columns, as tensor functions.

  Args:
    lower, upper: D bounds each (None or -inf / inf: none).
    mean, scale: D values each, of the bound-mapped training data.
    dtype: the float dtype the map computes in; every value must be
      finite in it (and lower < upper, scale > 0).
  """

  def __init__(self, lower: Optional[Sequence], upper: Optional[Sequence],
               mean: Sequence, scale: Sequence, dtype=tf.float32):
    mean = np.asarray(mean, dtype=np.float64)
    size = mean.size
    if mean.shape != (size,):
      raise ValueError(f"mean must be a vector; got shape {mean.shape}")
    scale = np.asarray(scale, dtype=np.float64)
    lower = _bounds(lower, size, -np.inf, "lower")
    upper = _bounds(upper, size, np.inf, "upper")
    limit = np.finfo(tf.as_dtype(dtype).as_numpy_dtype).max
    if scale.shape != (size,) or not (
        (scale > 0) & (scale < limit)).all() or not (
            np.abs(mean) < limit).all():
      raise ValueError(f"mean and scale must be {size} finite numbers each, "
                       f"scales > 0, in {tf.as_dtype(dtype).name}")
    finite = np.isfinite(lower) & np.isfinite(upper)
    if not (lower < upper).all() or (np.abs(lower[np.isfinite(lower)])
                                     >= limit).any() or (np.abs(upper[
                                         np.isfinite(upper)]) >= limit).any() \
        or ((upper - lower)[finite] >= limit).any():
      raise ValueError("every bound must be finite in "
                       f"{tf.as_dtype(dtype).name} with lower < upper; got "
                       f"lower {list(lower)}, upper {list(upper)}")
    self.size = size
    constant = lambda v: tf.constant(v, dtype)  # noqa: E731
    self._has_lower = tf.constant(np.isfinite(lower))
    self._has_upper = tf.constant(np.isfinite(upper))
    self._both = tf.constant(finite)
    self._lower = constant(np.where(np.isfinite(lower), lower, 0.0))
    self._upper = constant(np.where(np.isfinite(upper), upper, 0.0))
    self._log_width = constant(np.where(finite, np.log(
        np.where(finite, upper - lower, 1.0)), 0.0))
    self._mean, self._scale = constant(mean), constant(scale)
    self._log_scale_sum = float(np.log(scale).sum())

  def to_standard(self, x: tf.Tensor):
    """(s, log|det ds/dx| per row) for data x [..., D]."""
    below = self._has_lower & (x <= self._lower)
    above = self._has_upper & (x >= self._upper)
    outside = below | above
    one = tf.ones_like(x)
    log_a = tf.where(self._has_lower & ~outside,
                     tf.math.log(tf.where(outside, one, x - self._lower)),
                     tf.zeros_like(x))
    log_b = tf.where(self._has_upper & ~outside,
                     tf.math.log(tf.where(outside, one, self._upper - x)),
                     tf.zeros_like(x))
    y = tf.where(self._both, log_a - log_b,
                 tf.where(self._has_lower, log_a,
                          tf.where(self._has_upper, log_b, x)))
    log_det = tf.reduce_sum(self._log_width - log_a - log_b, axis=-1)
    log_det = tf.where(tf.reduce_any(outside, axis=-1),
                       tf.constant(-np.inf, x.dtype), log_det)
    standard = (y - self._mean) / self._scale
    return standard, log_det - tf.constant(self._log_scale_sum, x.dtype)

  def to_data(self, standard: tf.Tensor) -> tf.Tensor:
    """The inverse: standardised s [..., D] -> data inside the bounds."""
    y = standard * self._scale + self._mean
    zero = tf.zeros_like(y)
    interval = self._lower + (self._upper - self._lower) * tf.sigmoid(
        tf.where(self._both, y, zero))
    one_sided = tf.exp(tf.where(self._both, zero, tf.where(
        self._has_lower | self._has_upper, y, zero)))
    x = tf.where(self._both, interval, tf.where(
        self._has_lower, self._lower + one_sided,
        tf.where(self._has_upper, self._upper - one_sided, y)))
    x = tf.where(self._has_lower, tf.maximum(x, self._lower), x)
    return tf.where(self._has_upper, tf.minimum(x, self._upper), x)


class ColumnBijector(VectorBijector):
  """A `ColumnMap` as a TFP bijector: forward standardised -> data units.

  Example:
    >>> columns = ColumnMap([0.0], [None], mean=[0.0], scale=[2.0])
    >>> bijector = ColumnBijector(columns)
    >>> [round(float(v), 4) for v in bijector.inverse([[1.0]])[0]]
    [0.0]
  """

  def __init__(self, columns: ColumnMap, dtype=tf.float32,
               name: str = "columns"):
    parameters = dict(locals())
    self._columns = columns
    super().__init__(dtype, parameters, name)

  def _forward(self, y):
    return self._columns.to_data(y)

  def _inverse(self, x):
    return self._columns.to_standard(x)[0]

  def _inverse_log_det_jacobian(self, x):
    return self._columns.to_standard(x)[1]
