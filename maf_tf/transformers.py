"""Elementwise transformers: the one-dimensional, monotone map each
autoregressive layer applies to every dimension, its parameters given by
the layer's MADE.

A transformer says how many parameters it takes per dimension, maps data
to base with its log-slopes, and maps one step back (what both samplers
need, `maf_tf.sampling`). `MAF(transformer=...)` takes any of them, by
name or as an object; a new one is a subclass here (or anywhere) plus
`register`:

    affine   z = x exp(s) + t, or the paper's z = (x - m) exp(-alpha)
    spline   a monotonic rational-quadratic spline (`maf_tf.splines`;
             what `NSF` uses)
    linear   a monotone piecewise-linear map (`LinearSpline`)
"""

import inspect
from typing import Union

import tensorflow as tf

from maf_tf.checks import (check_int_at_least, check_one_of,
                           check_positive_finite)
from maf_tf.made import (AFFINES, DEFAULT_LOG_SCALE_BOUND, affine_to_base,
                         affine_to_data, per_dimension, soft_clamp)
from maf_tf.splines import (DEFAULT_BINS, DEFAULT_BOUND, MIN_BIN,
                            spline_params_per_dimension, spline_to_base,
                            spline_to_data)

__all__ = ["Transformer", "Affine", "Spline", "LinearSpline", "TRANSFORMERS",
           "register", "transformer_from", "per_dimension", "check_bins",
           "MAX_BINS"]

TRANSFORMERS = {}  # name -> Transformer subclass
MAX_BINS = int(0.5 / MIN_BIN)  # bins of at least MIN_BIN leave half to share


def check_bins(bins) -> int:
  """bins as an int, unless it is not an integer in 2..MAX_BINS."""
  bins = check_int_at_least("bins", bins, 2)
  if bins > MAX_BINS:
    raise ValueError(f"bins must be at most {MAX_BINS}; got {bins!r} (each "
                     f"bin is at least {MIN_BIN} of the interval)")
  return bins


def register(cls):
  """Class decorator: makes `cls` known by its `name` to
  transformer_from, MAF's `transformer` argument and saved configs."""
  TRANSFORMERS[cls.name] = cls
  return cls


class Transformer:
  """One monotone map per dimension with `params_per_dimension` raw
  parameters (any real values: the transformer bounds them itself).

  Subclasses set `name`, and give `params_per_dimension`, `to_base` and
  `step`; `get_config` returns their constructor's arguments."""

  name = None
  params_per_dimension = None
  standard_scale = 1.0  # the spread `standardize` gives each dimension
  # The identity outside an interval: data must be standardised into it
  # (MAF's standardize defaults to this).
  bounded = False

  @classmethod
  def arguments(cls) -> tuple:
    """The names of its constructor's arguments (what get_config holds)."""
    return tuple(name for name in inspect.signature(cls.__init__).parameters
                 if name != "self")

  def to_base(self, x: tf.Tensor, outputs: tf.Tensor):
    """(z, log|dz/dx| per element), both like x [..., D], from the MADE's
    outputs [..., P D] at x (see `per_dimension`)."""
    raise NotImplementedError

  def step(self, parameters: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
    """The inverse for any leading shape: x [...] from the parameters
    [..., P] of each element and its noise [..., 1] (its base value)."""
    raise NotImplementedError

  def get_config(self) -> dict:
    return {}

  def spec(self) -> dict:
    """{'name': ..., **get_config()}: what transformer_from rebuilds."""
    return {"name": self.name, **self.get_config()}


@register
class Affine(Transformer):
  """z = x exp(s) + t ('scale_then_shift'), or the MAF paper's eq. (3),
  z = (x - m) exp(-alpha) ('shift_then_scale'); the log-scale is
  soft-clamped into (-log_scale_bound, log_scale_bound)."""

  name = "affine"
  params_per_dimension = 2

  def __init__(self, affine: str = "scale_then_shift",
               log_scale_bound: float = DEFAULT_LOG_SCALE_BOUND):
    self.affine = check_one_of("affine", affine, AFFINES)
    self.log_scale_bound = log_scale_bound

  def to_base(self, x, outputs):
    shift, raw = tf.split(outputs, 2, axis=-1)
    return affine_to_base(x, shift, soft_clamp(raw, self.log_scale_bound),
                          self.affine)

  def step(self, parameters, noise):
    log_scale = soft_clamp(parameters[..., 1], self.log_scale_bound)
    return affine_to_data(noise[..., 0], parameters[..., 0], log_scale,
                          self.affine)

  def get_config(self):
    return {"affine": self.affine, "log_scale_bound": self.log_scale_bound}


class _Binned(Transformer):
  """A map on [-bound, bound] in `bins` pieces, the identity outside;
  `standardize` spreads each dimension so that STANDARD_WIDTH standard
  deviations reach the bound."""

  STANDARD_WIDTH = 3.0
  bounded = True

  def __init__(self, bins: int = DEFAULT_BINS, bound: float = DEFAULT_BOUND):
    self.bins = check_bins(bins)
    self.bound = check_positive_finite("bound", bound)
    self.standard_scale = self.bound / self.STANDARD_WIDTH

  def get_config(self):
    return {"bins": self.bins, "bound": self.bound}


@register
class Spline(_Binned):
  """A monotonic rational-quadratic spline (Durkan et al. 2019),
  `maf_tf.splines`: 3K - 1 parameters per dimension."""

  name = "spline"

  @property
  def params_per_dimension(self):
    return spline_params_per_dimension(self.bins)

  def to_base(self, x, outputs):
    return spline_to_base(
        x, per_dimension(outputs, self.params_per_dimension), self.bound)

  def step(self, parameters, noise):
    return spline_to_data(noise[..., 0], parameters, self.bound)


@register
class LinearSpline(_Binned):
  """A monotone piecewise-linear map through K + 1 knots on [-bound,
  bound] (Müller et al. 2019, "Neural Importance Sampling"), the identity
  outside: 2K parameters per dimension, the K bin widths and K heights
  (each a softmax, at least MIN_BIN of the interval); all zero is the
  identity. Its slope jumps at the knots, so its density is piecewise
  constant in each dimension's direction."""

  name = "linear"

  @property
  def params_per_dimension(self):
    return 2 * self.bins

  def _piece(self, value, raw, by_y: bool):
    """(x_k, w_k, y_k, h_k) of the bin holding `value` in [-B, B]."""
    sizes = tf.nn.softmax(tf.reshape(raw, tf.concat(
        [tf.shape(raw)[:-1], [2, self.bins]], 0)))
    sizes = MIN_BIN + (1.0 - MIN_BIN * self.bins) * sizes
    inner = tf.cumsum(sizes[..., :-1], axis=-1)
    ends = tf.ones_like(sizes[..., :1])
    knots = self.bound * (2.0 * tf.concat(
        [tf.zeros_like(ends), inner, ends], -1) - 1.0)  # [..., 2, K + 1]
    index = tf.clip_by_value(tf.reduce_sum(tf.cast(
        value[..., None] >= knots[..., int(by_y), :], tf.int32), -1) - 1,
                             0, self.bins - 1)
    # [..., (x, y), (left, right)]
    ends = tf.gather(knots, tf.stack([index, index + 1], -1), axis=-1,
                     batch_dims=index.shape.rank)
    x_k, x_k1, y_k, y_k1 = tf.unstack(tf.reshape(
        ends, tf.concat([tf.shape(index), [4]], 0)), axis=-1)
    return x_k, x_k1 - x_k, y_k, y_k1 - y_k

  def to_base(self, x, outputs):
    raw = per_dimension(outputs, self.params_per_dimension)
    inside = tf.abs(x) < self.bound
    x_in = tf.clip_by_value(x, -self.bound, self.bound)
    x_k, width, y_k, height = self._piece(x_in, raw, by_y=False)
    z = y_k + (x_in - x_k) * height / width
    log_slope = tf.math.log(height) - tf.math.log(width)
    return (tf.where(inside, z, x),
            tf.where(inside, log_slope, tf.zeros_like(log_slope)))

  def step(self, parameters, noise):
    z = noise[..., 0]
    inside = tf.abs(z) < self.bound
    z_in = tf.clip_by_value(z, -self.bound, self.bound)
    x_k, width, y_k, height = self._piece(z_in, parameters, by_y=True)
    return tf.where(inside, x_k + (z_in - y_k) * width / height, z)


def transformer_from(spec: Union[str, dict, Transformer], **defaults
                     ) -> Transformer:
  """A Transformer from itself, a name of TRANSFORMERS (its constructor
  given those of `defaults` it takes) or a spec {'name': ..., **config}."""
  if isinstance(spec, Transformer):
    return spec
  config = dict(spec) if isinstance(spec, dict) else {"name": spec}
  cls = TRANSFORMERS[check_one_of("transformer", config.pop("name", None),
                                  tuple(TRANSFORMERS))]
  if not isinstance(spec, dict):
    config = {k: v for k, v in defaults.items() if k in cls.arguments()}
  return cls(**config)
