"""The fast exact sampler against the naive D-pass reference."""

import numpy as np
import pytest
import tensorflow as tf

from helpers import randomize
from maf_tf import MAF, MADE
from maf_tf.bijectors.maf import made_to_data
from maf_tf.made import autoregressive_inverse
from maf_tf import sampling
from maf_tf.sampling import (FAST_FROM_EVENT_SIZE, compiled_to_data,
                             fast_made_to_data)


@pytest.mark.parametrize("kind", ["sequential", "random"])
@pytest.mark.parametrize("hidden_units", [[9], [9, 7], [6, 9, 8]])
@pytest.mark.parametrize("order", ["natural", "reversed", "random"])
@pytest.mark.parametrize("context_size", [0, 3])
def test_fast_made_sampler_equals_the_reference(kind, hidden_units, order,
                                                context_size):
  made = MADE(6, hidden_units, hidden_degrees=kind, order=order,
              context_size=context_size, activation="tanh", seed=2,
              dtype="float64")
  rng = np.random.default_rng(0)
  z = tf.constant(rng.normal(size=(5, 6)))
  context = tf.constant(rng.normal(size=(5, 3))) if context_size else None
  made(z, context)
  randomize(made, seed=3)
  np.testing.assert_allclose(fast_made_to_data(made, z, context),
                             made_to_data(made, z, context), atol=1e-10)


@pytest.mark.parametrize("kwargs", [
    dict(batch_norm="between", ordering="random", hidden_degrees="random"),
    dict(context_size=4, base="mixture", num_components=3,
         batch_norm="after_each", hidden_units=[24, 20]),
])
def test_flow_samples_agree_between_samplers(kwargs):
  kwargs = {"num_layers": 3, "hidden_units": [24], **kwargs}
  flow = MAF(event_size=FAST_FROM_EVENT_SIZE, seed=1, **kwargs)
  randomize(flow, seed=4, scale=0.1)
  context = tf.ones([4]) if flow.context_size else None
  fast = flow.sample(20, context, seed=5)
  naive = flow.sample(20, context, seed=5, sampler="naive")
  np.testing.assert_allclose(fast, naive, atol=1e-4)


@pytest.fixture(scope="module")
def mnist_sized():
  """A seed-MNIST-sized flow with random weights, a batch of z and the
  naive sampler's x for it (the slow reference, computed once)."""
  flow = MAF(event_size=784, num_layers=2, hidden_units=[512],
             batch_norm="between", seed=0)
  randomize(flow, seed=6, scale=0.05)
  z = tf.random.stateless_normal([8, 784], seed=[1, 2])
  naive = tf.function(lambda z: flow.to_data(z, sampler="naive"))(z)
  return flow, z, naive


def test_mnist_sized_flow_in_a_tf_function_matches_to_1e_4(mnist_sized):
  flow, z, naive = mnist_sized
  fast = tf.function(lambda z: flow.to_data(z))(z)
  np.testing.assert_allclose(fast, naive, atol=1e-4)
  assert not np.allclose(fast, z, atol=1e-2)  # the weights do something
  back, _ = flow.to_base(fast)
  np.testing.assert_allclose(back, z, atol=1e-3)


def test_unknown_sampler_is_rejected():
  flow = MAF(event_size=2, num_layers=1, hidden_units=[4])
  with pytest.raises(ValueError, match="sampler must be one of 'fast', 'naive'"):
    flow.sample(2, sampler="quick")


def test_xla_compiled_sampler_matches_the_reference(mnist_sized):
  flow, z, naive = mnist_sized
  np.testing.assert_allclose(compiled_to_data(flow)(z, None), naive,
                             atol=1e-4)
  compiled = flow.sample(8, seed=3, jit_compile=True)
  np.testing.assert_allclose(compiled, flow.sample(8, seed=3), atol=1e-4)


@pytest.mark.parametrize("context_size", [0, 3])
def test_two_hidden_layers_in_a_tf_function_match_the_reference(
    context_size):
  # float32 in a tf.function: the graph TF's oneDNN pass rewrites (one
  # hidden layer or float64 never exercised it).
  flow = MAF(event_size=30, num_layers=2, hidden_units=[40, 36],
             batch_norm="between", context_size=context_size, seed=2)
  randomize(flow, seed=7, scale=0.1)
  z = tf.random.stateless_normal([6, 30], seed=[3, 4])
  context = tf.ones([6, 3]) if context_size else None
  fast = tf.function(lambda z: flow.to_data(z, context))(z)
  naive = tf.function(lambda z: flow.to_data(z, context, "naive"))(z)
  np.testing.assert_allclose(fast, naive, atol=1e-4)


def test_empty_slots_and_padding_contribute_nothing_whatever_the_activation():
  # sigmoid(0) = 0.5: unused slots and padded inputs must still add nothing.
  made = MADE(5, [9, 7], activation="sigmoid", hidden_degrees="random",
              context_size=2, seed=4, dtype="float64")
  z = tf.constant(np.random.default_rng(1).normal(size=(3, 5)))
  context = tf.constant(np.random.default_rng(2).normal(size=(3, 2)))
  made(z, context)
  randomize(made, seed=5)
  np.testing.assert_allclose(fast_made_to_data(made, z, context),
                             made_to_data(made, z, context), atol=1e-10)


def test_fast_is_the_reference_below_fast_from_event_size(monkeypatch):
  """Below 16 dimensions the D full passes measured faster (D = 3: 30x
  at 10,000 samples), so 'fast' runs them there."""
  dimensions = []

  def spy(made, noise, step, context=None, block=8):
    dimensions.append(int(noise.shape[-2]))
    return autoregressive_inverse(made, noise, step, context)

  monkeypatch.setattr(sampling, "fast_autoregressive_inverse", spy)
  for size in (FAST_FROM_EVENT_SIZE - 1, FAST_FROM_EVENT_SIZE):
    MAF(event_size=size, num_layers=2, hidden_units=[8]).sample(2, seed=1)
  assert dimensions == [FAST_FROM_EVENT_SIZE] * 2


def test_zero_samples_give_an_empty_batch_in_every_sampler():
  flow = MAF(event_size=FAST_FROM_EVENT_SIZE, num_layers=2, hidden_units=[8],
             context_size=2)
  context = tf.constant([1.0, 0.0])
  for sampler in ("fast", "naive"):
    assert flow.sample(0, context, sampler=sampler).shape == (0, 16)
  assert flow.sample(0, context, jit_compile=True).shape == (0, 16)
  draw = tf.function(lambda n: flow.sample(n, context, seed=1))
  assert draw(tf.constant(0)).shape[0] == 0   # batch known only at run time
  np.testing.assert_allclose(draw(tf.constant(4)),
                             flow.sample(4, context, seed=1), atol=1e-5)


@pytest.mark.parametrize("event_size", [3, FAST_FROM_EVENT_SIZE])
def test_many_samples_are_drawn_in_a_graph_equal_to_eager_ones(
    event_size, monkeypatch):
  """sample_in_chunks traces graph_draw once enough values repay it (XLA
  below FAST_FROM_EVENT_SIZE); chunk c equals flow.sample with the
  seed [seed, c]."""
  flow = MAF(event_size=event_size, num_layers=2, hidden_units=[12],
             context_size=2, batch_norm="between", seed=1)
  randomize(flow, seed=4, scale=0.1)
  contexts = np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 3.0]], np.float32)
  monkeypatch.setattr(sampling, "GRAPH_FROM_VALUES", 10**9)
  list(sampling.sample_in_chunks(flow, 7, contexts, seed=2, chunk_rows=9))
  assert not sampling._COMPILED.get(flow)   # few values: eager
  monkeypatch.setattr(sampling, "GRAPH_FROM_VALUES", 1)
  chunks = list(sampling.sample_in_chunks(flow, 7, contexts, seed=2,
                                          chunk_rows=9))
  assert "draw" in sampling._COMPILED[flow]
  for chunk, (row_of, samples) in enumerate(chunks):
    np.testing.assert_allclose(samples, flow.sample(
        len(row_of), contexts[row_of], seed=tf.constant([2, chunk])),
        atol=1e-4)
  assert [len(rows) for rows, _ in chunks] == [9, 9, 3]
