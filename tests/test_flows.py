"""The MAF/IAF model: normalisation, sampling, gradients, state and errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import (assert_integrates_to_one, assert_samples_match_density,
                     random_flow, randomize)
from maf_tf import IAF, MAF
from maf_tf.flows import permute


def _flow(cls=MAF, event_size=2, context_size=0, dtype="float64", **kwargs):
  return random_flow(cls, weights_seed=5, event_size=event_size,
                     context_size=context_size, dtype=dtype,
                     **{"num_layers": 3, "hidden_units": [16], **kwargs})


FLOWS = {
    "maf": lambda: _flow(),
    "maf_batch_norm": lambda: _flow(batch_norm="after_each"),
    "maf_conditional_mixture": lambda: _flow(context_size=3, base="mixture",
                                             num_components=3,
                                             batch_norm="between"),
    "iaf": lambda: _flow(IAF, num_layers=2),
}


def _context(flow, n):
  if not flow.context_size:
    return None
  return tf.constant(np.tile([[0.5, -1.0, 2.0]], (n, 1)), dtype=flow.dtype)


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_density_integrates_to_one(name):
  assert_integrates_to_one(FLOWS[name](), _context)


@pytest.mark.parametrize("name", ["maf_batch_norm", "maf_conditional_mixture",
                                  "iaf"])
def test_samples_follow_the_density(name):
  flow = FLOWS[name]()
  samples = flow.sample(40_000, _context(flow, 1)[0] if flow.context_size
                        else None, seed=1)
  assert_samples_match_density(
      samples, lambda p: flow.log_prob(p, _context(flow, len(p))),
      wrong=flow.base.distribution().log_prob)


# Also a 5-D flow with a random ordering (the 2-D ones alternate).
TFP_VIEWS = {**FLOWS, "maf_random_ordering_5d": lambda: _flow(
    event_size=5, ordering="random", seed=2, batch_norm="between")}


@pytest.mark.parametrize("name", sorted(TFP_VIEWS))
@pytest.mark.parametrize("training", [False, True])
def test_fused_log_prob_equals_the_tfp_distribution(name, training):
  flow = TFP_VIEWS[name]()
  x = tf.constant(np.random.default_rng(0).normal(size=(7, flow.event_size)))
  context = _context(flow, 7)
  fused = flow.log_prob(x, context, training=training)
  tfp_log_prob = flow.distribution(context, training=training).log_prob(x)
  np.testing.assert_allclose(fused, tfp_log_prob, rtol=1e-10, atol=1e-10)
  if not training:
    z, _ = flow.to_base(x, context)
    np.testing.assert_allclose(flow.to_data(z, context), x, atol=1e-8)


@pytest.mark.parametrize("permutation", [np.arange(6)[::-1],
                                         np.array([2, 0, 5, 1, 3, 4])])
def test_permute_is_a_gather_with_the_gathers_gradient(permutation):
  """A reversal takes tf.reverse instead of tf.gather: same values, same
  gradient."""
  x = tf.constant(np.random.default_rng(1).normal(size=(3, 6)))
  weights = tf.constant(np.arange(18.0).reshape(3, 6))
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    ours = permute(x, permutation)
    gathered = tf.gather(x, permutation, axis=-1)
    ours_loss = tf.reduce_sum(weights * ours)
    gathered_loss = tf.reduce_sum(weights * gathered)
  np.testing.assert_array_equal(ours, gathered)
  np.testing.assert_array_equal(tape.gradient(ours_loss, x),
                                tape.gradient(gathered_loss, x))


def test_samples_are_reproducible_with_a_seed_and_invert_exactly():
  flow = FLOWS["maf_batch_norm"]()
  first = flow.sample(5, seed=3)
  np.testing.assert_array_equal(first, flow.sample(5, seed=3))
  np.testing.assert_array_equal(first, flow.sample(np.int64(5),
                                                   seed=np.int64(3)))
  np.testing.assert_array_equal(first, flow.sample(tf.constant(5),
                                                   seed=tf.constant([3, 0])))
  assert not np.allclose(first, flow.sample(5, seed=4))
  z, _ = flow.to_base(first)
  np.testing.assert_allclose(flow.to_data(z), first, atol=1e-8)


def test_every_trainable_variable_receives_a_gradient():
  flow = _flow(event_size=4, context_size=2, base="mixture", num_components=2,
               batch_norm="after_each", dtype="float32")
  x = tf.random.normal([32, 4])
  context = tf.random.normal([32, 2])
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(flow.log_prob(x, context, training=True))
  gradients = tape.gradient(loss, flow.trainable_variables)
  missing = [v.path for v, g in zip(flow.trainable_variables, gradients)
             if g is None or not np.any(g.numpy() != 0)]
  assert not missing
  # 3 MADEs (2 kernels, 2 biases, context kernel), 3 batch norms, mixture.
  assert len(flow.trainable_variables) == 3 * 5 + 3 * 2 + 3


def test_batch_norm_uses_batch_statistics_only_in_training():
  flow = MAF(event_size=2, num_layers=2, hidden_units=[8],
             batch_norm="after_each", batch_norm_momentum=0.5,
             dtype="float64")
  x = tf.constant(np.random.default_rng(0).normal(3.0, 2.0, size=(500, 2)))
  norm = flow.batch_norms[0]
  before = norm.moving_mean.numpy().copy()
  inference = flow.log_prob(x).numpy()
  np.testing.assert_array_equal(norm.moving_mean.numpy(), before)
  training = flow.log_prob(x, training=True).numpy()
  assert not np.allclose(training, inference)
  # One update with momentum 0.5 moves the stored mean half way.
  made_out, _ = flow.mades[0].to_base(x)
  np.testing.assert_allclose(norm.moving_mean.numpy(),
                             0.5 * before + 0.5 * made_out.numpy().mean(0),
                             rtol=1e-10)
  # In training, the normalised output has the batch's zero mean, unit var.
  z, _ = norm(made_out, training=True)
  np.testing.assert_allclose(z.numpy().mean(0), 0.0, atol=1e-10)
  np.testing.assert_allclose(z.numpy().var(0), 1.0, atol=1e-3)


def test_save_and_load_give_identical_log_prob(tmp_path):
  flow = _flow(event_size=3, context_size=2, base="mixture", num_components=2,
               batch_norm="between", ordering="random", dtype="float32")
  x = tf.random.normal([5, 3])
  context = tf.random.normal([5, 2])
  path = str(tmp_path / "flow.keras")
  flow.save(path)
  loaded = keras.models.load_model(path)
  assert type(loaded) is MAF
  np.testing.assert_array_equal(loaded.log_prob(x, context),
                                flow.log_prob(x, context))
  np.testing.assert_array_equal(loaded.sample(4, context[0], seed=2),
                                flow.sample(4, context[0], seed=2))


@pytest.mark.parametrize("call, error, message", [
    (lambda f: f.log_prob(tf.zeros([4, 3]), tf.zeros([4, 2])), ValueError,
     r"x must have shape \[\.\.\., 2\]; got shape \[4, 3\]"),
    (lambda f: f.log_prob(tf.constant(1.0), tf.zeros([2])), ValueError,
     r"x must have shape \[\.\.\., 2\]; got shape \[\]"),
    (lambda f: f.log_prob(tf.zeros([4, 2], tf.int32), tf.zeros([4, 2])),
     TypeError, r"floating-point tensor \(float32\); got dtype int32"),
    (lambda f: f.log_prob([["a", "b"]], tf.zeros([1, 2])), TypeError,
     "got dtype string"),
    (lambda f: f.log_prob(tf.zeros([4, 2]), tf.zeros([4, 5])), ValueError,
     r"context must have shape \[\.\.\., 2\]; got shape \[4, 5\]"),
    (lambda f: f.log_prob(tf.zeros([4, 2])), ValueError,
     r"needs a context of shape \[\.\.\., 2\]; got None"),
    (lambda f: f.sample(3), ValueError, r"needs a context of shape"),
    (lambda f: f.sample(3, tf.zeros([3])), ValueError,
     r"context must have shape \[\.\.\., 2\]; got shape \[3\]"),
])
def test_bad_input_names_what_was_expected(call, error, message):
  flow = MAF(event_size=2, num_layers=1, hidden_units=[4], context_size=2)
  with pytest.raises(error, match=message):
    call(flow)


def test_unconditional_flow_rejects_a_context():
  flow = MAF(event_size=2, num_layers=1, hidden_units=[4])
  with pytest.raises(ValueError, match="unconditional"):
    flow.log_prob(tf.zeros([1, 2]), tf.zeros([1, 1]))


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_norm": "before"}, "batch_norm must be one of"),
    ({"num_layers": 0}, "num_layers must be a positive integer"),
    ({"base": "laplace"}, "base must be one of 'normal', 'mixture'"),
    ({"ordering": "shuffled"}, "ordering must be"),
    ({"ordering": [[0, 1]]}, "must list 2 permutations"),
    ({"hidden_degrees": "cyclic"}, "'sequential' or 'random'"),
])
def test_bad_constructor_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    MAF(event_size=2, num_layers=kwargs.pop("num_layers", 2), **kwargs)


def test_made_log_scales_are_each_layers_bounded_log_scales():
  flow = MAF(event_size=3, num_layers=2, hidden_units=[8],
             initialization="uniform", log_scale_bound=2.0)
  x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
  scales = flow.made_log_scales(x)
  assert [s.shape for s in scales] == [(5, 3), (5, 3)]
  assert all(np.abs(s.numpy()).max() < 2.0 for s in scales)
  # The first MADE sees x itself: its own call gives the same values.
  np.testing.assert_allclose(scales[0], flow.mades[0](x)[1], rtol=1e-6)
  # log|det dz/dx| is the sum of the log-scales (z = x e^s + t, no norm).
  _, log_det = flow.to_base(x)
  np.testing.assert_allclose(log_det, tf.add_n(
      [tf.reduce_sum(s, -1) for s in scales]), rtol=1e-5, atol=1e-5)
  identity = MAF(event_size=3, num_layers=1, hidden_units=[8])
  assert not np.any(identity.made_log_scales(x)[0].numpy())


def test_the_mixed_bfloat16_policy_runs_the_made_matmuls_in_bfloat16():
  """Keras's switch gives the flow of matmul_dtype='bfloat16' exactly:
  MADE matmuls in bfloat16, everything else (and the weights) float32."""
  def flow(**kwargs):
    made = MAF(event_size=6, num_layers=2, hidden_units=[16],
               batch_norm="between", seed=1, **kwargs)
    randomize(made, seed=2)
    return made

  x = tf.random.stateless_normal([5, 6], seed=[1, 2])
  reference = flow(matmul_dtype="bfloat16")
  by_argument = flow(dtype="mixed_bfloat16")
  keras.config.set_dtype_policy("mixed_bfloat16")
  try:
    by_global_policy = flow()
  finally:
    keras.config.set_dtype_policy("float32")
  for model in (by_argument, by_global_policy):
    assert model.dtype_policy.name == "float32"
    assert model.get_config()["matmul_dtype"] == "bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)
    np.testing.assert_array_equal(model.log_prob(x), reference.log_prob(x))
  assert not np.allclose(reference.log_prob(x), flow().log_prob(x),
                         rtol=1e-6)
  with pytest.raises(ValueError, match="dtype policy must be one of float32, "
                     "float64 or mixed_bfloat16"):
    MAF(event_size=2, dtype="mixed_float16")


def test_iaf_checks_the_sampler_it_does_not_need():
  flow = IAF(event_size=2, num_layers=1, hidden_units=[4])
  assert flow.sample(2, seed=1, sampler="naive").shape == (2, 2)
  with pytest.raises(ValueError, match="sampler must be one of 'fast', 'naive'"):
    flow.sample(2, sampler="quick")
