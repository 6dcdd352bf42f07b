"""MaskedDense and MADE: the autoregressive network inside every MAF layer.

A MADE maps x (shape [..., D]) to P parameters per dimension (for MAF a
shift and a log-scale, P = 2; for a MADE MoG the weights, means and
log-scales of K Gaussians, P = 3K), where the parameters of dimension d
depend only on the inputs before d in the chosen order (Germain et al.
2015, arXiv 1502.03509; Papamakarios et al. 2017, arXiv 1705.07057,
sections 2.2 and 3.1).
"""

import contextlib
from typing import Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from maf_tf import masks
from maf_tf.checks import check_log_scale, check_one_of, check_positive_int

__all__ = ["MaskedDense", "MADE", "soft_clamp", "per_dimension",
           "affine_to_base",
           "affine_to_data", "affine_step", "autoregressive_inverse",
           "masked_kernel_copies", "frozen_kernels", "AFFINES",
           "INITIALIZATIONS"]


def soft_clamp(value: tf.Tensor, bound: float) -> tf.Tensor:
  """value / (1 + |value| / bound): slope 1 at 0, always inside
  (-bound, bound).

  Unlike a hard clip (zero gradient past the bound) or bound*tanh(v/bound)
  (whose gradient underflows to exactly 0 in float32 past |v| ~ 45 bound),
  the gradient decays polynomially and never becomes exactly zero, and
  finite inputs never produce NaN or Inf.
  """
  return value / (1.0 + tf.abs(value) / bound)


AFFINES = ("scale_then_shift", "shift_then_scale")
INITIALIZATIONS = ("identity", "uniform", "paper")  # of a MADE
LAYER_INITIALIZATIONS = ("uniform", "paper", "zeros")  # of a MaskedDense


def per_dimension(outputs: tf.Tensor, params: int) -> tf.Tensor:
  """A MADE's outputs [..., P D] (column p D + d: parameter p of
  dimension d) as [..., D, P]."""
  shape = tf.concat([tf.shape(outputs)[:-1], [params, -1]], 0)
  return tf.linalg.matrix_transpose(tf.reshape(outputs, shape))


def affine_to_base(x: tf.Tensor, shift: tf.Tensor, log_scale: tf.Tensor,
                   affine: str) -> Tuple[tf.Tensor, tf.Tensor]:
  """The elementwise data -> base map of one MADE; (z, log|dz/dx| of each
  element).

  'scale_then_shift': z = x exp(log_scale) + shift.
  'shift_then_scale': z = (x - shift) exp(-log_scale), the paper's eq. (3)
  with shift = m and log_scale = alpha.
  Both reach the same affine maps; they differ in how the network's
  outputs (and their gradients) scale with x (docs/quality.md).
  """
  if affine == "shift_then_scale":
    return (x - shift) * tf.exp(-log_scale), -log_scale
  return x * tf.exp(log_scale) + shift, log_scale


def affine_to_data(z: tf.Tensor, shift: tf.Tensor, log_scale: tf.Tensor,
                   affine: str) -> tf.Tensor:
  """The inverse of `affine_to_base` (base -> data), elementwise."""
  if affine == "shift_then_scale":
    return z * tf.exp(log_scale) + shift
  return (z - shift) * tf.exp(-log_scale)


def affine_step(made: "MADE"):
  """The per-dimension base -> data map of an affine MADE, for the
  samplers: (parameters [..., 2] = (shift, raw log-scale), noise [..., 1]
  = z) -> x [...]."""
  def step(parameters, noise):
    log_scale = soft_clamp(parameters[..., 1], made.log_scale_bound)
    return affine_to_data(noise[..., 0], parameters[..., 0], log_scale,
                          made.affine)
  return step


def autoregressive_inverse(made: "MADE", noise: tf.Tensor, step,
                           context: Optional[tf.Tensor] = None) -> tf.Tensor:
  """x with x_d = step(parameters_d(x), noise_d) for every d, by D full
  MADE passes (the reference sampler; any batch shape).

  noise: [..., D, Q], what `step` turns into x given the parameters (for
  MAF z, Q = 1). step(parameters [..., D, P], noise [..., D, Q]) -> x
  [..., D]. After pass k every x_d whose degree is <= k is final, because
  its parameters depend only on inputs of lower degree; one pass gives the
  degree-1 outputs, so D passes give all of them.
  """
  def one_pass(x):
    return step(made.parameters(x, context), noise)

  x = one_pass(tf.zeros_like(noise[..., 0]))
  _, x = tf.while_loop(lambda i, _: i < made.event_size,
                       lambda i, x: (i + 1, one_pass(x)),
                       (tf.constant(1), x))
  return x


def initializers(initialization: str, fan_in: int, seed: Optional[int]):
  """(kernel, bias) initialisers of a layer with `fan_in` inputs.

  'uniform': kernel and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as
  PyTorch's nn.Linear (and so zuko and nflows) start.
  'paper': kernel ~ N(0, 1)/sqrt(fan_in + 1), bias 0 (the MAF reference
  code).
  'zeros': kernel and bias 0.
  """
  if initialization == "zeros":
    return "zeros", "zeros"
  if initialization == "paper":
    return (keras.initializers.RandomNormal(
        stddev=1.0 / np.sqrt(fan_in + 1.0), seed=seed), "zeros")
  limit = 1.0 / np.sqrt(max(fan_in, 1))
  bias_seed = None if seed is None else seed + 7919
  return (keras.initializers.RandomUniform(-limit, limit, seed=seed),
          keras.initializers.RandomUniform(-limit, limit, seed=bias_seed))


MATMUL_DTYPES = (None, "bfloat16")
DEFAULT_LOG_SCALE_BOUND = 3.0


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
    initialization: 'uniform', 'paper' or 'zeros' (see `initializers`).
  """

  def __init__(self, in_degrees: Sequence[int], out_degrees: Sequence[int],
               strict: bool = False, activation: Optional[str] = None,
               seed: Optional[int] = None,
               matmul_dtype: Optional[str] = None,
               initialization: str = "uniform", **kwargs):
    super().__init__(**kwargs)
    check_one_of("matmul_dtype", matmul_dtype, MATMUL_DTYPES)
    check_one_of("initialization", initialization, LAYER_INITIALIZATIONS)
    self.matmul_dtype = matmul_dtype
    self.initialization = initialization
    self.in_degrees = [int(d) for d in in_degrees]
    self.out_degrees = [int(d) for d in out_degrees]
    self.strict = bool(strict)
    self.units = len(self.out_degrees)
    self.activation = keras.activations.get(activation)
    self.seed = seed
    self.mask = tf.constant(
        masks.mask(self.in_degrees, self.out_degrees, self.strict),
        dtype=self.compute_dtype)
    self._frozen = _FrozenKernel()

  def build(self, input_shape=None):
    n_in = len(self.in_degrees)
    kernel_init, bias_init = initializers(self.initialization, n_in,
                                           self.seed)
    self.kernel = self.add_weight(name="kernel", shape=(n_in, self.units),
                                  initializer=kernel_init)
    self.bias = self.add_weight(name="bias", shape=(self.units,),
                                initializer=bias_init)

  def masked_kernel(self) -> tf.Tensor:
    """kernel x mask; inside `frozen_kernels`, the frozen copy."""
    frozen = self._frozen.kernel
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
                  seed=self.seed, matmul_dtype=self.matmul_dtype,
                  initialization=self.initialization)
    return config


class _FrozenKernel:
  """A MaskedDense's frozen masked kernel, or None. A plain object, so
  Keras does not track what it holds as one of the layer's weights."""
  kernel = None


def masked_kernel_copies(model: keras.layers.Layer) -> dict:
  """{layer: tf.Variable holding its kernel x mask now} for every
  MaskedDense in `model` (see `frozen_kernels`)."""
  return {layer: tf.Variable(layer.masked_kernel(), trainable=False,
                             name=f"{layer.name}_masked_kernel")
          for layer in model._flatten_layers()
          if isinstance(layer, MaskedDense)}


@contextlib.contextmanager
def frozen_kernels(copies: dict):
  """Within the block, each MaskedDense in `copies` uses its copy instead of
  multiplying kernel x mask on every call; on exit they go back to their
  live kernels. For exports: a served model's weights never change, and
  for small batches the per-call mask products cost more than the matmuls
  (docs/serving.md).
  """
  for layer, copy in copies.items():
    layer._frozen.kernel = copy
  try:
    yield
  finally:
    for layer in copies:
      layer._frozen.kernel = None


@keras.saving.register_keras_serializable(package="maf_tf")
class MADE(keras.layers.Layer):
  """Masked autoencoder for distribution estimation with Gaussian outputs.

  call(x, context) returns (shift, log_scale), each of shape [..., D], with
  output d depending only on inputs earlier than d in `order`. The last
  layer is one masked dense of width P D (every parameter fused into one
  matmul; column p D + d is parameter p of dimension d), P = `num_params`
  (2 for shift and log-scale). `parameters(x, context)` gives them raw,
  shape [..., D, P], for any P; call() needs P = 2 and bounds the
  log-scale to (-bound, bound) by `soft_clamp`.
  A conditional MADE adds an unmasked W_c c to the first hidden layer, so
  the context reaches every output. `to_base(x, context)` applies the
  affine map (`affine_to_base`) in one pass.

  Args:
    event_size: D.
    hidden_units: sizes of the hidden layers, e.g. [512] or [1024, 1024].
    activation: 'relu' (default) or 'tanh' (or any Keras activation).
    hidden_degrees: 'sequential' (cyclic, the paper's default) or 'random'.
    order: input order: 'natural', 'reversed', 'random' or a permutation.
    context_size: size of the conditioning input; 0 for none.
    log_scale_bound: the bound of the log-scale.
    seed: seeds the random order/degrees and the initialisers.
    matmul_dtype: None, or 'bfloat16' for bfloat16 matmuls (see `_dense`).
    affine: 'scale_then_shift' or 'shift_then_scale' (the paper's); see
      `affine_to_base`.
    initialization: 'identity' (hidden layers 'uniform', the output layer
      zero: the MADE starts as the identity map z = x), 'uniform' or
      'paper' (every layer so); see `initializers`.
    num_params: P, the parameters per dimension (2: shift and log-scale).

  Example:
    >>> made = MADE(event_size=3, hidden_units=[8])
    >>> shift, log_scale = made(tf.zeros([2, 3]))
    >>> tuple(shift.shape)
    (2, 3)
  """

  def __init__(self, event_size: int, hidden_units: Sequence[int] = (512,),
               activation: str = "relu", hidden_degrees: str = "sequential",
               order="natural", context_size: int = 0,
               log_scale_bound: float = DEFAULT_LOG_SCALE_BOUND,
               seed: Optional[int] = None,
               matmul_dtype: Optional[str] = None,
               affine: str = "scale_then_shift",
               initialization: str = "identity", num_params: int = 2,
               **kwargs):
    super().__init__(**kwargs)
    check_one_of("affine", affine, AFFINES)
    check_positive_int("num_params", num_params)
    self.num_params = int(num_params)
    check_one_of("initialization", initialization, INITIALIZATIONS)
    self.affine = affine
    self.initialization = initialization
    self.event_size = int(event_size)
    self.matmul_dtype = matmul_dtype
    self.hidden_units = [int(u) for u in hidden_units]
    self.activation = activation
    self.hidden_degrees = hidden_degrees
    self.order = order if isinstance(order, str) else [int(i) for i in order]
    self.context_size = int(context_size)
    self.log_scale_bound = check_log_scale("log_scale_bound",
                                           log_scale_bound,
                                           self.compute_dtype)
    self.seed = seed
    if self.context_size < 0:
      raise ValueError(f"context_size must be >= 0; got {context_size}")
    self.degrees = masks.made_degrees(self.event_size, self.hidden_units,
                                      self.order, hidden_degrees, seed,
                                      conditional=self.context_size > 0)
    keras.activations.get(activation)  # fails early on an unknown name

    def layer_seed(i):
      return None if seed is None else seed * 1000 + i
    hidden_init = "uniform" if initialization == "identity" else \
        initialization
    self.hidden = [
        MaskedDense(self.degrees[i], self.degrees[i + 1],
                    activation=activation, seed=layer_seed(i),
                    matmul_dtype=matmul_dtype, initialization=hidden_init,
                    dtype=self.dtype_policy, name=f"hidden_{i}")
        for i in range(len(self.hidden_units))]
    self.output_layer = MaskedDense(
        self.degrees[-1], np.tile(self.degrees[0], self.num_params),
        strict=True, seed=layer_seed(len(self.hidden_units)),
        matmul_dtype=matmul_dtype,
        initialization="zeros" if initialization == "identity"
        else initialization, dtype=self.dtype_policy,
        name="shift_and_log_scale" if self.num_params == 2 else "parameters")
    if self.context_size:
      self.context_layer = keras.layers.Dense(
          self.hidden_units[0], use_bias=False,
          kernel_initializer=initializers(hidden_init, self.context_size,
                                           layer_seed(99))[0],
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

  def outputs(self, inputs, context=None) -> tf.Tensor:
    """The output layer, [..., P D]: column p D + d is parameter p of
    dimension d."""
    hidden = _dense(inputs, self.hidden[0].masked_kernel(),
                    self.matmul_dtype) + self.hidden[0].bias
    if self.context_size:
      if len(context.shape) == 1:  # one context [C] for every row
        hidden = hidden + self.context_layer(context[tf.newaxis])[0]
      else:
        hidden = hidden + self.context_layer(context)
    hidden = self.hidden[0].activation(hidden)
    for layer in self.hidden[1:]:
      hidden = layer(hidden)
    return self.output_layer(hidden)

  def parameters(self, inputs, context=None) -> tf.Tensor:
    """The raw (unbounded) parameters, [..., D, P]."""
    return per_dimension(self.outputs(inputs, context), self.num_params)

  def call(self, inputs, context=None):
    if self.num_params != 2:
      raise ValueError(f"call() gives a shift and a log-scale (num_params "
                       f"2); this MADE has num_params {self.num_params}: "
                       "use parameters()")
    shift, raw_log_scale = tf.split(self.outputs(inputs, context), 2,
                                    axis=-1)
    return shift, soft_clamp(raw_log_scale, self.log_scale_bound)

  def to_base(self, x: tf.Tensor, context: Optional[tf.Tensor] = None
              ) -> Tuple[tf.Tensor, tf.Tensor]:
    """x -> z in one pass; returns (z, log|det dz/dx|) per event."""
    shift, log_scale = self(x, context)
    z, log_slopes = affine_to_base(x, shift, log_scale, self.affine)
    return z, tf.reduce_sum(log_slopes, -1)

  def get_config(self):
    config = super().get_config()
    config.update(event_size=self.event_size, hidden_units=self.hidden_units,
                  activation=self.activation,
                  hidden_degrees=self.hidden_degrees, order=self.order,
                  context_size=self.context_size,
                  log_scale_bound=self.log_scale_bound, seed=self.seed,
                  matmul_dtype=self.matmul_dtype, affine=self.affine,
                  initialization=self.initialization,
                  num_params=self.num_params)
    return config
