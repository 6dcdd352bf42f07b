"""tf.data pipelines that dequantise 8-bit images (or pass float data).

Every random choice is a stateless function of (seed, epoch, position), so
the stream of batches is the same on every run, and a run resumed at epoch
e (and step s) sees exactly the batches an uninterrupted run would.

  * training: per epoch a fresh shuffle and fresh noise u ~ U(0, 1)^D,
    x = (v + u) / 256 (the MAF paper's dequantisation); optional
    horizontal flips double the training set (the paper's CIFAR-10
    protocol).
  * evaluation: one fixed draw of noise per image, in order.

Float tables with discrete (integer-valued) columns get the same
treatment on those columns: x + u, u ~ U(0, 1), fresh per epoch in
training and one fixed draw per row in evaluation.

Batches are x of shape [B, D] (flattened H, W, C) or, for a conditional
model, (x, one_hot(label)), or (x, context) for a feature context (the
"labels" given as floats [N, C]).
"""

from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from maf_tf.data.specs import DataError

__all__ = ["training_dataset", "evaluation_dataset", "steps_per_epoch"]

_EPOCH_STRIDE = 1 << 24  # distinct noise seeds per (epoch, batch)


def steps_per_epoch(num_examples: int, batch_size: int,
                    flips: bool = False) -> int:
  """Full batches per training epoch (the last partial batch is dropped)."""
  steps = (num_examples * (2 if flips else 1)) // batch_size
  if steps < 1:
    raise DataError(f"batch size {batch_size} is larger than the "
                    f"{num_examples} training examples")
  return steps


# Noise of discrete columns stays this far inside (0, 1), so that a value
# on its lower bound maps strictly inside it in float32.
DISCRETE_MARGIN = 1e-3


def _as_float(values: tf.Tensor, seed: tf.Tensor,
              discrete: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Dequantises uint8 (v + u) / 256 with stateless noise; floats pass,
  but for their `discrete` columns (a 0/1 mask [D]): v + u."""
  if values.dtype != tf.uint8:
    values = tf.cast(values, tf.float32)
    if discrete is None:
      return values
    noise = tf.random.stateless_uniform(
        tf.shape(values), seed=seed, minval=DISCRETE_MARGIN,
        maxval=1.0 - DISCRETE_MARGIN)
    return values + noise * discrete
  noise = tf.random.stateless_uniform(tf.shape(values), seed=seed)
  return (tf.cast(values, tf.float32) + noise) / 256.0


def _prepare(data: np.ndarray, labels: Optional[np.ndarray],
             num_classes: int) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
  data = np.asarray(data)
  if data.dtype != np.uint8 and not np.issubdtype(data.dtype, np.floating):
    raise DataError(f"data must be uint8 images or floats; got dtype "
                    f"{data.dtype}")
  if num_classes and labels is None:
    raise DataError("a conditional pipeline needs labels; got None")
  if num_classes and np.ndim(labels) == 2:  # a feature context
    if np.shape(labels) != (len(data), num_classes):
      raise DataError(f"a feature context must have shape [{len(data)}, "
                      f"{num_classes}]; got {list(np.shape(labels))}")
    return tf.constant(data), tf.constant(labels, tf.float32)
  one_hot = (tf.one_hot(np.asarray(labels), num_classes)
             if num_classes else None)
  return tf.constant(data), one_hot


def _mask(discrete, size: int) -> Optional[tf.Tensor]:
  """The 0/1 mask [size] of discrete column indices (None if none)."""
  if not discrete:
    return None
  mask = np.zeros(size, np.float32)
  mask[list(discrete)] = 1.0
  return tf.constant(mask)


def _output(x, one_hot, index):
  return x if one_hot is None else (x, tf.gather(one_hot, index))


def training_dataset(data: np.ndarray, labels: Optional[np.ndarray] = None, *,
                     batch_size: int, seed: int, num_classes: int = 0,
                     flips: bool = False, start_epoch: int = 0,
                     skip_steps: int = 0,
                     discrete=()) -> tf.data.Dataset:
  """An endless stream of training batches, epoch after epoch.

  Args:
    data: uint8 images [N, H, W, C] (dequantised) or float vectors [N, D].
    labels: int labels [N]; needed when num_classes > 0.
    batch_size: examples per batch (partial batches are dropped).
    seed: seeds shuffling, noise and nothing else.
    num_classes: > 0 to yield (x, one_hot(label)) for a conditional model.
    flips: add the horizontally flipped images (images only).
    start_epoch, skip_steps: where to start, for resuming a run.
    discrete: indices of a float table's integer-valued columns.
  """
  values, one_hot = _prepare(data, labels, num_classes)
  mask = _mask(discrete, values.shape[-1])
  count = len(data)
  total = count * (2 if flips else 1)
  steps = steps_per_epoch(count, batch_size, flips)
  if flips and values.shape.rank != 4:
    raise DataError("flips need images [N, H, W, C]; got shape "
                    f"{list(values.shape)}")

  def batch(epoch, step, index):
    source = index % count
    examples = tf.gather(values, source)
    if flips:
      flipped = (index >= count)[:, None, None, None]
      examples = tf.where(flipped, tf.reverse(examples, axis=[2]), examples)
    examples = tf.reshape(examples, [batch_size, -1])
    noise_seed = tf.stack([tf.constant(seed, tf.int64),
                           epoch * _EPOCH_STRIDE + step])
    return _output(_as_float(examples, noise_seed, mask), one_hot, source)

  def epoch_batches(epoch):
    order = tf.random.experimental.stateless_shuffle(
        tf.range(total, dtype=tf.int64),
        seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
    indices = tf.data.Dataset.from_tensor_slices(order[:steps * batch_size])
    return indices.batch(batch_size, drop_remainder=True).enumerate().map(
        lambda step, index: batch(epoch, step, index),
        num_parallel_calls=tf.data.AUTOTUNE)

  epochs = tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max)
  dataset = epochs.flat_map(epoch_batches).skip(skip_steps)
  return dataset.prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(data: np.ndarray, labels: Optional[np.ndarray] = None,
                       *, batch_size: int, seed: int,
                       num_classes: int = 0,
                       discrete=()) -> tf.data.Dataset:
  """All examples once, in order, with one fixed draw of noise per image
  (or discrete value of a table; the same whatever the batch size)."""
  values, one_hot = _prepare(data, labels, num_classes)
  flat = tf.reshape(values, [len(data), -1])
  mask = _mask(discrete, flat.shape[-1])

  def example(index):
    noise_seed = tf.stack([tf.constant(seed, tf.int64), -1 - index])
    return _output(_as_float(flat[index], noise_seed, mask), one_hot, index)

  dataset = tf.data.Dataset.range(len(data)).map(
      example, num_parallel_calls=tf.data.AUTOTUNE)
  # tf.data allocates a batch for batch_size examples: never more than all.
  batch_size = max(1, min(batch_size, len(data)))
  return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
