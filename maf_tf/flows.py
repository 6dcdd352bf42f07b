"""The MAF model: MADE layers, batch norm and permutations as one flow.

`MAF` is a keras.Model that owns every variable. From it you get
  * log_prob(x): one fused pass data -> base (what training calls),
  * sample(n): base -> data, exact,
  * distribution(): a tfd.TransformedDistribution over a tfb.Chain of
    MAFBijector, BatchNormBijector and tfb.Permute, equal to log_prob.

Papamakarios, Pavlakou and Murray 2017, "Masked Autoregressive Flow for
Density Estimation", arXiv 1705.07057.
"""

from typing import Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from maf_tf import inputs
from maf_tf.bijectors import BatchNormBijector, BatchNormLayer, MAFBijector
from maf_tf.bijectors.columns import ColumnBijector
from maf_tf.bijectors.standardize import (ADAPT_ROWS, Standardization,
                                          StandardizationBijector)
from maf_tf.distributions import make_base
from maf_tf.embedding import embedded_size, mlp_embedding, mlp_weights
from maf_tf.checks import (check_hidden_units, check_one_of,
                           check_positive_int)
from maf_tf.made import DEFAULT_LOG_SCALE_BOUND, MADE
from maf_tf.preprocessing import (CONTEXT_TYPES, check_preprocessing,
                                  column_maps)
from maf_tf.sampling import check_sampler, compiled_to_data, invert_made_with
from maf_tf.training import FlowTraining
from maf_tf.transformers import Transformer, transformer_from

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ["MAF", "IAF", "layer_permutations", "BATCH_NORM_PLACEMENTS",
           "ORDERINGS", "DTYPE_POLICIES", "batch_norm_positions"]

BATCH_NORM_PLACEMENTS = (None, "between", "after_each")
ORDERINGS = ("alternate", "random")
DTYPE_POLICIES = (None, "mixed_bfloat16")  # None: float32 (or the global)


def _flow_dtypes(dtype, matmul_dtype: Optional[str]):
  """(the flow's dtype, its MADE matmul dtype) for a Keras dtype policy
  (`dtype`, else the global one). A mixed policy's compute dtype is used
  for the MADE matmuls only; sums, log-dets, batch norm and the base stay
  in its variable dtype (float32): a log density adds up D terms, more
  than bfloat16's 8-bit mantissa holds, and Keras's guide keeps
  numerically sensitive layers in float32 the same way."""
  policy = (keras.config.dtype_policy() if dtype is None
            else keras.dtype_policies.get(dtype))
  if policy.compute_dtype == policy.variable_dtype:
    return dtype, matmul_dtype
  if policy.compute_dtype != "bfloat16" or matmul_dtype not in (
      None, "bfloat16"):
    raise ValueError(f"dtype policy must be one of float32, float64 or "
                     f"mixed_bfloat16 (with matmul_dtype None or bfloat16); "
                     f"got {policy.name!r}")
  return policy.variable_dtype, "bfloat16"


def _check_layers(num_layers, base: str) -> None:
  """num_layers >= 1, or 0 for a base density that is a model on its own
  ('made_mog', 'gaussian'); 'gaussian' (fitted in closed form) only 0."""
  if base == "gaussian" and num_layers != 0:
    raise ValueError("base 'gaussian' is fitted in closed form, without "
                     f"layers: it needs num_layers=0; got {num_layers!r}")
  if base in ("made_mog", "gaussian") and num_layers == 0:
    return
  check_positive_int("num_layers", num_layers)


def batch_norm_positions(placement: Optional[str], num_layers: int) -> range:
  """The MADE layers followed by a batch norm: none, every one but the
  last ('between') or every one ('after_each', the paper's)."""
  check_one_of("batch_norm", placement, BATCH_NORM_PLACEMENTS)
  return {"between": range(num_layers - 1), "after_each": range(num_layers),
          None: range(0)}[placement]


def layer_permutations(event_size: int, num_layers: int,
                       ordering: Union[str, Sequence] = "alternate",
                       seed: Optional[int] = None) -> list:
  """The permutation applied (data -> base) before each MADE layer.

  Args:
    event_size: D.
    num_layers: number of MADE layers.
    ordering: 'alternate' (natural first, then reverse the variables before
      every further layer: the paper's choice), 'random' (a seeded random
      permutation before every layer), or a list of `num_layers`
      permutations of 0..D-1 (layer k sees x[..., perm_k] of its input).
    seed: seed for 'random'.

  Returns:
    list of int arrays or None (no permutation), one per layer.
  """
  if isinstance(ordering, str):
    if ordering == "alternate":
      return ([None] + [np.arange(event_size)[::-1]] * (num_layers - 1)
              )[:num_layers]
    if ordering == "random":
      rng = np.random.default_rng(seed)
      return [rng.permutation(event_size) for _ in range(num_layers)]
    raise ValueError("ordering must be 'alternate', 'random' or a list of "
                     f"{num_layers} permutations; got {ordering!r}")
  perms = [np.asarray(p) for p in ordering]
  identity = np.arange(event_size)
  if len(perms) != num_layers or any(
      not np.array_equal(np.sort(p), identity) for p in perms):
    raise ValueError(f"ordering must list {num_layers} permutations of "
                     f"0..{event_size - 1}; got {len(perms)} entries")
  return [None if np.array_equal(p, identity) else p for p in perms]


def permute(x: tf.Tensor, permutation) -> tf.Tensor:
  """x[..., permutation]. A reversal (every layer but the first of the
  'alternate' ordering) is a tf.reverse: the gradient of a gather is a
  scatter (UnsortedSegmentSum), which is slower (docs/performance.md)."""
  permutation = np.asarray(permutation)
  if np.array_equal(permutation, np.arange(len(permutation))[::-1]):
    return tf.reverse(x, [-1])
  return tf.gather(x, permutation, axis=-1)


MAX_LOADED_WEIGHTS = 1_000_000_000  # a loaded model larger is refused


def weight_count(event_size: int, hidden_units: Sequence[int],
                 num_layers: int, base: str = "normal",
                 num_components: int = 10,
                 params_per_dimension: int = 2, context_size: int = 0,
                 embedding_units: Optional[Sequence[int]] = None) -> int:
  """How many weights a MAF of these arguments allocates (masked kernels
  counted whole, as they are): a MADE with `params_per_dimension` outputs
  per dimension per layer (an NSF's 3K - 1), and one with 3K for a MADE
  MoG base, each with a context kernel [context width, first hidden
  width], the context width being the embedding network's if there is
  one. A RealNVP's two coupling networks per layer hold about as many
  as a MADE."""
  total = 0
  if embedding_units:
    total += mlp_weights(embedding_units, context_size)
    context_size = embedding_units[-1]
  def made(outputs_per_dimension: int) -> int:
    widths = [event_size + context_size, *hidden_units]
    hidden = sum(a * b for a, b in zip(widths, widths[1:]))
    return hidden + hidden_units[-1] * event_size * outputs_per_dimension
  total += num_layers * made(params_per_dimension)
  if base == "made_mog":
    total += made(3 * num_components)
  if base == "gaussian":  # per class: sums, squares, mean, Cholesky factor
    total += max(1, context_size) * (2 * event_size**2 + 2 * event_size + 1)
  return total


@keras.saving.register_keras_serializable(package="maf_tf")
class MAF(FlowTraining, keras.Model):
  """Masked Autoregressive Flow: a stack of MADEs with Gaussian base.

  Density (data -> base) is one pass per layer; sampling (base -> data) is
  D sequential passes per layer. All arguments are keyword arguments.

  Args:
    event_size: D, the dimension of the data.
    num_layers: number of MADE layers (0: the base density alone, for a
      'made_mog' or 'gaussian' base).
    hidden_units: hidden layer sizes of each MADE.
    activation: 'relu' or 'tanh' (any Keras activation).
    hidden_degrees: 'sequential' or 'random'.
    ordering: see `layer_permutations`.
    batch_norm: None, 'between' (after every MADE but the last) or
      'after_each' (after every MADE, as the paper).
    batch_norm_momentum, batch_norm_eps: batch-norm settings.
    base: 'normal' (standard normal), 'mixture' (a learnable Gaussian
      mixture with `num_components` components), 'made_mog' (a MADE MoG,
      `maf_tf.mog`, with `num_components` Gaussians per dimension, of the
      same MADE sizes and in the reverse of the last MADE's order: the
      paper's MAF MoG) or 'gaussian' (a full-covariance Gaussian fitted in
      closed form, `maf_tf.gaussian`; only with num_layers=0).
    context_size: size of the conditioning input (0: unconditional).
    context_type: 'features' (a real vector, the default) or 'labels'
      (one-hot class labels): what the context is, which the serving
      signatures follow (a float context, or integer labels).
    embedding_units: None, or the widths of an MLP embedding network
      (`maf_tf.embedding.mlp_embedding`) applied to the standardised
      context before the layers and the base see it, trained with them.
    embedding: any Keras layer mapping a context [N, context_size] to
      [N, E], used as the embedding network instead (saved with the
      flow if it is serialisable).
    preprocessing: None, or the record of `maf_tf.preprocessing` (per
      column bounds and standardisation, and the context's): carried in
      front of the layers, so log_prob and sample are in the data's units.
    standardize: put a per-dimension standardisation in front of the
      layers, set from the data by the first fit() (or by `adapt`). None
      (the default): when the transformer is `bounded` (spline, linear),
      whose maps leave data outside [-bound, bound] unmoved.
    transformer: each layer's elementwise map, a name of
      `maf_tf.transformers.TRANSFORMERS` ('affine', MAF's; 'spline', NSF's)
      or a `Transformer`; the MADE gives its parameters.
    log_scale_bound: bound on every MADE log-scale.
    affine: 'scale_then_shift' (z = x exp(s) + t) or 'shift_then_scale'
      (the paper's z = (x - m) exp(-alpha)); see `maf_tf.made`. With
      log_scale_bound, what transformer='affine' is made of.
    initialization: 'identity' (every MADE starts as the identity: zero
      output layer, hidden layers as 'uniform'), 'uniform' (PyTorch's
      U(+-1/sqrt(fan_in)) for kernels and biases) or 'paper'
      (N(0, 1)/sqrt(fan_in + 1), zero biases).
    seed: seeds masks, permutations and initialisers.
    matmul_dtype: None, or 'bfloat16' to run the MADE matmuls of log_prob
      and training in bfloat16 (weights, sums and sampling stay float32).
      Keras's switch does the same: dtype='mixed_bfloat16', or
      keras.config.set_dtype_policy('mixed_bfloat16') before building
      (the flow then reports dtype float32 and matmul_dtype bfloat16).
    dtype: a Keras dtype policy (float32, float64 or mixed_bfloat16).

  Example:
    >>> flow = MAF(event_size=2, num_layers=2, hidden_units=[16])
    >>> tuple(flow.log_prob(tf.zeros([3, 2])).shape)
    (3,)
  """

  image_shape = None  # (H, W, C) for a flow over images (PixelMAF)
  # True for the Gaussian baseline (maf_tf.models.Gaussian): fit()
  # accumulates its statistics instead of taking gradient steps.
  fits_in_closed_form = False

  def __init__(self, *, event_size: int, num_layers: int = 5,
               hidden_units: Sequence[int] = (512,), activation: str = "relu",
               hidden_degrees: str = "sequential",
               ordering: Union[str, Sequence] = "alternate",
               batch_norm: Optional[str] = None,
               batch_norm_momentum: float = 0.95, batch_norm_eps: float = 1e-5,
               base: str = "normal", num_components: int = 10,
               context_size: int = 0, context_type: Optional[str] = None,
               embedding_units: Optional[Sequence[int]] = None,
               embedding: Optional[keras.layers.Layer] = None,
               preprocessing: Optional[dict] = None,
               standardize: Optional[bool] = None,
               log_scale_bound: float = DEFAULT_LOG_SCALE_BOUND,
               affine: str = "scale_then_shift",
               transformer: Union[str, dict, Transformer] = "affine",
               initialization: str = "identity",
               seed: int = 0, matmul_dtype: Optional[str] = None, **kwargs):
    kwargs["dtype"], matmul_dtype = _flow_dtypes(kwargs.get("dtype"),
                                                 matmul_dtype)
    super().__init__(**kwargs)
    with_norm = batch_norm_positions(batch_norm, num_layers)
    check_positive_int("event_size", event_size)
    _check_layers(num_layers, base)
    if base == "gaussian" and not self.fits_in_closed_form:
      raise ValueError("base 'gaussian' is fitted in closed form: build it "
                       "as maf_tf.Gaussian (PixelGaussian over images)")
    hidden_units = check_hidden_units(hidden_units)
    self.event_size = int(event_size)
    self.num_layers = num_layers
    self.transformer = transformer_from(transformer, affine=affine,
                                        log_scale_bound=log_scale_bound)
    if standardize is None:
      standardize = self.transformer.bounded
    self.context_size = int(context_size)
    self.context_type = None
    if self.context_size:
      self.context_type = check_one_of("context_type",
                                       context_type or "features",
                                       CONTEXT_TYPES)
    self.preprocessing = check_preprocessing(
        preprocessing, self.event_size, self.context_size, self.compute_dtype)
    self.embedding, self.layer_context_size = self._make_embedding(
        embedding_units, embedding, seed)
    self._columns, self._context_columns = column_maps(
        self.preprocessing, self.compute_dtype)
    self.standardization = None
    if standardize:
      self.standardization = Standardization(
          self.event_size, self._standard_scale(), dtype=self.dtype_policy,
          name="standardize")
    self._config = dict(
        event_size=self.event_size, num_layers=num_layers,
        hidden_units=hidden_units, activation=activation,
        hidden_degrees=hidden_degrees,
        ordering=ordering if isinstance(ordering, str)
        else [[int(i) for i in p] for p in ordering],
        batch_norm=batch_norm, batch_norm_momentum=batch_norm_momentum,
        batch_norm_eps=batch_norm_eps, base=base,
        num_components=num_components, context_size=self.context_size,
        context_type=self.context_type,
        embedding_units=(None if embedding_units is None
                         else check_hidden_units(embedding_units,
                                                 "embedding_units")),
        preprocessing=self.preprocessing, standardize=bool(standardize),
        log_scale_bound=log_scale_bound, affine=affine,
        transformer=self.transformer.spec(),
        initialization=initialization, seed=seed, matmul_dtype=matmul_dtype)
    self.permutations = layer_permutations(self.event_size, num_layers,
                                           ordering, seed)
    self.transforms = [
        self._make_layer(k, hidden_units=hidden_units, activation=activation,
                         hidden_degrees=hidden_degrees,
                         log_scale_bound=log_scale_bound, seed=seed,
                         matmul_dtype=matmul_dtype, affine=affine,
                         initialization=initialization)
        for k in range(num_layers)]
    self.batch_norms = [
        BatchNormLayer(self.event_size, batch_norm_momentum, batch_norm_eps,
                       dtype=self.dtype_policy, name=f"batch_norm_{k}")
        for k in with_norm]
    self._norm_after = {k: i for i, k in enumerate(with_norm)}
    self.base = make_base(
        base, self.event_size, num_components, seed, self.dtype_policy,
        hidden_units=hidden_units, activation=activation,
        hidden_degrees=hidden_degrees,
        order="reversed" if num_layers else "natural",
        context_size=self.layer_context_size,
        log_scale_bound=log_scale_bound, matmul_dtype=matmul_dtype)
    for layer in [*self.transforms, *self.batch_norms, self.base,
                  *([self.standardization] if standardize else [])]:
      layer.build((None, self.event_size))
    self.built = True

  def _inputs(self, x, context, what: str):
    """(x, context) checked (see maf_tf.inputs), in the flow's dtype."""
    x = inputs.events(x, self.event_size, "x", self.compute_dtype)
    return x, inputs.context_for(context, self.context_size, what,
                                 self.compute_dtype, x)

  def _make_layer(self, k: int, seed: int, **made) -> keras.layers.Layer:
    """Layer k of the stack: a MADE giving the transformer's parameters
    (RealNVP makes a coupling layer)."""
    return MADE(self.event_size, context_size=self.layer_context_size,
                seed=seed * 100 + k, dtype=self.dtype_policy,
                name=f"made_{k}",
                num_params=self.transformer.params_per_dimension, **made)

  def _make_embedding(self, units, embedding, seed: int):
    """(the embedding network or None, the context width the layers
    see); `embedding` may be a saved config (from_config)."""
    if units is not None and embedding is not None:
      raise ValueError("give embedding_units or an embedding network, "
                       "not both")
    if isinstance(embedding, dict):
      embedding = keras.saving.deserialize_keras_object(embedding)
    elif units is not None:
      embedding = mlp_embedding(units, seed, self.dtype_policy)
    return embedding, embedded_size(embedding, self.context_size,
                                    self.compute_dtype)

  @property
  def mades(self) -> list:
    """The MADE layers, data side first."""
    return self.transforms

  def _needs_adapting(self) -> bool:
    """Whether `standardize`'s layer is not yet adapted (fit adapts it)."""
    return self.standardization is not None and \
        not self.standardization.is_adapted

  def _checks_outliers(self) -> bool:
    return bool(self.batch_norms)

  # ---- the two directions -------------------------------------------------

  def _layer_to_base(self, layer, x, context):
    """x -> (z, log|det dz/dx|) through one layer, in one pass."""
    z, log_slopes = self.transformer.to_base(x, layer.outputs(x, context))
    return z, tf.reduce_sum(log_slopes, -1)

  def _layer_to_data(self, layer, z, context, sampler="fast"):
    """z -> x through one layer (maf_tf.sampling)."""
    return invert_made_with(layer, z[..., None], self.transformer.step,
                            context, sampler)

  def _layer_bijector(self, layer, context) -> tfb.Bijector:
    return MAFBijector(layer, context, self.transformer, name=layer.name)

  def to_base(self, x, context=None, training=False, until_norm=None,
              made_inputs: Optional[list] = None):
    """Maps data to base in one pass: returns (z, log|det dz/dx|).

    With until_norm=i it stops at (and returns) the input of batch norm i;
    a list given as made_inputs receives each MADE's input.
    """
    x = tf.cast(x, self.compute_dtype)
    context = self.layer_context(context)
    if self._columns is not None:
      x, log_det = self._columns.to_standard(x)
    else:
      log_det = tf.zeros(tf.shape(x)[:-1], dtype=x.dtype)
    if self.standardization is not None:
      x, standard_log_det = self.standardization.to_base(x)
      log_det += standard_log_det
    for k, made in enumerate(self.transforms):
      if self.permutations[k] is not None:
        x = permute(x, self.permutations[k])
      if made_inputs is not None:
        made_inputs.append(x)
      x, made_log_det = self._layer_to_base(made, x, context)
      log_det += made_log_det
      if k in self._norm_after:
        if self._norm_after[k] == until_norm:
          return x, log_det
        x, norm_log_det = self.batch_norms[self._norm_after[k]](
            x, training=training)
        log_det += norm_log_det
    return x, log_det

  def made_log_scales(self, x, context=None) -> list:
    """Each layer's log|dz_d/dx_d| on the way from data to base (one
    [..., D] tensor per layer, inference mode: an affine layer's
    log-scale, -alpha in the paper's form; a spline's log-slope), for
    diagnosis: the trainer draws their histograms in TensorBoard; values
    piling up at ±log_scale_bound mean a layer is saturating."""
    x, context = self._inputs(x, context, "made_log_scales")
    made_inputs = []
    self.to_base(x, context, made_inputs=made_inputs)
    context = self.layer_context(context)
    return [self._layer_log_scales(made, made_input, context)
            for made, made_input in zip(self.transforms, made_inputs)]

  def _layer_log_scales(self, layer, x, context) -> tf.Tensor:
    """One layer's log|dz_d/dx_d| at its input x (see made_log_scales):
    an affine layer's log-scale, a spline's log-slope."""
    return self.transformer.to_base(x, layer.outputs(x, context))[1]

  def to_data(self, z, context=None, sampler="fast"):
    """Maps base to data (inference statistics for batch norm).

    sampler: 'fast' (each hidden unit computed once, maf_tf.sampling) or
    'naive' (the reference: D full MADE passes per layer). Both are exact.
    """
    check_sampler(sampler)
    context = self.layer_context(context)
    for k in reversed(range(self.num_layers)):
      if k in self._norm_after:
        layer = self.batch_norms[self._norm_after[k]]
        z = layer.to_data(z, *layer.statistics(z, False))
      z = self._layer_to_data(self.transforms[k], z, context, sampler)
      if self.permutations[k] is not None:
        z = permute(z, np.argsort(self.permutations[k]))
    if self.standardization is not None:
      z = self.standardization.to_data(z)
    return z if self._columns is None else self._columns.to_data(z)

  def adapt(self, x) -> None:
    """Sets the standardisation (standardize=True) from data x [N, D] (at
    most ADAPT_ROWS rows), as fit() does before its first step."""
    if self.standardization is None:
      raise ValueError("adapt needs a flow built with standardize=True")
    x = inputs.events(x[:ADAPT_ROWS], self.event_size, "x",
                      self.compute_dtype)
    self.standardization.adapt(self._before_standardization(x).numpy())

  def _standard_scale(self) -> float:
    """The standard deviation `standardize` gives each dimension (a
    spline's: one that fills its interval)."""
    return self.transformer.standard_scale

  def _before_standardization(self, x):
    """What the standardisation sees: x after the table's column map (a
    pixel flow's logits, PixelFlow)."""
    return x if self._columns is None else self._columns.to_standard(x)[0]

  def standard_context(self, context):
    """A feature context standardised as the preprocessing says (labels,
    or no record, pass as they are)."""
    if context is None or self._context_columns is None:
      return context
    return self._context_columns.to_standard(context)[0]

  def layer_context(self, context):
    """What the layers and the base see of a context: standard_context's,
    then through the embedding network if there is one. Every method
    that takes a context takes it in the data's units and calls this."""
    context = self.standard_context(context)
    if context is None or self.embedding is None:
      return context
    return self.embedding(context)

  def base_log_prob(self, z, context=None) -> tf.Tensor:
    """The base density at z, for a context in the data's units."""
    return self.base.log_prob(z, self.layer_context(context))

  # ---- public API ---------------------------------------------------------

  def log_prob(self, x, context=None, training=False) -> tf.Tensor:
    """log p(x | context), shape [...] for x of shape [..., D].

    With training=True, batch norm uses the batch statistics and updates its
    moving averages (once).
    """
    x, context = self._inputs(x, context, "log_prob")
    z, log_det = self.to_base(x, context, training)
    return self.base_log_prob(z, context) + log_det

  def sample(self, n: int, context=None, seed=None, sampler: str = "fast",
             jit_compile: bool = False) -> tf.Tensor:
    """n exact samples, shape [n, D]; context [C] or [n, C] if conditional.

    Args:
      n: number of samples.
      context: conditioning input for a conditional flow.
      seed: an int for reproducible samples, or None.
      sampler: 'fast' or 'naive' (the reference); see `to_data`.
      jit_compile: run the base -> data map compiled by XLA (faster on
        CPU, README Performance; compiled once per flow and input shape; a
        served model would need XLA enabled, so exports do not use it).
    """
    context = inputs.sample_context(n, context, self.context_size,
                                    self.compute_dtype)
    seed = inputs.sample_seed(seed)
    z = self.base.sample(n, self.layer_context(context), seed, sampler)
    if jit_compile:
      return compiled_to_data(self, sampler)(z, context)
    return self.to_data(z, context, sampler)

  def bijector(self, context=None, training=False) -> tfb.Bijector:
    """The flow as a tfb.Chain whose forward maps base -> data."""
    context = inputs.context_for(context, self.context_size, "bijector",
                                 self.compute_dtype)
    # Listed data -> base: a Chain applies its inverses front to back.
    return tfb.Chain(self._bijector_steps(context, training), name=self.name)

  def _bijector_steps(self, context, training) -> list:
    context = self.layer_context(context)
    steps = []
    if self._columns is not None:
      steps.append(ColumnBijector(self._columns, self.compute_dtype))
    if self.standardization is not None:
      steps.append(StandardizationBijector(self.standardization,
                                           self.compute_dtype))
    for k, made in enumerate(self.transforms):
      if self.permutations[k] is not None:
        steps.append(tfb.Permute(np.argsort(self.permutations[k]),
                                 name=f"permute_{k}"))
      steps.append(self._layer_bijector(made, context))
      if k in self._norm_after:
        layer = self.batch_norms[self._norm_after[k]]
        steps.append(BatchNormBijector(layer, training, name=layer.name))
    return steps

  def distribution(self, context=None,
                   training=False) -> tfd.TransformedDistribution:
    """The flow as a tfd.TransformedDistribution over the base density.

    With training=True batch norm uses batch statistics (no update).
    """
    context = inputs.context_for(context, self.context_size,
                                 "distribution", self.compute_dtype)
    return tfd.TransformedDistribution(
        self.base.distribution(self.layer_context(context)),
        self.bijector(context, training))

  def call(self, inputs, training=False):
    """log_prob of inputs x, or of (x, context) for a conditional flow."""
    if self.context_size:
      x, context = inputs
      return self.log_prob(x, context, training=training)
    return self.log_prob(inputs, training=training)

  # ---- keras.Model.fit / evaluate (see maf_tf.training) -----------------

  metric_names = ("nll",)

  def scores(self, x, context=None, training=False):
    """(log_prob, {'nll': -log_prob}) for fit() and evaluate()."""
    log_prob = self.log_prob(x, context, training)
    return log_prob, {"nll": -log_prob}

  @classmethod
  def weights_of(cls, config: dict) -> int:
    """How many weights the model of these constructor arguments (or saved
    config) would allocate, counted before anything is (weight_count); 0
    if they are not numbers (the constructor's checks say which)."""
    try:
      return weight_count(
          config["event_size"], config.get("hidden_units", (512,)),
          config.get("num_layers", 5), config.get("base", "normal"),
          config.get("num_components", 10),
          cls._params_per_dimension(config), config.get("context_size", 0),
          config.get("embedding_units"))
    except (KeyError, TypeError):
      return 0

  @classmethod
  def from_config(cls, config):
    """The model of a saved config, refused in one line before anything
    is allocated if it would hold more than MAX_LOADED_WEIGHTS weights (an
    edited num_layers=10**9 used to end in a MemoryError or a hang)."""
    weights = cls.weights_of(config)
    if weights > MAX_LOADED_WEIGHTS:
      raise ValueError(f"this saved {cls.__name__} would have {weights:,} "
                       f"weights, more than {MAX_LOADED_WEIGHTS:,}: refused "
                       "before allocating them (was its config edited?)")
    return super().from_config(config)

  @classmethod
  def _params_per_dimension(cls, config: dict) -> int:
    """Each layer's MADE outputs per dimension (the transformer's)."""
    return transformer_from(config.get("transformer", "affine")
                            ).params_per_dimension

  def get_config(self):
    custom = (self._config["embedding_units"] is None
              and self.embedding is not None)
    return {**super().get_config(), **self._config, "embedding": (
        keras.saving.serialize_keras_object(self.embedding) if custom
        else None)}


@keras.saving.register_keras_serializable(package="maf_tf")
class IAF(MAF):
  """Inverse Autoregressive Flow from the same parts (Kingma et al. 2016).

  Every MADE layer is used in the other direction: sampling (base -> data)
  is one pass per layer, density (data -> base) is D sequential passes
  (the fast sampler's). Takes the same arguments as `MAF`; `sampler`
  (of `sample` and `to_data`) is checked but changes nothing, as
  sampling is one pass either way.
  """

  def made_log_scales(self, x, context=None) -> list:
    raise NotImplementedError("an IAF's MADEs read the base side: their "
                              "log-scales are not a function of the data")

  def _layer_to_base(self, layer, x, context):
    # the fast sampler: D small steps
    z = super()._layer_to_data(layer, x, context)
    return z, -super()._layer_to_base(layer, z, context)[1]

  def _layer_to_data(self, layer, z, context, sampler="fast"):
    return super()._layer_to_base(layer, z, context)[0]

  def _layer_bijector(self, layer, context):
    return tfb.Invert(super()._layer_bijector(layer, context))
