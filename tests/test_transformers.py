"""Every registered transformer (maf_tf.transformers.TRANSFORMERS), by
the same checks: zero parameters are the identity, the step inverts
to_base, the log-slopes are autodiff's, a flow of it has the log-det of
its Jacobian, integrates to one, samples as it scores, samples the same
by both samplers and survives saving. A new transformer is registered
and these run on it."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import assert_samples_match_density, random_flow, square_grid
from maf_tf import MAF, IAF
from maf_tf.transformers import (TRANSFORMERS, Affine, per_dimension,
                                 transformer_from)

NAMES = sorted(TRANSFORMERS)
# the paper's affine form is a transformer of its own in every test
SPECS = [*NAMES, {"name": "affine", "affine": "shift_then_scale"}]
IDS = [*NAMES, "affine_paper"]


def _rng(seed=0):
  """A generator of its own for each draw: a test alone draws what it
  draws in the suite."""
  return np.random.default_rng(seed)


def _outputs(transformer, rows, size, scale=1.0):
  return tf.constant(_rng(1).normal(size=(
      rows, transformer.params_per_dimension * size)) * scale)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_zero_parameters_are_the_identity(spec):
  transformer = transformer_from(spec)
  x = tf.constant(_rng().normal(size=(50, 3)) * 3)
  z, log_slopes = transformer.to_base(
      x, tf.zeros([50, transformer.params_per_dimension * 3], tf.float64))
  np.testing.assert_allclose(z, x, atol=1e-12)
  np.testing.assert_allclose(log_slopes, 0.0, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_step_inverts_to_base_and_the_slopes_are_autodiffs(spec):
  transformer = transformer_from(spec)
  outputs = _outputs(transformer, 400, 3, scale=2.0)
  x = tf.constant(_rng().normal(size=(400, 3)) * 3)
  with tf.GradientTape() as tape:
    tape.watch(x)
    z, log_slopes = transformer.to_base(x, outputs)
  slopes = tape.gradient(z, x)  # elementwise: d z_d / d x_d
  np.testing.assert_allclose(log_slopes, np.log(slopes), atol=1e-8)
  params = per_dimension(outputs, transformer.params_per_dimension)
  back = transformer.step(params, z[..., None])
  np.testing.assert_allclose(back, x, atol=1e-8)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("flow_class", [MAF, IAF])
def test_a_flow_of_it_has_its_jacobians_log_det(spec, flow_class):
  flow = random_flow(flow_class, 1, scale=1.0, event_size=4, num_layers=2,
                     hidden_units=[16], transformer=spec,
                     hidden_degrees="random", context_size=2)
  x = tf.constant(_rng().normal(size=(6, 4)) * 2)
  context = tf.constant(_rng(2).normal(size=(6, 2)))
  with tf.GradientTape() as tape:
    tape.watch(x)
    z, log_det = flow.to_base(x, context)
  jacobian = tape.batch_jacobian(z, x).numpy()
  np.testing.assert_allclose(log_det, np.linalg.slogdet(jacobian)[1],
                             atol=1e-8)
  np.testing.assert_allclose(flow.to_data(z, context), x, atol=1e-7)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_flow_of_it_integrates_to_one_and_samples_as_it_scores(spec):
  flow = random_flow(MAF, 2, event_size=2, num_layers=2,
                     hidden_units=[16], transformer=spec)
  # a grid finer than square_grid's: a spline's bins may be narrow
  points, cell = square_grid(12.0, 1000)
  assert abs(np.exp(flow.log_prob(points)).sum() * cell - 1.0) < 0.01
  samples = flow.sample(40_000, seed=3).numpy()
  assert_samples_match_density(samples, flow.log_prob,
                               wrong=flow.base.log_prob)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_both_samplers_draw_the_same_samples(spec):
  flow = random_flow(MAF, 3, scale=1.0, event_size=17, num_layers=2,
                     hidden_units=[40], transformer=spec,
                     hidden_degrees="random")
  fast = flow.sample(64, seed=5)
  naive = flow.sample(64, seed=5, sampler="naive")
  np.testing.assert_allclose(fast, naive, atol=1e-9)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_flow_of_it_saves_and_loads(spec, tmp_path):
  flow = random_flow(MAF, 4, event_size=3, num_layers=2, hidden_units=[8],
                     transformer=spec)
  path = os.path.join(tmp_path, "flow.keras")
  flow.save(path)
  loaded = keras.saving.load_model(path)
  assert loaded.transformer.spec() == flow.transformer.spec()
  x = _rng().normal(size=(5, 3))
  np.testing.assert_allclose(loaded.log_prob(x), flow.log_prob(x),
                             atol=1e-12)


def test_a_transformer_object_or_a_name_with_the_flows_affine_arguments():
  flow = MAF(event_size=2, num_layers=1, hidden_units=[4],
             affine="shift_then_scale", log_scale_bound=3.0)
  assert flow.transformer.spec() == {"name": "affine",
                                     "affine": "shift_then_scale",
                                     "log_scale_bound": 3.0}
  given = Affine(log_scale_bound=2.0)
  assert MAF(event_size=2, num_layers=1, hidden_units=[4],
             transformer=given).transformer is given


@pytest.mark.parametrize("spec, message", [
    ("quadratic", "transformer must be one of"),
    ({"name": "spline", "bins": 1}, "bins must be"),
    ({"name": "spline", "bound": -1.0}, "bound must be"),
    ({"name": "affine", "affine": "shift"}, "affine must be one of")])
def test_a_bad_transformer_is_one_line(spec, message):
  with pytest.raises(ValueError, match=message):
    MAF(event_size=2, num_layers=1, hidden_units=[4], transformer=spec)
