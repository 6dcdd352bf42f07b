"""Checks of what a flow is given: each returns the input as a tensor of
the flow's dtype or fails at once with one line naming what was expected
and what was given."""

from typing import Optional

import numpy as np
import tensorflow as tf

__all__ = ["events", "batched_events", "refuse_non_finite", "context_for",
           "sample_context", "sample_seed", "INT32_MAX"]

INT32_MAX = 2**31 - 1  # sample counts and seeds end up as int32


def _check_events(dtype: tf.DType, shape: tf.TensorShape, size: int,
                  what: str, wanted) -> None:
  if not dtype.is_floating:
    raise TypeError(f"{what} must be a floating-point tensor ({wanted}); got "
                    f"dtype {dtype.name}")
  if shape.rank == 0 or (shape.rank is not None and
                         shape[-1] not in (None, size)):
    shape = shape.as_list() if shape.rank is not None else "unknown"
    raise ValueError(f"{what} must have shape [..., {size}]; got shape "
                     f"{shape}")


def events(value, size: int, what: str, dtype) -> tf.Tensor:
  """`value` as floating-point [..., size] in `dtype`."""
  if isinstance(value, (tf.RaggedTensor, tf.SparseTensor)):
    raise TypeError(f"{what} must be a dense tensor [..., {size}]; got a "
                    f"{type(value).__name__} (use .to_tensor() or "
                    "tf.sparse.to_dense first)")
  value = tf.convert_to_tensor(value)
  _check_events(value.dtype, value.shape, size, what, dtype)
  return tf.cast(value, dtype)


def batched_events(element_spec, size: int, dtype) -> None:
  """Checks a tf.data.Dataset's element_spec for fit: x (alone or first in
  a tuple) dense, floating-point and batched [batch, size]."""
  spec = element_spec[0] if isinstance(element_spec, tuple) else element_spec
  if not isinstance(spec, tf.TensorSpec):
    raise TypeError(f"a dataset for fit must yield dense x [batch, {size}] "
                    f"or (x, context) pairs; got elements {spec}")
  if spec.shape.rank is not None and spec.shape.rank < 2:
    raise ValueError(f"a dataset for fit must be batched: x [batch, {size}]; "
                     f"got elements of shape {spec.shape.as_list()} (call "
                     ".batch(...) on it first)")
  _check_events(spec.dtype, spec.shape, size, "x", dtype)


def context_for(context, context_size: int, what: str, dtype,
                x: Optional[tf.Tensor] = None) -> Optional[tf.Tensor]:
  """The context of a flow with `context_size` (0: none) for the call
  `what`; ValueError if the flow takes none, or one of another width, or
  if its batch shape and x's (when given and known) do not broadcast."""
  if not context_size:
    if context is not None:
      raise ValueError(f"this flow is unconditional (context_size=0); {what} "
                       "got a context")
    return None
  if context is None:
    raise ValueError(f"this flow is conditional: {what} needs a context of "
                     f"shape [..., {context_size}]; got None")
  context = events(context, context_size, "context", dtype)
  if x is not None:
    try:
      tf.broadcast_static_shape(x.shape[:-1], context.shape[:-1])
    except ValueError:
      raise ValueError(
          f"context's batch shape {context.shape[:-1].as_list()} does not "
          f"match x's {x.shape[:-1].as_list()}") from None
  return context


def sample_context(n, context, context_size: int,
                   dtype) -> Optional[tf.Tensor]:
  """The context of `n` samples: [C] shared by all or [n, C]; n must be a
  non-negative integer (or a tensor)."""
  if tf.is_tensor(n):
    if not n.dtype.is_integer or n.shape.rank != 0:
      raise ValueError(f"n must be a non-negative integer; got a tensor of "
                       f"dtype {n.dtype.name} and shape {n.shape.as_list()}")
    if tf.executing_eagerly() and not 0 <= int(n) <= INT32_MAX:
      raise ValueError(f"n must be an integer in 0..{INT32_MAX}; got "
                       f"{int(n)}")
  elif isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not (
      0 <= n <= INT32_MAX):
    raise ValueError(f"n must be an integer in 0..{INT32_MAX}; got {n!r}")
  context = context_for(context, context_size, "sample", dtype)
  if context is not None and tf.executing_eagerly() and not bool(
      tf.reduce_all(tf.math.is_finite(context))):
    raise ValueError("sample's context must be finite; it holds NaN or Inf "
                     "(samples drawn at it would all be NaN)")
  if context is not None and context.shape.rank == 1:
    return tf.broadcast_to(context, [n, context_size])
  if tf.is_tensor(n) and tf.executing_eagerly():
    n = int(n)
  if context is not None and not tf.is_tensor(n) and \
      context.shape[0] not in (None, n):
    raise ValueError(f"context must have shape [{context_size}] or "
                     f"[n={n}, {context_size}]; got shape "
                     f"{context.shape.as_list()}")
  return context


def sample_seed(seed) -> Optional[tf.Tensor]:
  """A stateless seed [2] from an int in 0..INT32_MAX (the range of the
  SavedModel's int32 seed, so both give the same samples), a seed tensor
  [2], or None."""
  if seed is None or tf.is_tensor(seed):
    return seed
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or \
      not 0 <= seed <= INT32_MAX:
    raise ValueError(f"seed must be an integer in 0..{INT32_MAX}, a "
                     f"stateless seed tensor [2] or None; got {seed!r}")
  return tf.constant([int(seed), 0], dtype=tf.int32)


def _first(indices, count: int = 5) -> str:
  shown = ", ".join(str(i) for i in indices[:count])
  return shown + (", ..." if len(indices) > count else "")


def refuse_non_finite(values, what: str, offset: int = 0) -> None:
  """ValueError (one line) naming the rows and columns of values [N, ...]
  that hold NaN or an infinity; row numbers start at `offset`."""
  values = np.asarray(values)
  if not np.issubdtype(values.dtype, np.floating) or not values.size:
    return
  bad = ~np.isfinite(values.reshape(len(values), -1))
  if bad.any():
    rows, columns = np.flatnonzero(bad.any(1)), np.flatnonzero(bad.any(0))
    raise ValueError(
        f"{what} holds NaN or infinite values in {len(rows)} of "
        f"{len(values)} rows (rows {_first(rows + offset)}; columns "
        f"{_first(columns)}); remove or impute them first")
