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

import math
from typing import Tuple

import tensorflow as tf

__all__ = ["DEFAULT_BINS", "DEFAULT_BOUND", "MIN_BIN", "MIN_DERIVATIVE",
           "spline_params_per_dimension", "spline_to_base",
           "spline_to_data", "check_bins", "check_bound"]

DEFAULT_BINS = 8
DEFAULT_BOUND = 5.0     # B: zuko's; the NSF paper's is 3 (README, NSF)
MIN_BIN = 1e-3          # smallest bin width and height, as a share of 2B
MIN_DERIVATIVE = 1e-3   # smallest derivative at a knot


def spline_params_per_dimension(bins: int) -> int:
  """3K - 1: K widths, K heights, K - 1 interior derivatives."""
  return 3 * bins - 1


def check_bins(bins) -> int:
  """K as an int; ValueError unless an integer >= 2."""
  if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
    raise ValueError(f"bins must be an integer >= 2; got {bins!r}")
  return bins


def check_bound(bound) -> float:
  """B as a float; ValueError unless finite and > 0."""
  if isinstance(bound, bool) or not 0 < float(bound) < float("inf"):
    raise ValueError(f"bound must be a finite number > 0; got {bound!r}")
  return float(bound)


def _knots(raw: tf.Tensor, bound: float) -> Tuple[tf.Tensor, ...]:
  """(x knots, y knots, derivatives), each [..., K + 1], from the raw
  parameters [..., 3K - 1]."""
  bins = (raw.shape[-1] + 1) // 3
  raw_widths, raw_heights, raw_derivatives = tf.split(
      raw, [bins, bins, bins - 1], axis=-1)

  def knots(raw_sizes):
    sizes = MIN_BIN + (1.0 - MIN_BIN * bins) * tf.nn.softmax(raw_sizes)
    inner = -bound + 2.0 * bound * tf.cumsum(sizes[..., :-1], axis=-1)
    ends = tf.ones_like(sizes[..., :1]) * bound
    return tf.concat([-ends, inner, ends], -1)  # the ends exactly +-B

  shift = math.log(math.expm1(1.0 - MIN_DERIVATIVE))  # softplus -> 1 - min
  derivatives = MIN_DERIVATIVE + tf.nn.softplus(raw_derivatives + shift)
  one = tf.ones_like(derivatives[..., :1])
  return knots(raw_widths), knots(raw_heights), tf.concat(
      [one, derivatives, one], -1)


def _bin_values(index_one_hot: tf.Tensor, knots: tf.Tensor):
  """(value at the bin's left knot, at its right knot) for each point."""
  left = tf.reduce_sum(index_one_hot * knots[..., :-1], -1)
  right = tf.reduce_sum(index_one_hot * knots[..., 1:], -1)
  return left, right


def _locate(value: tf.Tensor, knots: tf.Tensor) -> tf.Tensor:
  """One-hot [..., K] of the bin of each value in [-B, B] (the last bin
  holds B itself)."""
  bins = knots.shape[-1] - 1
  index = tf.reduce_sum(tf.cast(value[..., None] >= knots[..., 1:-1],
                                tf.int32), -1)
  return tf.one_hot(index, bins, dtype=value.dtype)


def _bins(value, raw, bound, by_y: bool):
  """The spline pieces holding `value` (a data point, or a base point when
  by_y): (x_k, w_k, y_k, h_k, d_k, d_k+1) with w, h the bin's width and
  height, each shaped like value."""
  x_knots, y_knots, derivatives = _knots(raw, bound)
  one_hot = _locate(value, y_knots if by_y else x_knots)
  x_left, x_right = _bin_values(one_hot, x_knots)
  y_left, y_right = _bin_values(one_hot, y_knots)
  d_left, d_right = _bin_values(one_hot, derivatives)
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
