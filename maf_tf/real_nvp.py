"""Real NVP (Dinh, Sohl-Dickstein and Bengio 2017, arXiv 1605.08803): the
coupling-layer baseline of the MAF paper's tables, from the same parts as
`MAF` (batch norm, the alternating order, the base densities).

One coupling layer, data -> base, with the first h = floor(D/2) dimensions
a passing through and conditioning the rest b:

    z_a = x_a,   z_b = x_b * exp(s(x_a, c)) + t(x_a, c)
    log|det dz/dx| = sum s(x_a, c)

and base -> data x_b = (z_b - t(z_a, c)) * exp(-s(z_a, c)): both directions
are one pass. s and t are separate networks of the same hidden sizes (tanh
hidden units for s, ReLU, or the given activation, for t, as in the MAF
paper); s is bounded by `soft_clamp`. The variables are reversed between
layers (the flow's 'alternate' ordering), so every dimension is transformed.
"""

from typing import Optional, Sequence

import keras
import tensorflow as tf

from maf_tf.bijectors.coupling import CouplingBijector
from maf_tf.flows import MAF
from maf_tf.checks import check_positive_finite
from maf_tf.made import DEFAULT_LOG_SCALE_BOUND, initializers, soft_clamp
from maf_tf.transformers import transformer_from

__all__ = ["Coupling", "CouplingBijector", "RealNVP", "MADE_ONLY"]


def _network(sizes: Sequence[int], fan_in: int, outputs: int,
             activation: str, seed: int, dtype, name: str) -> list:
  """Dense layers: hidden ones U(+-1/sqrt(fan_in)) as PyTorch's nn.Linear,
  the output layer zero (the coupling starts as the identity)."""
  layers = []
  for i, units in enumerate(sizes):
    kernel, bias = initializers("uniform", fan_in, seed + i)
    layers.append(keras.layers.Dense(
        units, activation, kernel_initializer=kernel, bias_initializer=bias,
        dtype=dtype, name=f"{name}_hidden_{i}"))
    fan_in = units
  layers.append(keras.layers.Dense(outputs, kernel_initializer="zeros",
                                   dtype=dtype, name=f"{name}_output"))
  return layers


@keras.saving.register_keras_serializable(package="maf_tf")
class Coupling(keras.layers.Layer):
  """An affine coupling layer: the first floor(D/2) inputs pass and
  condition the others (see the module docstring).

  call(x, context) gives (shift, log_scale) of the transformed dimensions.

  Args:
    event_size: D >= 2.
    hidden_units: hidden sizes of each of the two networks.
    activation: the shift network's (the scale network's is tanh).
    context_size: size of the conditioning input, fed to both networks.
    log_scale_bound: bound of the log-scale.
    seed: initialiser seed.
  """

  def __init__(self, event_size: int, hidden_units: Sequence[int] = (512,),
               activation: str = "relu", context_size: int = 0,
               log_scale_bound: float = DEFAULT_LOG_SCALE_BOUND,
               seed: Optional[int] = None, **kwargs):
    super().__init__(**kwargs)
    if event_size < 2:
      raise ValueError(f"a coupling layer needs event_size >= 2 (half the "
                       f"dimensions condition the rest); got {event_size}")
    self.event_size = int(event_size)
    self.hidden_units = [int(u) for u in hidden_units]
    self.activation = activation
    self.context_size = int(context_size)
    self.log_scale_bound = check_positive_finite("log_scale_bound",
                                                 log_scale_bound)
    self.seed = seed
    self.passing = self.event_size // 2
    fan_in = self.passing + self.context_size
    seed = 0 if seed is None else seed * 1000
    changed = self.event_size - self.passing
    self.scale_net = _network(self.hidden_units, fan_in, changed, "tanh",
                              seed, self.dtype_policy, "scale")
    self.shift_net = _network(self.hidden_units, fan_in, changed, activation,
                              seed + 500, self.dtype_policy, "shift")

  def build(self, input_shape=None):
    for net in (self.scale_net, self.shift_net):
      size = self.passing + self.context_size
      for layer in net:
        layer.build((None, size))
        size = layer.units

  def call(self, passing, context=None):
    inputs = passing if not self.context_size else tf.concat(
        [passing, tf.broadcast_to(context, tf.concat(
            [tf.shape(passing)[:-1], [self.context_size]], 0))], -1)
    log_scale, shift = inputs, inputs
    for layer in self.scale_net:
      log_scale = layer(log_scale)
    for layer in self.shift_net:
      shift = layer(shift)
    return shift, soft_clamp(log_scale, self.log_scale_bound)

  def to_base(self, x, context=None):
    """x -> (z, log|det dz/dx|), one pass."""
    passing, changed = x[..., :self.passing], x[..., self.passing:]
    shift, log_scale = self(passing, context)
    z = tf.concat([passing, changed * tf.exp(log_scale) + shift], -1)
    return z, tf.reduce_sum(log_scale, -1)

  def to_data(self, z, context=None):
    """z -> x, one pass."""
    passing, changed = z[..., :self.passing], z[..., self.passing:]
    shift, log_scale = self(passing, context)
    return tf.concat([passing, (changed - shift) * tf.exp(-log_scale)], -1)

  def get_config(self):
    return {**super().get_config(), "event_size": self.event_size,
            "hidden_units": self.hidden_units, "activation": self.activation,
            "context_size": self.context_size,
            "log_scale_bound": self.log_scale_bound, "seed": self.seed}


@keras.saving.register_keras_serializable(package="maf_tf")
class RealNVP(MAF):
  """Real NVP(K): K coupling layers, with batch norm and base density as
  `MAF` configures them; sampling and density are both one pass.

  Takes MAF's arguments except those of a MADE's masks and affine form
  (hidden_degrees, affine, transformer, initialization: every coupling
  starts as the identity; matmul_dtype). `ordering` must be 'alternate'
  (the halves swap between layers).

  Example:
    >>> flow = RealNVP(event_size=4, num_layers=2, hidden_units=[8])
    >>> tuple(flow.sample(3, seed=0).shape)
    (3, 4)
  """

  def __init__(self, *, event_size: int, ordering: str = "alternate",
               **kwargs):
    for name in ("hidden_degrees", "affine", "initialization",
                 "matmul_dtype"):
      if kwargs.get(name) not in (None, MADE_ONLY[name]):
        raise ValueError(f"RealNVP takes no {name} (its coupling layers "
                         f"have no masks); got {name}={kwargs[name]!r}")
      kwargs.pop(name, None)
    transformer = kwargs.pop("transformer", "affine")
    if transformer_from(transformer).name != "affine":
      raise ValueError("RealNVP's couplings are affine: it takes no other "
                       f"transformer; got transformer={transformer!r}")
    if ordering != "alternate":
      raise ValueError("RealNVP's ordering must be 'alternate' (the two "
                       f"halves swap between layers); got {ordering!r}")
    super().__init__(event_size=event_size, **kwargs)

  def _make_layer(self, k, seed, hidden_units, activation, log_scale_bound,
                  **_):
    return Coupling(self.event_size, hidden_units, activation,
                    self.layer_context_size, log_scale_bound,
                    seed=seed * 100 + k, dtype=self.dtype_policy,
                    name=f"coupling_{k}")

  @property
  def mades(self):
    raise AttributeError("a RealNVP has coupling layers (`transforms`), not "
                         "MADEs")

  def _layer_to_base(self, layer, x, context):
    return layer.to_base(x, context)

  def _layer_to_data(self, layer, z, context, sampler="fast"):
    return layer.to_data(z, context)

  def _layer_bijector(self, layer, context):
    return CouplingBijector(layer, context, name=layer.name)

  def _layer_log_scales(self, layer, x, context):
    """A coupling layer's log-scales of the dimensions it changes."""
    return layer(x[..., :layer.passing], context)[1]


# MAF arguments of a MADE that a coupling layer has not: only their
# defaults are accepted.
MADE_ONLY = {"hidden_degrees": "sequential", "affine": "scale_then_shift",
                "initialization": "identity", "matmul_dtype": None}
