"""Exact MAF sampling at the arithmetic cost of about one MADE pass.

The reference sampler (`maf_tf.made.autoregressive_inverse`) runs the
whole MADE D times. Here every hidden unit is computed once: a unit of
degree k depends only on the inputs of degree <= k, so it is final as
soon as input k is known.

Inputs are generated in degree order, in blocks of T degrees:
  * at the start of a block, one matmul per layer adds the contributions of
    everything finished before the block to the pre-activations of the
    block's units and outputs;
  * inside the block, step t sets x from its noise (for MAF, z) and its
    parameters in the block's output accumulator (for MAF the shift and
    log-scale, `affine_step`; any elementwise map whose inverse is
    closed-form works, such as the MADE MoG's), adds x's kernel
    row to the block's first layer (a rank-one update), finishes the units
    of degree s+t+1 in every layer and adds them to the next layer's (or
    the output's) accumulator.
The T steps of a block are unrolled; blocks run in a tf.while_loop. Only
block-sized tensors change at every step, so a step is a few small ops
(the per-op overhead, not arithmetic, is what costs at D steps per layer).

Units are laid out by degree in "slots": degree k owns slots k*G .. k*G+G-1
(G = the largest number of units sharing a degree in that layer); empty
slots have zero weights, so they contribute nothing. Units of degree 0
(conditional MADEs) are finished before the first block.

A flow picks its sampler per MADE with `invert_made_with` ('fast' or the
'naive' reference) and gets its base -> data map compiled by XLA from
`compiled_to_data`. Below FAST_FROM_EVENT_SIZE dimensions 'fast' runs the
reference's D full passes, which are then the faster exact sampler: the
per-step work of the slot layout outweighs D - 1 extra passes (measured
in docs/performance.md).
"""

import weakref
from typing import Optional

import numpy as np
import tensorflow as tf

from maf_tf.checks import check_one_of
from maf_tf.made import MADE, affine_step, autoregressive_inverse

__all__ = ["SAMPLERS", "FAST_FROM_EVENT_SIZE", "CHUNK_ROWS",
           "GRAPH_FROM_VALUES", "sample_in_chunks", "draw", "drawable",
           "graph_draw", "check_sampler", "fast_made_to_data",
           "fast_autoregressive_inverse", "invert_made_with",
           "compiled_to_data"]

SAMPLERS = ("fast", "naive")
FAST_FROM_EVENT_SIZE = 16  # 'fast' is the D-pass reference below this
CHUNK_ROWS = 100_000  # samples per call of sample_in_chunks
GRAPH_FROM_VALUES = 10**6  # samples x D from which it traces graph_draw
_COMPILED = weakref.WeakKeyDictionary()  # flow -> {sampler: tf.function}


def sample_in_chunks(flow, num_samples: int, contexts=None, seed: int = 0,
                     chunk_rows: Optional[int] = None):
  """num_samples samples for each context row (or num_samples unconditional
  ones for contexts None), `chunk_rows` (CHUNK_ROWS) at a time: yields
  (the context row of each sample [k], samples [k, D] as NumPy), every
  row's in the same pass, so memory stays bounded whatever the count.
  Chunk c draws with the stateless seed [seed, c]. A flow or an ensemble
  is sampled by `graph_draw` from GRAPH_FROM_VALUES sampled values on
  (tracing it costs seconds, which a few samples do not repay), anything
  else by its `sample(n, context, seed=...)`."""
  chunk_rows = chunk_rows or CHUNK_ROWS
  if contexts is not None:
    contexts = np.asarray(contexts, np.float32)
  total = num_samples * (1 if contexts is None else len(contexts))
  sample = graph_draw(flow) if _worth_a_graph(flow, total) else (
      lambda n, context, seed: flow.sample(int(n), context, seed=seed))
  for chunk, start in enumerate(range(0, total, chunk_rows)):
    row_of = np.arange(start, min(start + chunk_rows, total)) // num_samples
    given = None if contexts is None else tf.constant(contexts[row_of])
    yield row_of, np.asarray(sample(tf.constant(len(row_of)), given,
                                    tf.constant([seed, chunk], tf.int32)))


def _worth_a_graph(model, total: int) -> bool:
  """Whether sample_in_chunks draws `total` samples of `model` with
  `graph_draw`: a flow or ensemble whose graph is traced already, or
  enough values (GRAPH_FROM_VALUES) to repay tracing it."""
  return drawable(model) and (
      "draw" in _COMPILED.get(model, {}) or
      total * model.event_size >= GRAPH_FROM_VALUES)


def drawable(model) -> bool:
  """Whether `draw` can sample `model`: a flow (a `base` and `to_data`)
  or an ensemble of them."""
  members = getattr(model, "members", None)
  if members is not None:
    return all(drawable(m) for m in members)
  return hasattr(model, "base") and hasattr(model, "to_data")


def draw(model, num_samples, context, seed, xla: bool = False):
  """num_samples exact samples [n, D] of a flow, in a graph or eagerly;
  of an Ensemble (anything with `members`), each from a member drawn
  uniformly (by the stateless `seed` [2]), every member drawing its share
  in one pass. xla: run a flow's base -> data map compiled by XLA where
  that measured faster, below FAST_FROM_EVENT_SIZE dimensions (XLA fuses
  the D-pass reference; the fast sampler's loop runs faster as a plain
  graph at large batches, and XLA's random numbers are slow on CPU, so
  the noise is drawn outside it)."""
  members = getattr(model, "members", None)
  if members is None:
    z = model.base.sample(num_samples, model.layer_context(context), seed)
    if xla and model.event_size < FAST_FROM_EVENT_SIZE:
      return compiled_to_data(model)(z, context)
    return model.to_data(z, context)
  member_of = tf.random.stateless_uniform(
      [num_samples], seed + [0, 1], maxval=len(members), dtype=tf.int32)
  rows = tf.dynamic_partition(tf.range(num_samples), member_of,
                              len(members))
  return tf.dynamic_stitch(rows, [
      draw(member, tf.size(taken), None if context is None
           else tf.gather(context, taken), seed + [0, k + 2], xla)
      for k, (member, taken) in enumerate(zip(members, rows))])


def graph_draw(model):
  """`draw(model, num_samples, context or None, seed, xla=True)` as a
  tf.function traced once per model (num_samples a scalar tensor, the
  context's rows of any count): for drawing many samples from Python."""
  functions = _COMPILED.setdefault(model, {})
  if "draw" not in functions:
    ref = weakref.ref(model)
    functions["draw"] = tf.function(
        lambda n, context, seed: draw(ref(), n, context, seed, xla=True),
        reduce_retracing=True)
  return functions["draw"]


def check_sampler(sampler: str) -> None:
  """ValueError naming the choices unless `sampler` is one of SAMPLERS."""
  check_one_of("sampler", sampler, SAMPLERS)


def _runs_fast(made: MADE, sampler: str, rank: int, batched_rank: int
               ) -> bool:
  """Whether `sampler` (checked) runs the fast path for a batch of this
  rank: 'fast', the batched rank, and FAST_FROM_EVENT_SIZE dimensions."""
  check_sampler(sampler)
  return sampler == "fast" and rank == batched_rank and \
      made.event_size >= FAST_FROM_EVENT_SIZE


def invert_made_with(made: MADE, noise: tf.Tensor, step,
                     context: Optional[tf.Tensor] = None,
                     sampler: str = "fast") -> tf.Tensor:
  """x from noise [..., D, Q] through any elementwise `step` (see
  `fast_autoregressive_inverse`): 'fast' for a batch [B, D, Q] of at
  least FAST_FROM_EVENT_SIZE dimensions, else the reference
  `autoregressive_inverse` (D full passes, any batch shape)."""
  if _runs_fast(made, sampler, noise.shape.rank, 3):
    return fast_autoregressive_inverse(made, noise, step, context)
  return autoregressive_inverse(made, noise, step, context)


def compiled_to_data(flow, sampler: str = "fast"):
  """flow.to_data(z, context, sampler) compiled with XLA: one tf.function
  per flow and sampler, kept here rather than on the Keras model so that
  exports never trace it."""
  check_sampler(sampler)
  functions = _COMPILED.setdefault(flow, {})
  if sampler not in functions:
    ref = weakref.ref(flow)
    functions[sampler] = tf.function(
        lambda z, context: ref().to_data(z, context, sampler),
        jit_compile=True)
  return functions[sampler]


class _Slots:
  """The slot layout of one hidden layer for degrees 0..num_degrees - 1."""

  def __init__(self, degrees: np.ndarray, num_degrees: int):
    counts = np.bincount(degrees, minlength=num_degrees)
    self.width = max(1, int(counts.max()))
    self.size = num_degrees * self.width
    # unit index in each slot; empty slots point at an extra zero unit
    self.unit = np.full(self.size, len(degrees), np.int32)
    for k in range(num_degrees):
      units = np.flatnonzero(degrees == k)
      self.unit[k * self.width:k * self.width + len(units)] = units
    self.degree = np.repeat(np.arange(num_degrees), self.width)


def _take(kernel: tf.Tensor, bias: tf.Tensor, rows: np.ndarray,
          cols: np.ndarray) -> tf.Tensor:
  """kernel[rows][:, cols] with the bias[cols] appended as a last row; the
  index len(kernel) (row or column) selects zeros.

  The bias rides in the kernel (the states carry a row of ones) because a
  matmul + 1-D bias + later matmul is rewritten by TF's oneDNN graph pass
  into a fused op that has no kernel ("Fusion is not implemented").
  """
  n_in = kernel.shape[0]
  rows = np.append(np.where(rows == n_in, n_in + 1, rows), n_in)
  kernel = tf.pad(tf.concat([kernel, bias[None, :]], 0), [[0, 1], [0, 1]])
  return tf.gather(tf.gather(kernel, rows), cols, axis=1)


def _with_ones(state: tf.Tensor) -> tf.Tensor:
  """[n, B] -> [n + 1, B], the last row ones (the bias input)."""
  return tf.concat([state, tf.ones_like(state[:1])], 0)


def fast_made_to_data(made: MADE, z: tf.Tensor,
                      context: Optional[tf.Tensor] = None,
                      block: int = 8) -> tf.Tensor:
  """z [B, D] -> x [B, D], exactly as `made_to_data`, computing every
  hidden unit once (see the module docstring and
  `fast_autoregressive_inverse`)."""
  return fast_autoregressive_inverse(made, z[..., None], affine_step(made),
                                     context, block)


def fast_autoregressive_inverse(made: MADE, noise: tf.Tensor, step,
                                context: Optional[tf.Tensor] = None,
                                block: int = 8) -> tf.Tensor:
  """noise [B, D, Q] -> x [B, D], exactly as
  `maf_tf.made.autoregressive_inverse(made, noise, step, context)`,
  computing every hidden unit once (see the module docstring).

  step(parameters [B, P], noise [B, Q]) -> x [B] maps one dimension;
  P = made.num_params. `block` is T, the degrees unrolled per loop
  iteration (docs/performance.md gives the measured choice: larger
  blocks compile far more slowly under XLA). An empty batch (B = 0) gives
  an empty result (the scatter updates below have no kernel for empty
  outputs).
  """
  empty = lambda: tf.zeros_like(noise[..., 0])  # noqa: E731
  if noise.shape[0] == 0:
    return empty()
  if noise.shape[0] is not None:
    return _fast_inverse(made, noise, step, context, block)
  return tf.cond(tf.shape(noise)[0] > 0,
                 lambda: _fast_inverse(made, noise, step, context, block),
                 empty)


def _fast_inverse(made: MADE, noise: tf.Tensor, step,
                  context: Optional[tf.Tensor], block: int) -> tf.Tensor:
  size, dtype = made.event_size, noise.dtype
  params = made.num_params
  blocks = -(-size // block)
  padded = blocks * block                 # inputs, padded to whole blocks
  order = np.argsort(made.input_degrees)  # position p has degree p + 1
  positions = np.full(padded, size, np.int32)
  positions[:size] = order
  slots = [_Slots(d, padded + 1) for d in made.degrees[1:]]
  layers = made.hidden
  # Kernels (bias as last row) in slot and sorted input coordinates, built
  # only once the noise is known: otherwise a graph builds every layer's
  # (large, for random degrees) copies at once, before the first layer runs.
  rows = [positions] + [s.unit for s in slots]
  last = slots[-1]
  # Output columns of block b: parameter 0 of its T dimensions, then
  # parameter 1, ... (column p D + d of the MADE's output layer).
  real = positions < size
  out_cols = np.stack([np.where(real, positions + p * size, params * size)
                       for p in range(params)])
  out_cols = out_cols.reshape(params, blocks, block).transpose(
      1, 0, 2).reshape(blocks, params * block)
  with tf.control_dependencies([noise]):
    kernels = [_take(layer.masked_kernel(), layer.bias, rows[l],
                     slots[l].unit) for l, layer in enumerate(layers)]
    # out_kernel[b]: last-layer slots -> the parameters of block b.
    out_kernel = tf.transpose(tf.reshape(
        _take(made.output_layer.masked_kernel(), made.output_layer.bias,
              last.unit, out_cols.reshape(-1)),
        [last.size + 1, blocks, params * block]), [1, 0, 2])
  batch = tf.shape(noise)[0]
  noise_sorted = tf.gather(tf.pad(noise, [[0, 0], [0, 1], [0, 0]]),
                           positions, axis=1)
  pre_context = 0.0
  if made.context_size:
    pre_context = tf.gather(
        tf.pad(made.context_layer(context), [[0, 0], [0, 1]]),
        slots[0].unit, axis=1)

  # Units of degree 0 see only the context (and each other). States are
  # transposed ([inputs or slots + 1, B]) with the row of ones last.
  states = [_with_ones(tf.zeros(tf.stack([padded, batch]), dtype))]
  for l, layer in enumerate(layers):
    pre = tf.matmul(states[l], kernels[l], transpose_a=True) + (
        pre_context if l == 0 else 0.0)
    states.append(_with_ones(tf.transpose(
        layer.activation(pre) * tf.constant(slots[l].degree == 0, dtype))))

  def run_block(b, *states):
    start = b * block  # degrees start+1 .. start+block
    x_state, hidden = states[0], list(states[1:])
    acc, local = [], []
    for l, s in enumerate(slots):
      begin = (start + 1) * s.width
      acc.append(tf.matmul(states[l], tf.slice(
          kernels[l], [0, begin], [kernels[l].shape[0], block * s.width]),
          transpose_a=True))
      if l == 0:
        acc[0] += 0.0 if not made.context_size else tf.slice(
            pre_context, [0, begin], [batch, block * s.width])
        local.append(tf.slice(kernels[0], [start, begin],
                              [block, block * s.width]))
      else:
        below_begin = (start + 1) * slots[l - 1].width
        local.append(tf.slice(kernels[l], [below_begin, begin],
                              [block * slots[l - 1].width, block * s.width]))
    out_k = tf.gather(out_kernel, b)
    out_acc = tf.matmul(hidden[-1], out_k, transpose_a=True)
    out_local = tf.slice(out_k, [(start + 1) * last.width, 0],
                         [block * last.width, params * block])
    noise_block = tf.unstack(tf.slice(noise_sorted, [0, start, 0],
                                      [batch, block, -1]), axis=1)
    rows0 = tf.unstack(local[0])
    xs, finished = [], [[] for _ in slots]
    for t in range(block):
      x = step(tf.reshape(out_acc, [-1, params, block])[:, :, t],
               noise_block[t])
      xs.append(x)
      new = x[:, None]
      for l, s in enumerate(slots):
        if l == 0:
          acc[0] += new * rows0[t]
        else:
          width = slots[l - 1].width
          acc[l] += tf.matmul(new, local[l][t * width:(t + 1) * width])
        group = slice(t * s.width, (t + 1) * s.width)
        new = layers[l].activation(acc[l][:, group])
        finished[l].append(new)
      out_acc += tf.matmul(new, out_local[t * last.width:
                                          (t + 1) * last.width])
    rows = (start + tf.range(block))[:, None]
    x_state = tf.tensor_scatter_nd_update(x_state, rows, tf.stack(xs))
    for l, s in enumerate(slots):
      rows = ((start + 1) * s.width + tf.range(block * s.width))[:, None]
      hidden[l] = tf.tensor_scatter_nd_update(
          hidden[l], rows, tf.transpose(tf.concat(finished[l], 1)))
    return (b + 1, x_state, *hidden)

  _, x_sorted, *_ = tf.while_loop(lambda b, *_: b < blocks, run_block,
                                  (tf.constant(0), *states))
  return tf.gather(tf.transpose(x_sorted), np.argsort(order), axis=1)
