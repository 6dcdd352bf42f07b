"""An embedding network for a flow's context: a Keras layer applied to the
(standardised) context before the layers and the base see it, trained
with the flow and saved with it. A large observation vector (an image, a
time series of simulations) is summarised into a few features, so that
each MADE's context kernel is small and the summary is learned for the
density at hand (neural posterior estimation's embedding net).
"""

from typing import Optional, Sequence

import keras
import tensorflow as tf

from maf_tf.checks import check_hidden_units

__all__ = ["mlp_embedding", "embedded_size", "mlp_weights"]


def mlp_embedding(units: Sequence[int], seed: int = 0, dtype=None,
                  activation: str = "relu") -> keras.layers.Layer:
  """A fully connected network of `units` widths: `activation` after every
  layer but the last, which is linear (its width is the embedding's)."""
  units = check_hidden_units(units, "embedding_units")
  layers = [keras.layers.Dense(
      width, activation=activation if k < len(units) - 1 else None,
      kernel_initializer=keras.initializers.GlorotUniform(seed + k),
      dtype=dtype, name=f"embedding_{k}") for k, width in enumerate(units)]
  return keras.Sequential(layers, name="embedding")


def mlp_weights(units: Sequence[int], context_size: int) -> int:
  """How many weights mlp_embedding(units) holds for a context of
  context_size."""
  widths = [context_size, *units]
  return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def embedded_size(embedding: Optional[keras.layers.Layer],
                  context_size: int, dtype="float32") -> int:
  """The width of what `embedding` makes of a context [N, context_size]
  (building it), or context_size without one; refused in one line if
  its output is not a batch of vectors [N, E]."""
  if embedding is None:
    return context_size
  if not context_size:
    raise ValueError("an embedding network needs a context: give "
                     "context_size > 0 (or context columns)")
  if not isinstance(embedding, keras.layers.Layer):
    raise ValueError(f"the embedding network must be a Keras layer; got "
                     f"{type(embedding).__name__}")
  try:
    shape = tuple(embedding(tf.zeros([2, context_size], dtype)).shape)
  except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
    first = str(error).strip().splitlines()[0] if str(error) else ""
    raise ValueError(f"the embedding network cannot take a context of "
                     f"shape [N, {context_size}]: {first}") from None
  if len(shape) != 2 or shape[0] != 2 or not shape[1]:
    raise ValueError(f"the embedding network must map a context [N, "
                     f"{context_size}] to a vector [N, E]; it gave shape "
                     f"[{', '.join(['N', *map(str, shape[1:])])}]")
  return int(shape[1])
