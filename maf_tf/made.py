"""MaskedDense and MADE: the autoregressive network inside every MAF layer.

A MADE maps x (shape [..., D]) to a shift and a log-scale per dimension,
where output d depends only on the inputs before d in the chosen order
(Germain et al. 2015, arXiv 1502.03509; Papamakarios et al. 2017, arXiv
1705.07057, section 3.1).
"""

import contextlib
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from maf_tf import masks

__all__ = ["MaskedDense", "MADE", "soft_clamp", "masked_kernel_copies",
           "frozen_kernels"]


def soft_clamp(value: tf.Tensor, bound: float) -> tf.Tensor:
  """value / (1 + |value| / bound): slope 1 at 0, always inside (-bound, bound).

  Unlike a hard clip (zero gradient past the bound) or bound*tanh(v/bound)
  (whose gradient underflows to exactly 0 in float32 past |v| ~ 45 bound),
  the gradient decays polynomially and never becomes exactly zero, and
  finite inputs never produce NaN or Inf.
  """
  return value / (1.0 + tf.abs(value) / bound)


def _paper_initializer(fan_in: int, seed: Optional[int]):
  """N(0, 1) / sqrt(fan_in + 1), the MAF reference code's initialisation."""
  return keras.initializers.RandomNormal(
      stddev=1.0 / np.sqrt(fan_in + 1.0), seed=seed)


MATMUL_DTYPES = (None, "bfloat16")


def _dense(inputs: tf.Tensor, kernel: tf.Tensor,
           matmul_dtype: Optional[str] = None) -> tf.Tensor:
  """inputs[..., n_in] @ kernel[n_in, n_out] for any number of batch dims.

  With matmul_dtype='bfloat16' both operands are rounded to bfloat16 for
  the product (AMX/AVX512-BF16 on CPUs that have them) and the result is
  cast back; everything else stays in the inputs' dtype.
  """
  dtype = inputs.dtype
  if matmul_dtype is not None:
    inputs, kernel = tf.cast(inputs, matmul_dtype), tf.cast(kernel,
                                                            matmul_dtype)
  if inputs.shape.rank == 2:
    out = tf.matmul(inputs, kernel)
  else:
    flat = tf.reshape(inputs, [-1, tf.shape(inputs)[-1]])
    out = tf.reshape(tf.matmul(flat, kernel),
                     tf.concat([tf.shape(inputs)[:-1], [-1]], axis=0))
  return tf.cast(out, dtype)


@keras.saving.register_keras_serializable(package="maf_tf")
class MaskedDense(keras.layers.Layer):
  """A dense layer whose kernel is multiplied by a fixed 0/1 mask in call().

  The mask is built from the degrees of the layer's inputs and outputs
  (see `maf_tf.masks.mask`), so the configuration stays small and the mask
  is exact after a save/load round trip.

  Args:
    in_degrees: degrees of the inputs, length n_in.
    out_degrees: degrees of the outputs, length n_out (= units).
    strict: True for an output layer (out > in), False for hidden layers.
    activation: Keras activation name or None.
    seed: initialiser seed.
    matmul_dtype: None (the layer's dtype) or 'bfloat16' (see `_dense`).
  """

  def __init__(self, in_degrees: Sequence[int], out_degrees: Sequence[int],
               strict: bool = False, activation: Optional[str] = None,
               seed: Optional[int] = None,
               matmul_dtype: Optional[str] = None, **kwargs):
    super().__init__(**kwargs)
    if matmul_dtype not in MATMUL_DTYPES:
      raise ValueError(f"matmul_dtype must be one of {MATMUL_DTYPES}; got "
                       f"{matmul_dtype!r}")
    self.matmul_dtype = matmul_dtype
    self.in_degrees = [int(d) for d in in_degrees]
    self.out_degrees = [int(d) for d in out_degrees]
    self.strict = bool(strict)
    self.units = len(self.out_degrees)
    self.activation = keras.activations.get(activation)
    self.seed = seed
    self.mask = tf.constant(
        masks.mask(self.in_degrees, self.out_degrees, self.strict),
        dtype=self.compute_dtype)

  def build(self, input_shape=None):
    n_in = len(self.in_degrees)
    self.kernel = self.add_weight(
        name="kernel", shape=(n_in, self.units),
        initializer=_paper_initializer(n_in, self.seed))
    self.bias = self.add_weight(name="bias", shape=(self.units,),
                                initializer="zeros")

  def masked_kernel(self) -> tf.Tensor:
    frozen = _FROZEN_KERNELS.get(id(self))
    return self.kernel * self.mask if frozen is None else frozen

  def call(self, inputs):
    return self.activation(
        _dense(inputs, self.masked_kernel(), self.matmul_dtype) + self.bias)

  def compute_output_shape(self, input_shape):
    return tuple(input_shape[:-1]) + (self.units,)

  def get_config(self):
    config = super().get_config()
    config.update(in_degrees=self.in_degrees, out_degrees=self.out_degrees,
                  strict=self.strict,
                  activation=keras.activations.serialize(self.activation),
                  seed=self.seed, matmul_dtype=self.matmul_dtype)
    return config


_FROZEN_KERNELS = {}  # id(MaskedDense) -> its copy, while frozen_kernels


def masked_kernel_copies(model: keras.layers.Layer) -> dict:
  """{layer: tf.Variable holding its kernel x mask now} for every
  MaskedDense in `model` (see `frozen_kernels`)."""
  return {layer: tf.Variable(layer.masked_kernel(), trainable=False,
                             name=f"{layer.name}_masked_kernel")
          for layer in model._flatten_layers()  # pylint: disable=protected-access
          if isinstance(layer, MaskedDense)}


@contextlib.contextmanager
def frozen_kernels(copies: dict):
  """Within the block, each MaskedDense in `copies` uses its copy instead of
  multiplying kernel x mask on every call; on exit they go back to their
  live kernels. For exports: a served model's weights never change, and
  for small batches the per-call mask products cost more than the matmuls
  (seed MNIST log_prob of one example: 5.1 ms with them, 2.3 ms without).
  """
  _FROZEN_KERNELS.update({id(layer): copy for layer, copy in copies.items()})
  try:
    yield
  finally:
    for layer in copies:
      _FROZEN_KERNELS.pop(id(layer), None)


@keras.saving.register_keras_serializable(package="maf_tf")
class MADE(keras.layers.Layer):
  """Masked autoencoder for distribution estimation with Gaussian outputs.

  call(x, context) returns (shift, log_scale), each of shape [..., D], with
  output d depending only on inputs earlier than d in `order`. The last
  layer is one masked dense of width 2D (shift and log-scale fused into one
  matmul). The log-scale is bounded to (-bound, bound) by `soft_clamp`.
  A conditional MADE adds an unmasked W_c c to the first hidden layer, so
  the context reaches every output.

  Args:
    event_size: D.
    hidden_units: sizes of the hidden layers, e.g. [512] or [1024, 1024].
    activation: 'relu' (default) or 'tanh' (or any Keras activation).
    hidden_degrees: 'sequential' (cyclic, the paper's default) or 'random'.
    order: input order: 'natural', 'reversed', 'random' or a permutation.
    context_size: size of the conditioning input; 0 for none.
    log_scale_bound: the bound of the log-scale (10 by default).
    seed: seeds the random order/degrees and the initialisers.
    matmul_dtype: None, or 'bfloat16' for bfloat16 matmuls (see `_dense`).

  Example:
    >>> made = MADE(event_size=3, hidden_units=[8])
    >>> shift, log_scale = made(tf.zeros([2, 3]))
    >>> tuple(shift.shape)
    (2, 3)
  """

  def __init__(self, event_size: int, hidden_units: Sequence[int] = (512,),
               activation: str = "relu", hidden_degrees: str = "sequential",
               order="natural", context_size: int = 0,
               log_scale_bound: float = 10.0, seed: Optional[int] = None,
               matmul_dtype: Optional[str] = None, **kwargs):
    super().__init__(**kwargs)
    self.event_size = int(event_size)
    self.matmul_dtype = matmul_dtype
    self.hidden_units = [int(u) for u in hidden_units]
    self.activation = activation
    self.hidden_degrees = hidden_degrees
    self.order = order if isinstance(order, str) else [int(i) for i in order]
    self.context_size = int(context_size)
    self.log_scale_bound = float(log_scale_bound)
    self.seed = seed
    if self.context_size < 0:
      raise ValueError(f"context_size must be >= 0; got {context_size}")
    if self.log_scale_bound <= 0:
      raise ValueError(f"log_scale_bound must be > 0; got {log_scale_bound}")
    self.degrees = masks.made_degrees(self.event_size, self.hidden_units,
                                      self.order, hidden_degrees, seed,
                                      conditional=self.context_size > 0)
    keras.activations.get(activation)  # fails early on an unknown name
    layer_seed = (lambda i: None if seed is None else seed * 1000 + i)
    self.hidden = [
        MaskedDense(self.degrees[i], self.degrees[i + 1],
                    activation=activation, seed=layer_seed(i),
                    matmul_dtype=matmul_dtype, dtype=self.dtype_policy,
                    name=f"hidden_{i}")
        for i in range(len(self.hidden_units))]
    self.output_layer = MaskedDense(
        self.degrees[-1], np.tile(self.degrees[0], 2), strict=True,
        seed=layer_seed(len(self.hidden_units)), matmul_dtype=matmul_dtype,
        dtype=self.dtype_policy, name="shift_and_log_scale")
    if self.context_size:
      self.context_layer = keras.layers.Dense(
          self.hidden_units[0], use_bias=False,
          kernel_initializer=_paper_initializer(self.context_size,
                                                layer_seed(99)),
          dtype=self.dtype_policy, name="context")

  @property
  def input_degrees(self) -> np.ndarray:
    return self.degrees[0]

  def build(self, input_shape=None):
    size = self.event_size
    for layer in self.hidden:
      layer.build((None, size))
      size = layer.units
    self.output_layer.build((None, size))
    if self.context_size:
      self.context_layer.build((None, self.context_size))

  def call(self, inputs, context=None):
    hidden = _dense(inputs, self.hidden[0].masked_kernel(),
                    self.matmul_dtype) + self.hidden[0].bias
    if self.context_size:
      hidden = hidden + self.context_layer(context)
    hidden = self.hidden[0].activation(hidden)
    for layer in self.hidden[1:]:
      hidden = layer(hidden)
    outputs = self.output_layer(hidden)
    shift, raw_log_scale = tf.split(outputs, 2, axis=-1)
    return shift, soft_clamp(raw_log_scale, self.log_scale_bound)

  def get_config(self):
    config = super().get_config()
    config.update(event_size=self.event_size, hidden_units=self.hidden_units,
                  activation=self.activation,
                  hidden_degrees=self.hidden_degrees, order=self.order,
                  context_size=self.context_size,
                  log_scale_bound=self.log_scale_bound, seed=self.seed,
                  matmul_dtype=self.matmul_dtype)
    return config
