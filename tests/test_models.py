"""The paper's model family (maf_tf.models): MADE MoG, MAF MoG, MADE,
Real NVP and the Gaussian, and the spline flow NSF, each through the same
contract as MAF:
normalised densities, samples that follow them, the TFP view, exact
inverses, save/load, the conditional protocol and one-line errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import (assert_integrates_to_one, assert_samples_match_density,
                     randomize)
from configs.build import build_model, load_data
from configs.presets import PRESETS
from maf_tf import (MAF, NSF, Gaussian, MADEMoG, PixelMAF, RealNVP,
                    build_flow)
from maf_tf.data import DatasetDescription
from maf_tf.evaluation import log_likelihoods
from maf_tf.made import autoregressive_inverse
from maf_tf.mog import mog_log_prob, mog_noise
from maf_tf.sampling import fast_autoregressive_inverse

RNG = np.random.default_rng(0)
# Training data of the Gaussians: correlated, two classes apart.
POINTS = RNG.normal(size=(400, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])
LABELS = (np.arange(400) % 2).astype(np.int64)
POINTS[LABELS == 1] += [1.5, -1.0]


def _random(model):
  randomize(model, seed=5)
  return model


def _gaussian(context_size=0, event_size=2):
  model = Gaussian(event_size=event_size, context_size=context_size,
                   dtype="float64")
  points = POINTS[:, :event_size]
  context = (tf.one_hot(LABELS, 2, dtype=tf.float64) if context_size
             else None)
  model.base.accumulate(tf.constant(points), context)
  return model


def _kwargs(**kwargs):
  return {"hidden_units": [16], "dtype": "float64", **kwargs}


MODELS = {
    "made_mog": lambda: _random(MADEMoG(event_size=2, num_components=3,
                                        **_kwargs())),
    "made_mog_conditional": lambda: _random(MADEMoG(
        event_size=2, num_components=3, context_size=2, context_type="labels",
        **_kwargs(hidden_units=[16, 12]))),
    "maf_mog_batch_norm": lambda: _random(MAF(
        event_size=2, num_layers=2, base="made_mog", num_components=3,
        batch_norm="after_each", **_kwargs())),
    "maf_mog_conditional": lambda: _random(MAF(
        event_size=2, num_layers=2, base="made_mog", num_components=2,
        context_size=2, context_type="labels", **_kwargs())),
    "made": lambda: _random(MAF(event_size=2, num_layers=1, **_kwargs())),
    "real_nvp_batch_norm": lambda: _random(RealNVP(
        event_size=2, num_layers=3, batch_norm="after_each", **_kwargs())),
    "real_nvp_conditional": lambda: _random(RealNVP(
        event_size=2, num_layers=2, context_size=2, context_type="labels", **_kwargs())),
    "nsf_batch_norm": lambda: _random(NSF(
        event_size=2, num_layers=3, batch_norm="after_each", bins=4,
        bound=2.0, **_kwargs())),
    "nsf_conditional_made_mog": lambda: _random(NSF(
        event_size=2, num_layers=2, base="made_mog", num_components=2,
        context_size=2, context_type="labels", **_kwargs())),
    "gaussian": _gaussian,
    "gaussian_conditional": lambda: _gaussian(context_size=2),
}


def _context(model, n, label=1):
  if not model.context_size:
    return None
  return tf.one_hot(tf.fill([n], label), model.context_size,
                    dtype=tf.float64)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_density_integrates_to_one(name):
  assert_integrates_to_one(MODELS[name](), _context)


@pytest.mark.parametrize("name", ["made_mog", "maf_mog_batch_norm",
                                  "gaussian"])
def test_one_dimensional_density_integrates_to_one(name):
  model = {"made_mog": lambda: _random(MADEMoG(event_size=1, **_kwargs())),
           "maf_mog_batch_norm": lambda: _random(MAF(
               event_size=1, num_layers=2, base="made_mog",
               batch_norm="after_each", **_kwargs())),
           "gaussian": lambda: _gaussian(event_size=1)}[name]()
  grid = np.linspace(-40, 40, 200_001)[:, None]
  density = np.exp(model.log_prob(grid).numpy())
  assert abs(density.sum() * (grid[1, 0] - grid[0, 0]) - 1.0) < 1e-3


@pytest.mark.parametrize("name", sorted(MODELS))
def test_samples_follow_the_density(name):
  model = MODELS[name]()
  samples = model.sample(40_000, _context(model, 40_000), seed=1)
  assert_samples_match_density(
      samples, lambda p: model.log_prob(p, _context(model, len(p))),
      wrong=_shifted_normal)


def _shifted_normal(points):
  """log N(points; (1, 1), I): a density the samples must not match."""
  return -0.5 * np.sum((points - 1.0)**2, -1) - math.log(2 * math.pi)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_log_prob_equals_the_tfp_distribution_and_inverts(name):
  model = MODELS[name]()
  x = tf.constant(RNG.normal(size=(7, 2)))
  context = _context(model, 7)
  np.testing.assert_allclose(model.log_prob(x, context),
                             model.distribution(context).log_prob(x),
                             rtol=1e-10, atol=1e-10)
  z, _ = model.to_base(x, context)
  np.testing.assert_allclose(model.to_data(z, context), x, atol=1e-8)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_and_load_give_identical_log_prob(name, tmp_path):
  model = MODELS[name]()
  x = tf.constant(RNG.normal(size=(5, 2)))
  path = str(tmp_path / "model.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  assert type(loaded) is type(model)
  np.testing.assert_array_equal(loaded.log_prob(x, _context(model, 5)),
                                model.log_prob(x, _context(model, 5)))


def _reference_mog(x, parameters, bound):
  """log p in float64 NumPy, written out with log-sum-exp by hand."""
  k = parameters.shape[-1] // 3
  logits, means, raw = (parameters[..., :k], parameters[..., k:2 * k],
                        parameters[..., 2 * k:])
  log_weights = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)
                                       ).sum(-1, keepdims=True)) \
      - logits.max(-1, keepdims=True)
  log_scales = raw / (1.0 + np.abs(raw) / bound)
  terms = (log_weights - 0.5 * ((x[..., None] - means) / np.exp(log_scales))
           ** 2 - log_scales - 0.5 * np.log(2 * np.pi))
  top = terms.max(-1, keepdims=True)
  return (top[..., 0] + np.log(np.exp(terms - top).sum(-1))).sum(-1)


def test_mog_log_density_matches_numpy_in_tails_and_tiny_weights():
  parameters = RNG.normal(size=(6, 4, 9))
  parameters[0, :, :3] = [0.0, -80.0, -200.0]   # weights 1, e-80, e-200
  parameters[1, :, 3:6] = [50.0, -50.0, 0.0]    # means far from x
  x = RNG.normal(size=(6, 4))
  x[2] = 1e3                                    # far tail of every component
  x[3] = -300.0
  got = mog_log_prob(tf.constant(x), tf.constant(parameters), 3, 3.0).numpy()
  np.testing.assert_allclose(got, _reference_mog(x, parameters, 3.0),
                             rtol=1e-12)
  assert np.all(np.isfinite(got))
  # A component of weight e-200 that alone explains x: log p stays finite.
  lonely = parameters[:1].copy()
  lonely[..., 3:6] = [100.0, 100.0, 0.0]
  value = mog_log_prob(tf.zeros([1, 4], tf.float64), tf.constant(lonely), 3,
                       3.0).numpy()
  np.testing.assert_allclose(value, _reference_mog(np.zeros((1, 4)), lonely,
                                                   3.0), rtol=1e-12)


@pytest.mark.parametrize("context_size", [0, 3])
def test_fast_mog_sampler_equals_the_naive_reference(context_size):
  model = _random(MADEMoG(event_size=11, num_components=4,
                          context_size=context_size,
                          **_kwargs(hidden_units=[20, 24])))
  made = model.base.made
  noise = mog_noise(9, 11, 4, tf.float64, tf.constant([3, 4]))
  context = (tf.constant(RNG.normal(size=(9, context_size)))
             if context_size else None)
  step = model.base.step
  np.testing.assert_allclose(
      fast_autoregressive_inverse(made, noise, step, context),
      autoregressive_inverse(made, noise, step, context), atol=1e-10)


def test_mog_parameters_depend_only_on_earlier_dimensions():
  model = _random(MADEMoG(event_size=5, num_components=2, activation="tanh",
                          **_kwargs(hidden_units=[12, 12])))
  made = model.base.made
  x = tf.constant(RNG.normal(size=(3, 5)))
  with tf.GradientTape() as tape:
    tape.watch(x)
    parameters = made.parameters(x)                      # [3, 5, 6]
  jacobian = tape.jacobian(parameters, x).numpy()        # [3, 5, 6, 3, 5]
  moved = np.abs(jacobian).sum(axis=(0, 2, 3)) > 0       # [param dim, x dim]
  degrees = made.input_degrees
  np.testing.assert_array_equal(moved, degrees[None, :] < degrees[:, None])


@pytest.mark.parametrize("context_size", [0, 2])
def test_gaussian_fit_equals_numpy_mean_and_covariance(context_size):
  model = Gaussian(event_size=2, context_size=context_size, dtype="float64")
  model.compile()
  data = tf.data.Dataset.from_tensor_slices(
      (POINTS, tf.one_hot(LABELS, 2, dtype=tf.float64)) if context_size
      else POINTS).batch(64)
  model.fit(data, epochs=1, verbose=0)
  base = model.base
  for k in range(max(1, context_size)):
    rows = POINTS[LABELS == k] if context_size else POINTS
    np.testing.assert_allclose(base.loc[k], rows.mean(0), rtol=1e-12)
    covariance = base.scale_tril[k].numpy() @ base.scale_tril[k].numpy().T
    np.testing.assert_allclose(covariance, np.cov(rows.T, bias=True),
                               rtol=1e-7)
  assert not model.trainable_variables


@pytest.mark.parametrize("name", ["made_mog_conditional",
                                  "maf_mog_conditional",
                                  "real_nvp_conditional",
                                  "gaussian_conditional"])
def test_conditional_score_is_logsumexp_over_labels(name):
  model = MODELS[name]()
  x = RNG.normal(size=(6, 2))
  labels = np.array([0, 1, 1, 0, 1, 0])
  data = tf.data.Dataset.from_tensors((x, tf.one_hot(labels, 2,
                                                     dtype=tf.float64)))
  scores = log_likelihoods(model, data)
  per_label = np.stack([model.log_prob(x, _context(model, 6, k)).numpy()
                        for k in range(2)], -1)
  expected = np.log(np.exp(per_label).sum(-1)) - math.log(2)
  np.testing.assert_allclose(scores["log_likelihood"], expected, rtol=1e-6)
  np.testing.assert_allclose(scores["conditional_log_likelihood"],
                             per_label[np.arange(6), labels], rtol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda: MADEMoG(event_size=2, num_components=0),
     "num_components must be a positive integer; got 0"),
    (lambda: MAF(event_size=2, num_layers=2, base="gaussian"),
     "it needs num_layers=0"),
    (lambda: MAF(event_size=2, num_layers=0, base="gaussian"),
     "build it as maf_tf.Gaussian"),
    (lambda: MAF(event_size=2, num_layers=0),
     "num_layers must be a positive integer; got 0"),
    (lambda: RealNVP(event_size=1), "needs event_size >= 2"),
    (lambda: RealNVP(event_size=3, affine="shift_then_scale"),
     "RealNVP takes no affine"),
    (lambda: RealNVP(event_size=3, ordering="random"),
     "ordering must be 'alternate'"),
])
def test_bad_arguments_name_what_was_expected(make, message):
  with pytest.raises(ValueError, match=message):
    make()


@pytest.mark.parametrize("model", [
    lambda: MADEMoG(event_size=2, hidden_units=[8]),
    lambda: RealNVP(event_size=2, hidden_units=[8]),
    lambda: Gaussian(event_size=2)])
def test_a_context_for_an_unconditional_model_is_one_line(model):
  with pytest.raises(ValueError, match="this flow is unconditional"):
    model().log_prob(tf.zeros([1, 2]), tf.zeros([1, 2]))


def test_every_trainable_variable_of_a_maf_mog_receives_a_gradient():
  model = _random(MAF(event_size=3, num_layers=2, base="made_mog",
                      batch_norm="between", context_size=2, **_kwargs()))
  x = tf.constant(RNG.normal(size=(8, 3)))
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(model.log_prob(x, _context(model, 8),
                                          training=True))
  gradients = tape.gradient(loss, model.trainable_variables)
  assert all(g is not None and np.any(g.numpy()) for g in gradients)


def test_models_are_built_from_the_description_and_keep_it():
  data = load_data(PRESETS["digits"].replace(conditional=True))
  flow = build_model(PRESETS["digits"].replace(conditional=True),
                     data.description)
  assert isinstance(flow, PixelMAF)
  assert (flow.event_size, flow.image_shape, flow.context_size,
          flow.alpha) == (64, (8, 8, 1), 10, 0.05)
  restored = PixelMAF.from_config(flow.get_config())
  assert restored.image_shape == (8, 8, 1)
  toy = build_flow(DatasetDescription("two_moons", "toy", 2), num_layers=1,
                   hidden_units=[4])
  assert type(toy) is MAF and toy.image_shape is None
