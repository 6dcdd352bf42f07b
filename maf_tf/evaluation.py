"""Test-set scores in the MAF paper's protocol.

Unconditional: per-example log-likelihood in logit space (nats) and
bits/dim in pixel space. Conditional models are scored as
  log p(x) = logsumexp_y log p(x | y) - log K   (K labels, uniform prior),
and also as log p(x | y_true). Before scoring, the paper sets batch norm's
statistics to their values over the whole training set
(`recompute_batch_norm`).
"""

from typing import Dict, Optional

import keras
import numpy as np
import tensorflow as tf

from maf_tf.flows import MAF
from maf_tf.metrics import bits_per_dim
from maf_tf.pixel_flows import PixelFlow

__all__ = ["log_likelihoods", "marginal_over_labels", "recompute_batch_norm"]


def recompute_batch_norm(model: MAF, dataset: tf.data.Dataset) -> None:
  """Sets every batch norm's stored statistics to the exact mean and
  variance of its input over `dataset` (the paper's protocol: statistics
  over the whole training set). Batches are x or (x, context)."""
  for index, layer in enumerate(model.batch_norms):
    total, squares, count = 0.0, 0.0, 0
    for batch in dataset:
      x, context, _ = keras.utils.unpack_x_y_sample_weight(batch)
      inputs, _ = model.to_base(x, context, until_norm=index)
      inputs = tf.cast(inputs, tf.float64)
      total += tf.reduce_sum(inputs, 0)
      squares += tf.reduce_sum(tf.square(inputs), 0)
      count += int(tf.shape(inputs)[0])
    mean = total / count
    layer.moving_mean.assign(tf.cast(mean, layer.moving_mean.dtype))
    layer.moving_variance.assign(tf.cast(
        tf.maximum(squares / count - tf.square(mean), 0.0),
        layer.moving_variance.dtype))


def marginal_over_labels(per_label: tf.Tensor) -> tf.Tensor:
  """log (1/K) sum_y p(x|y) from log p(x|y) of shape [N, K]."""
  count = tf.cast(tf.shape(per_label)[-1], per_label.dtype)
  return tf.reduce_logsumexp(per_label, axis=-1) - tf.math.log(count)


def log_likelihoods(model: MAF, dataset: tf.data.Dataset
                    ) -> Dict[str, np.ndarray]:
  """Per-example scores over a dataset of x or (x, one_hot(label)).

  Returns 'log_likelihood' (logit space for a PixelMAF, else the model's
  space) and, for a PixelMAF, 'bits_per_dim'; for a conditional model also
  'conditional_log_likelihood' (at the true label) and the same for bits.
  A model conditioned on labels is marginalised over its context_size
  labels; one conditioned on features is scored at the batch's context.
  """
  num_classes = model.context_size if model.context_type == "labels" else 0
  pixel_model = isinstance(model, PixelFlow)

  def both(x, context):
    if pixel_model:
      return model.log_prob_pixel_and_logit(x, context)
    log_prob = model.log_prob(x, context)
    return log_prob, log_prob

  @tf.function
  def score(x, context: Optional[tf.Tensor] = None):
    if not num_classes:
      return both(x, context)
    pixel, logit = [], []
    for label in range(num_classes):
      labels = tf.one_hot(tf.fill(tf.shape(x)[:1], label), num_classes)
      p, l = both(x, labels)
      pixel.append(p)
      logit.append(l)
    pixel, logit = tf.stack(pixel, -1), tf.stack(logit, -1)
    true = tf.argmax(context, axis=-1)[:, None]
    return (marginal_over_labels(pixel), marginal_over_labels(logit),
            tf.gather(pixel, true, batch_dims=1)[:, 0],
            tf.gather(logit, true, batch_dims=1)[:, 0])

  parts = [score(*tf.nest.flatten(batch)) for batch in dataset]
  columns = [np.concatenate([p[i].numpy() for p in parts])
             for i in range(len(parts[0]))]
  results = {"log_likelihood": columns[1]}
  if pixel_model:
    results["bits_per_dim"] = bits_per_dim(columns[0], model.event_size)
  if num_classes:
    results["conditional_log_likelihood"] = columns[3]
    if pixel_model:
      results["conditional_bits_per_dim"] = bits_per_dim(columns[2],
                                                         model.event_size)
  return results
