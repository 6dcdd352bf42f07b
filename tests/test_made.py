"""MaskedDense and MADE: autoregressive structure from autodiff Jacobians."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from maf_tf.bijectors import MAFBijector
from maf_tf import MAF
from maf_tf.made import (MADE, MaskedDense, frozen_kernels,
                         masked_kernel_copies, soft_clamp)


def _jacobian(made, x, context=None):
  """d[shift, log_scale]/dx per sample: shape [batch, 2D, D]."""
  with tf.GradientTape() as tape:
    tape.watch(x)
    outputs = tf.concat(made(x, context), axis=-1)
  return tape.batch_jacobian(outputs, x).numpy()


@pytest.mark.parametrize("kind", ["sequential", "random"])
@pytest.mark.parametrize("hidden_units", [[12], [12, 10], [12, 10, 11]])
@pytest.mark.parametrize("order", ["natural", "reversed", "random"])
def test_jacobian_has_exactly_the_autoregressive_zero_pattern(
    kind, hidden_units, order):
  made = MADE(5, hidden_units, activation="tanh", hidden_degrees=kind,
              order=order, seed=3, dtype="float64", initialization="uniform")
  x = tf.constant(np.random.default_rng(0).normal(size=(16, 5)))
  jacobian = np.abs(_jacobian(made, x)).max(axis=0)  # [2D, D]
  degrees = made.input_degrees
  allowed = degrees[:, None] > degrees[None, :]  # output d sees input i
  allowed = np.concatenate([allowed, allowed])
  assert np.all(jacobian[~allowed] == 0.0)
  if kind == "sequential":
    assert np.all(jacobian[allowed] > 0.0)
  # The MAF layer it makes (data -> base): triangular in the order, with
  # a non-zero diagonal.
  with tf.GradientTape() as tape:
    tape.watch(x)
    z = MAFBijector(made).inverse(x)
  layer = np.abs(tape.batch_jacobian(z, x).numpy()).max(axis=0)
  assert np.all(layer[degrees[:, None] < degrees[None, :]] == 0.0)
  assert np.all(np.diag(layer) > 0.0)


@pytest.mark.parametrize("kind", ["sequential", "random"])
def test_context_changes_every_output(kind):
  made = MADE(4, [16, 16], context_size=3, hidden_degrees=kind, seed=1,
              dtype="float64", initialization="uniform")
  x = tf.constant(np.random.default_rng(1).normal(size=(8, 4)))
  context = tf.constant(np.random.default_rng(2).normal(size=(8, 3)))
  with tf.GradientTape() as tape:
    tape.watch(context)
    outputs = tf.concat(made(x, context), axis=-1)
  sensitivity = np.abs(tape.batch_jacobian(outputs, context).numpy())
  assert np.all(sensitivity.max(axis=(0, 2)) > 0.0)


def test_log_scale_is_bounded_finite_and_has_gradient_on_extreme_inputs():
  made = MADE(3, [8], seed=0)
  x = tf.constant([[1e6, -1e6, 3e7], [1e30, -1e30, 0.0]])
  with tf.GradientTape() as tape:
    tape.watch(x)
    _, log_scale = made(x)
    loss = tf.reduce_sum(log_scale)
  gradients = tape.gradient(loss, made.trainable_variables)
  assert np.all(np.abs(log_scale.numpy()) <= 10.0)
  assert all(np.all(np.isfinite(g.numpy())) for g in gradients)
  kernel_gradient = next(
      g for v, g in zip(made.trainable_variables, gradients)
      if v is made.output_layer.kernel)
  assert np.any(kernel_gradient.numpy() != 0.0)


def test_soft_clamp_is_identity_near_zero_and_never_saturates():
  values = tf.constant([0.0, 1e-3, -1e-3, 1e3, -1e30, 3e38])
  with tf.GradientTape() as tape:
    tape.watch(values)
    clamped = soft_clamp(values, 10.0)
  gradient = tape.gradient(clamped, values).numpy()
  np.testing.assert_allclose(clamped.numpy()[:3], [0.0, 1e-3, -1e-3],
                             atol=1e-6)
  assert np.all(np.abs(clamped.numpy()) <= 10.0)
  assert np.all(np.isfinite(gradient)) and gradient[3] > 0.0


def test_initialisations():
  paper = MADE(100, [400], seed=0, initialization="paper")
  paper(tf.zeros([1, 100]))
  kernel = paper.hidden[0].kernel.numpy()
  np.testing.assert_allclose(kernel.std(), 1 / np.sqrt(101), rtol=0.05)
  assert np.all(paper.hidden[0].bias.numpy() == 0.0)
  uniform = MADE(100, [400], seed=0, initialization="uniform")  # PyTorch's
  uniform(tf.zeros([1, 100]))
  for layer, fan_in in ((uniform.hidden[0], 100),
                        (uniform.output_layer, 400)):
    for weights in (layer.kernel.numpy(), layer.bias.numpy()):
      assert np.abs(weights).max() <= 1 / np.sqrt(fan_in)
      np.testing.assert_allclose(weights.std(), 1 / np.sqrt(3 * fan_in),
                                 rtol=0.1)
  identity = MADE(100, [400], seed=0)  # the default
  x = tf.random.normal([5, 100])
  z, log_det = identity.to_base(x)
  np.testing.assert_array_equal(z, x)
  np.testing.assert_array_equal(log_det, np.zeros(5))
  np.testing.assert_array_equal(identity.hidden[0].kernel.numpy(),
                                uniform.hidden[0].kernel.numpy())
  with pytest.raises(ValueError, match="initialization must be one of"):
    MADE(3, [4], initialization="glorot")
  with pytest.raises(ValueError, match="affine must be one of"):
    MADE(3, [4], affine="shift")


def test_masked_dense_applies_the_mask_inside_call():
  layer = MaskedDense([1, 2, 3], [1, 2], seed=0)
  layer.build((None, 3))
  layer.kernel.assign(np.ones((3, 2), np.float32))  # the mask must still act
  layer.bias.assign(np.zeros(2, np.float32))
  out = layer(tf.constant([[1.0, 10.0, 100.0]]))
  np.testing.assert_allclose(out.numpy(), [[1.0, 11.0]])


@pytest.mark.parametrize("layer", [
    MaskedDense([1, 2, 3], [1, 2, 1, 2], activation="relu", seed=4),
    MADE(4, [8, 6], activation="tanh", hidden_degrees="random",
         order="random", context_size=2, seed=5),
])
def test_get_config_round_trips(layer):
  clone = layer.__class__.from_config(layer.get_config())
  inputs = tf.random.normal([3, 4 if isinstance(layer, MADE) else 3])
  args = (tf.random.normal([3, 2]),) if isinstance(layer, MADE) else ()
  layer(inputs, *args)
  clone(inputs, *args)
  clone.set_weights(layer.get_weights())
  expected = tf.nest.flatten(layer(inputs, *args))
  for a, b in zip(expected, tf.nest.flatten(clone(inputs, *args))):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert keras.saving.serialize_keras_object(clone)["config"] == \
      keras.saving.serialize_keras_object(layer)["config"]


def test_unknown_activation_fails_at_construction():
  with pytest.raises(ValueError, match="swoosh"):
    MADE(3, [4], activation="swoosh")


def test_bfloat16_matmuls_stay_close_and_keep_float32_outputs():
  made = MADE(event_size=20, hidden_units=[64], seed=1,
              initialization="uniform")
  fast = MADE(event_size=20, hidden_units=[64], seed=1,
              matmul_dtype="bfloat16", initialization="uniform")
  x = tf.random.stateless_normal([50, 20], seed=[0, 1])
  made(x), fast(x)
  fast.set_weights(made.get_weights())
  (shift, log_scale), (shift16, log_scale16) = made(x), fast(x)
  assert shift16.dtype == tf.float32
  np.testing.assert_allclose(shift16, shift, atol=0.05)
  np.testing.assert_allclose(log_scale16, log_scale, atol=0.05)
  assert not np.allclose(shift16, shift, atol=1e-6)  # really bfloat16
  assert MADE.from_config(fast.get_config()).matmul_dtype == "bfloat16"
  with pytest.raises(ValueError, match="matmul_dtype must be one of"):
    MADE(event_size=3, hidden_units=[4], matmul_dtype="float16")


def test_frozen_kernels_are_the_layers_own_state_for_the_block():
  flow = MAF(event_size=3, num_layers=1, hidden_units=[5])
  layer = flow.mades[0].hidden[0]
  copies = masked_kernel_copies(flow)
  assert set(copies) == {l for l in flow._flatten_layers()
                         if isinstance(l, MaskedDense)}
  with frozen_kernels(copies):
    assert layer.masked_kernel() is copies[layer]
  assert layer.masked_kernel() is not copies[layer]
  np.testing.assert_array_equal(layer.masked_kernel(), copies[layer])
  assert len(flow.weights) == len(MAF(event_size=3, num_layers=1,
                                      hidden_units=[5]).weights)
