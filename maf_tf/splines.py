"""Monotonic rational-quadratic splines (Durkan, Bekasov, Murray and
Papamakarios 2019, "Neural Spline Flows", arXiv 1906.04032, section 3.1),
elementwise, as the transform of each dimension in `maf_tf.NSF`.

On [-B, B] the map is K rational-quadratic pieces through K + 1 knots
(x_k, y_k) with positive derivatives d_k at the knots; outside it is the
identity (linear tails), and d_0 = d_K = 1 so the tails join smoothly.
Its 3K - 1 raw parameters per dimension are, in order:

  * K widths and K heights: softmax, then a minimum bin size
    (bin = min + (1 - K min) softmax), scaled to 2B;
  * K - 1 interior derivatives: min_derivative + softplus(raw + c), with
    c chosen so that raw = 0 gives 1.

All parameters 0 is the identity map, so a MADE whose output layer starts
at zero starts every layer as the identity, as MAF's does.

Numerics (the failures users of other spline libraries meet):
  * points outside [-B, B] are clamped onto it before the spline is
    evaluated and then replaced by the identity, so the unused branch is
    always finite and every parameter gets a finite (zero) gradient from
    them; a batch entirely in the tails is fine;
  * the inverse solves its quadratic by the numerically stable root
    2c / (-b - sqrt(b^2 - 4ac)) with the discriminant clamped at 0 (it
    can round to a tiny negative number) and the result clamped into the
    bin, so a finite input never gives NaN.
"""

import functools
import math
from typing import Tuple

import numpy as np
import tensorflow as tf

__all__ = ["DEFAULT_BINS", "DEFAULT_BOUND", "MIN_BIN", "MIN_DERIVATIVE",
           "spline_params_per_dimension", "spline_to_base",
           "spline_to_data"]

DEFAULT_BINS = 8
DEFAULT_BOUND = 5.0     # B: zuko's; the NSF paper's is 3 (docs/models.md)
MIN_BIN = 1e-3          # smallest bin width and height, as a share of 2B
MIN_DERIVATIVE = 1e-3   # smallest derivative at a knot


def spline_params_per_dimension(bins: int) -> int:
  """3K - 1: K widths, K heights, K - 1 interior derivatives."""
  return 3 * bins - 1


@functools.lru_cache(maxsize=None)
def _knot_map(bins: int, bound: float) -> Tuple[np.ndarray, np.ndarray]:
  """(matrix [3K - 1, 3(K + 1)], offset [3(K + 1)]) such that
  [bin widths, bin heights, interior derivatives] @ matrix + offset are
  the x knots, the y knots and the K + 1 derivatives side by side.

  The cumulative sums are a matmul rather than tf.cumsum, and the ends
  come from the offset alone, so they are exactly -B, B (and 1, 1 for the
  derivatives); cumsum, concat and slicing, with their gradients, took
  most of a training step's spline time."""
  matrix = np.zeros((3 * bins - 1, 3 * (bins + 1)))
  offset = np.zeros(3 * (bins + 1))
  for group in range(2):  # x then y: knot i = -B + 2B (size_0 + ... )
    row, column = group * bins, group * (bins + 1)
    for knot in range(1, bins):
      matrix[row:row + knot, column + knot] = 2.0 * bound
    offset[column:column + bins + 1] = -bound
    offset[column + bins] = bound
  column = 2 * (bins + 1)
  interior = np.arange(bins - 1)
  matrix[2 * bins + interior, column + 1 + interior] = 1.0
  offset[[column, column + bins]] = 1.0
  return matrix, offset


def _all_knots(raw: tf.Tensor, bound: float) -> tf.Tensor:
  """[..., 3, K + 1]: the x knots, the y knots and the derivatives at the
  knots, from the raw parameters [..., 3K - 1]."""
  bins = (raw.shape[-1] + 1) // 3
  leading = tf.shape(raw)[:-1]
  raw_sizes, raw_derivatives = tf.split(raw, [2 * bins, bins - 1], axis=-1)
  sizes = tf.nn.softmax(tf.reshape(raw_sizes, tf.concat(
      [leading, [2, bins]], 0)))  # widths and heights in one softmax
  sizes = MIN_BIN + (1.0 - MIN_BIN * bins) * tf.reshape(
      sizes, tf.shape(raw_sizes))
  shift = math.log(math.expm1(1.0 - MIN_DERIVATIVE))  # softplus -> 1 - min
  derivatives = MIN_DERIVATIVE + tf.nn.softplus(raw_derivatives + shift)
  matrix, offset = (tf.constant(a, raw.dtype)
                    for a in _knot_map(bins, float(bound)))
  knots = tf.tensordot(tf.concat([sizes, derivatives], -1), matrix, 1)
  return tf.reshape(knots + offset, tf.concat([leading, [3, bins + 1]], 0))


def _knots(raw: tf.Tensor, bound: float) -> Tuple[tf.Tensor, ...]:
  """(x knots, y knots, derivatives), each [..., K + 1]."""
  return tuple(tf.unstack(_all_knots(raw, bound), axis=-2))


def _bins(value, raw, bound, by_y: bool):
  """The spline pieces holding `value` in [-B, B] (a data point, or a
  base point when by_y): (x_k, w_k, y_k, h_k, d_k, d_k+1) with w, h the
  bin's width and height, each shaped like value. The last bin holds B
  itself."""
  knots = _all_knots(raw, bound)
  bins = knots.shape[-1] - 1
  passed = tf.cast(value[..., None] >= knots[..., int(by_y), :], tf.int32)
  # A NaN value passes no knot: bin 0 then keeps the gather in range and
  # the NaN goes on through the formulas, as it would through MAF's.
  index = tf.clip_by_value(tf.reduce_sum(passed, -1) - 1, 0, bins - 1)
  # One gather of the six values (a one-hot product over all 3(K + 1)
  # knots was slower, forward and backward).
  flat = tf.reshape(knots, tf.concat([tf.shape(index), [3 * (bins + 1)]], 0))
  left = tf.range(3) * (bins + 1)
  values = tf.gather(flat, index[..., None] + tf.concat([left, left + 1], 0),
                     batch_dims=index.shape.rank)
  x_left, y_left, d_left, x_right, y_right, d_right = tf.unstack(values,
                                                                 axis=-1)
  return x_left, x_right - x_left, y_left, y_right - y_left, d_left, d_right


def spline_to_base(x: tf.Tensor, raw: tf.Tensor, bound: float
                   ) -> Tuple[tf.Tensor, tf.Tensor]:
  """z = g(x) elementwise and log|dz/dx| per element; x [...], raw
  [..., 3K - 1] (the NSF paper's eq. (4) and its derivative)."""
  inside = tf.abs(x) < bound
  x_in = tf.clip_by_value(x, -bound, bound)
  x_k, width, y_k, height, d_k, d_k1 = _bins(x_in, raw, bound, by_y=False)
  slope = height / width
  xi = tf.clip_by_value((x_in - x_k) / width, 0.0, 1.0)
  mix = xi * (1.0 - xi)
  denominator = slope + (d_k1 + d_k - 2.0 * slope) * mix
  z = y_k + height * (slope * xi * xi + d_k * mix) / denominator
  derivative = slope * slope * (d_k1 * xi * xi + 2.0 * slope * mix
                                + d_k * (1.0 - xi) * (1.0 - xi))
  log_det = tf.math.log(derivative) - 2.0 * tf.math.log(denominator)
  return (tf.where(inside, z, x),
          tf.where(inside, log_det, tf.zeros_like(log_det)))


def spline_to_data(z: tf.Tensor, raw: tf.Tensor, bound: float) -> tf.Tensor:
  """x = g^-1(z) elementwise, the closed-form inverse of `spline_to_base`
  (the NSF paper's eqs. (6)-(8), by the stable root)."""
  inside = tf.abs(z) < bound
  z_in = tf.clip_by_value(z, -bound, bound)
  x_k, width, y_k, height, d_k, d_k1 = _bins(z_in, raw, bound, by_y=True)
  slope = height / width
  offset = z_in - y_k
  curvature = d_k1 + d_k - 2.0 * slope
  a = height * (slope - d_k) + offset * curvature
  b = height * d_k - offset * curvature
  c = -slope * offset
  root = tf.sqrt(tf.maximum(b * b - 4.0 * a * c, 0.0))
  xi = tf.clip_by_value(2.0 * c / (-b - root), 0.0, 1.0)
  return tf.where(inside, x_k + xi * width, z)
