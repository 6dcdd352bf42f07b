"""Exact MAF sampling at the arithmetic cost of about one MADE pass.

The reference sampler (`made_to_data`) runs the whole MADE D times. Here
each hidden unit is computed once: a unit of degree k depends only on the
inputs of degree <= k, so it is complete as soon as input k is known.
Generating inputs in degree order, step k
  1. reads shift_k and log-scale_k from the output accumulator (complete:
     output k sees only units of degree < k), sets x_k = z_k exp(s_k) + m_k;
  2. adds x_k times its (masked) kernel row to the first layer's
     pre-activations (a rank-one update);
  3. finishes the units of degree k in every layer, in order, and adds
     their activations times their kernel rows to the next layer's
     pre-activations (or to the output accumulator).
Over all D steps every kernel entry is used once: one pass of arithmetic,
in D small steps. Units of degree 0 (conditional MADEs) are finished first.
"""

from typing import Optional

import numpy as np
import tensorflow as tf

from maf_tf.made import MADE, soft_clamp

__all__ = ["fast_made_to_data"]


def _groups(degrees: np.ndarray, event_size: int):
  """(index [D+1, G], valid [D+1, G]): the units of each degree 0..D,
  padded to the largest group with index 0 and valid 0."""
  groups = [np.flatnonzero(degrees == k) for k in range(event_size + 1)]
  width = max(1, max(len(g) for g in groups))
  index = np.zeros((event_size + 1, width), np.int32)
  valid = np.zeros((event_size + 1, width), np.float32)
  for k, group in enumerate(groups):
    index[k, :len(group)] = group
    valid[k, :len(group)] = 1.0
  return index, valid


def fast_made_to_data(made: MADE, z: tf.Tensor,
                      context: Optional[tf.Tensor] = None) -> tf.Tensor:
  """z [B, D] -> x [B, D], exactly as `made_to_data`, computing every
  hidden unit once (see the module docstring)."""
  size = made.event_size
  dtype = z.dtype
  order = np.argsort(made.input_degrees).astype(np.int32)  # by degree
  groups = [_groups(d, size) for d in made.degrees[1:]]
  layers = made.hidden
  first = layers[0].masked_kernel()
  # next_kernels[l]: rows of layer l's units into layer l+1 (or the output).
  next_kernels = [layer.masked_kernel() for layer in layers[1:]]
  next_kernels.append(made.output_layer.masked_kernel())
  biases = [layer.bias for layer in layers[1:]] + [made.output_layer.bias]
  batch = tf.shape(z)[0]

  first_pre = tf.broadcast_to(tf.convert_to_tensor(layers[0].bias),
                              [batch, layers[0].units])
  if made.context_size:
    first_pre = first_pre + made.context_layer(context)
  pres = [first_pre] + [
      tf.broadcast_to(tf.convert_to_tensor(b), [batch, b.shape[0]])
      for b in biases]

  def finish(degree, pres):
    """Finishes the units of `degree` in every layer, in order."""
    pres = list(pres)
    for l, layer in enumerate(layers):
      index = tf.gather(groups[l][0], degree)
      valid = tf.cast(tf.gather(groups[l][1], degree), dtype)
      units = layer.activation(tf.gather(pres[l], index, axis=1)) * valid
      pres[l + 1] = pres[l + 1] + tf.matmul(
          units, tf.gather(next_kernels[l], index))
    return pres

  pres = finish(0, pres)
  xs = tf.TensorArray(dtype, size=size)

  def step(k, xs, *pres):
    i = tf.gather(order, k)
    out = pres[-1]
    shift = out[:, i]
    log_scale = soft_clamp(out[:, size + i], made.log_scale_bound)
    x_i = z[:, i] * tf.exp(log_scale) + shift
    pres = list(pres)
    pres[0] = pres[0] + x_i[:, None] * first[i][None, :]
    pres = finish(k + 1, pres)
    return (k + 1, xs.write(k, x_i), *pres)

  _, xs, *_ = tf.while_loop(lambda k, *_: k < size, step,
                            (tf.constant(0), xs, *pres))
  by_degree = tf.transpose(xs.stack())  # [B, D], column k = degree k + 1
  return tf.gather(by_degree, np.argsort(order), axis=1)
