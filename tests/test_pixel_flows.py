"""Pixel-space flows and the units of their scores."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import random_flow, randomize
from maf_tf import PixelMAF
from maf_tf.bijectors import logits_to_pixels, pixels_to_logits
from maf_tf.pixel_flows import to_uint8


def _pixel_flow(alpha=0.05, **kwargs):
  return random_flow(PixelMAF, weights_seed=3, event_size=2, alpha=alpha,
                     num_layers=2, hidden_units=[16], **kwargs)


def test_pixel_and_logit_densities_differ_by_the_hand_computed_log_det():
  alpha = 1e-6
  flow = _pixel_flow(alpha)
  x = np.array([[0.3, 0.9], [0.001, 0.999]])
  pixel, logit = flow.log_prob_pixel_and_logit(x)
  s = alpha + (1 - 2 * alpha) * x
  y = np.log(s / (1 - s))
  expected_logit = flow.distribution().log_prob(x) - np.sum(
      np.log(1 - 2 * alpha) - np.log(s) - np.log(1 - s), axis=1)
  np.testing.assert_allclose(logit, expected_logit, rtol=1e-10)
  # The logit density is the MAF's density evaluated at y = logit(s).
  z, log_det = flow.logit_to_base(tf.constant(y))
  np.testing.assert_allclose(
      logit, flow.base.distribution().log_prob(z) + log_det, rtol=1e-10)
  np.testing.assert_allclose(flow.bits_per_dim(x),
                             -pixel / (2 * np.log(2)) + 8, rtol=1e-12)


def test_pixel_density_has_the_mass_of_the_logit_density_on_its_box():
  # Pixels in [0, 1]^2 are logits in [-L, L]^2, L = logit(1 - alpha): the
  # pixel density's mass there is the logit-space MAF's mass on that box.
  alpha = 0.05
  flow = _pixel_flow(alpha, batch_norm="between")
  axis = (np.arange(800) + 0.5) / 800
  points = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  pixel_mass = np.exp(flow.log_prob(points).numpy()).sum() / 800**2
  bound = np.log((1 - alpha) / alpha)
  axis = -bound + 2 * bound * axis
  logits = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  z, log_det = flow.logit_to_base(tf.constant(logits))
  logit_density = np.exp(flow.base.distribution().log_prob(z) + log_det)
  logit_mass = logit_density.sum() * (2 * bound / 800)**2
  assert logit_mass > 0.3
  assert abs(pixel_mass - logit_mass) < 0.01


def test_samples_are_pixels_and_round_trip(tmp_path):
  flow = PixelMAF(event_size=6, alpha=1e-6, num_layers=2, hidden_units=[8],
                  context_size=2)
  samples = flow.sample(50, tf.constant([1.0, 0.0]), seed=1)
  assert np.all((samples.numpy() >= 0) & (samples.numpy() <= 1))
  images = to_uint8(samples)
  assert images.dtype == tf.uint8
  path = str(tmp_path / "pixel.keras")
  flow.save(path)
  loaded = keras.models.load_model(path)
  assert loaded.alpha == 1e-6
  context = tf.tile([[1.0, 0.0]], [50, 1])
  np.testing.assert_array_equal(loaded.log_prob(samples, context),
                                flow.log_prob(samples, context))


def test_bad_alpha():
  with pytest.raises(ValueError, match=r"alpha must be in \(0, 0.5\)"):
    PixelMAF(event_size=2, alpha=0.5)


@pytest.mark.parametrize("alpha", [1e-6, 0.05])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_logit_transform_at_the_domain_edges(alpha, dtype):
  """Pixels at and next to 0 and 1 (black and white, the most common
  values): finite logits, symmetric about 1/2, a log-det equal to
  autodiff's and an exact way back."""
  x = tf.constant([[0.0, 1e-7, 0.5, 1.0 - 1e-7, 1.0]], dtype)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y, log_det = pixels_to_logits(x, alpha)
  slopes = tape.gradient(y, x).numpy()
  assert np.all(np.isfinite(y)) and np.all(np.isfinite(log_det))
  assert y[0, 0] < y[0, 1] < y[0, 2] == 0.0 < y[0, 3] < y[0, 4]
  np.testing.assert_allclose(y[0, 4], -y[0, 0], rtol=1e-7)
  np.testing.assert_allclose(log_det, np.log(slopes).sum(-1), rtol=1e-6)
  np.testing.assert_allclose(logits_to_pixels(y, alpha), x,
                             atol=1e-6 if dtype == tf.float32 else 1e-12)


def test_all_black_and_all_white_images_have_finite_densities():
  flow = PixelMAF(event_size=6, alpha=1e-6, num_layers=2, hidden_units=[8],
                  batch_norm="between")
  randomize(flow, seed=2, scale=0.1)
  edges = tf.constant([[0.0] * 6, [1.0] * 6, [0.0, 1.0] * 3])
  pixel, logit = flow.log_prob_pixel_and_logit(edges)
  assert np.all(np.isfinite(pixel)) and np.all(np.isfinite(logit))
