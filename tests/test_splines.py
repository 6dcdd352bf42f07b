"""The rational-quadratic spline (maf_tf.splines) and the spline flow NSF:
TFP's spline as referee, round trips, knots, bounds, tails, the smallest
bins and derivatives, gradients, the autoregressive structure and the
fast sampler."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from helpers import randomize
from maf_tf import MAF, NSF, PixelNSF
from maf_tf.data import load_splits
from maf_tf.made import MADE, autoregressive_inverse
from maf_tf.transformers import Spline
from maf_tf.sampling import fast_autoregressive_inverse
from maf_tf.splines import (MIN_BIN, MIN_DERIVATIVE, _bins, _knots,
                            spline_to_base, spline_to_data)

K, B = 8, 3.0
SPLINE = Spline(K, B)
RNG = np.random.default_rng(0)


def _raw(n, scale=1.0, dtype=np.float64, seed=0):
  return tf.constant(np.random.default_rng(seed).normal(
      size=(n, 3 * K - 1)) * scale, dtype)


def test_agrees_with_tfps_rational_quadratic_spline():
  raw = _raw(2000, scale=2.0)
  x = tf.constant(RNG.uniform(-1.5 * B, 1.5 * B, 2000))
  x_knots, y_knots, derivatives = _knots(raw, B)
  tfp_spline = tfp.bijectors.RationalQuadraticSpline(
      bin_widths=x_knots[..., 1:] - x_knots[..., :-1],
      bin_heights=y_knots[..., 1:] - y_knots[..., :-1],
      knot_slopes=derivatives[..., 1:-1], range_min=-B)
  z, log_det = spline_to_base(x, raw, B)
  np.testing.assert_allclose(z, tfp_spline.forward(x), atol=1e-12)
  np.testing.assert_allclose(log_det, tfp_spline.forward_log_det_jacobian(
      x, event_ndims=0), atol=1e-10)
  np.testing.assert_allclose(spline_to_data(z, raw, B),
                             tfp_spline.inverse(z), atol=1e-10)


def test_zero_parameters_are_the_identity():
  x = tf.constant(np.linspace(-2 * B, 2 * B, 101))
  z, log_det = spline_to_base(x, tf.zeros([101, 3 * K - 1], tf.float64), B)
  np.testing.assert_allclose(z, x, atol=1e-12)
  np.testing.assert_allclose(log_det, 0.0, atol=1e-12)


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 1e-5),
                                              (np.float64, 1e-10)])
def test_round_trips_hold_to_the_precision_of_the_dtype(dtype, tolerance):
  """Both ways round, on parameters of the size a trained MADE gives
  (N(0, 1)). Where the spline is very flat (slope g' << 1) x is fixed
  by z only to eps / g', so x -> z -> x is held to tolerance / min(g', 1)
  there; z -> x -> z is held to tolerance / min(1 / g', 1)."""
  raw = _raw(20000, dtype=dtype)
  x = tf.constant(RNG.uniform(-1.2 * B, 1.2 * B, 20000), dtype)
  z, log_det = spline_to_base(x, raw, B)
  slope = np.exp(log_det.numpy().astype(np.float64))
  x_error = np.abs(spline_to_data(z, raw, B).numpy() - x.numpy())
  assert np.all(x_error * np.minimum(slope, 1.0) < tolerance)
  back, back_log_det = spline_to_base(spline_to_data(x, raw, B), raw, B)
  x_slope = np.exp(-back_log_det.numpy().astype(np.float64))
  z_error = np.abs(back.numpy() - x.numpy())
  assert np.all(z_error * np.minimum(x_slope, 1.0) < tolerance)
  assert np.median(x_error) < tolerance / 10


def _special_points(raw):
  """Every knot (x and y) of each row, +-B, just inside and outside,
  far in the tails."""
  x_knots, y_knots, _ = _knots(raw, B)
  extra = np.array([-B, B, -B * (1 - 1e-12), B * (1 - 1e-12), -B * 1.01,
                    B * 1.01, -1e6, 1e6, -1e30, 1e30])
  return np.concatenate([x_knots.numpy(), y_knots.numpy(), np.broadcast_to(
      extra, (raw.shape[0], len(extra)))], axis=1)


def _extreme_raw():
  """Rows whose bins sit at the minimum width and height and whose
  derivatives sit at the minimum, or at a very large value, or mixed."""
  rows = []
  for width, height, derivative in [(60.0, 60.0, -60.0), (60.0, -60.0, 60.0),
                                    (-60.0, 60.0, -60.0), (0.0, 0.0, -60.0),
                                    (60.0, 60.0, 60.0)]:
    row = np.zeros(3 * K - 1)
    row[0], row[K + K // 2] = width, height  # one bin takes almost all
    row[2 * K:] = derivative * np.where(np.arange(K - 1) % 2, 1, -1)
    rows.append(row)
  return tf.constant(np.array(rows))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_knots_bounds_tails_and_the_smallest_bins_never_give_nan(dtype):
  raw = tf.cast(tf.concat([_extreme_raw(), _raw(3, scale=3.0)], 0), dtype)
  x_knots, y_knots, derivatives = _knots(raw, B)
  widths = np.diff(x_knots.numpy())
  assert widths.min() >= 2 * B * MIN_BIN * 0.999
  assert derivatives.numpy().min() >= MIN_DERIVATIVE * 0.999
  points = tf.constant(_special_points(raw), dtype)
  wide = tf.repeat(raw[:, None, :], points.shape[1], axis=1)
  z, log_det = spline_to_base(points, wide, B)
  x = spline_to_data(points, wide, B)
  for value in (z, log_det, x):
    assert np.all(np.isfinite(value.numpy()))
  tails = np.abs(points.numpy()) >= B
  np.testing.assert_array_equal(z.numpy()[tails], points.numpy()[tails])
  np.testing.assert_array_equal(log_det.numpy()[tails], 0.0)
  # every value in [-B, B] maps into [-B, B], monotonically
  grid = tf.constant(np.linspace(-B, B, 4001), dtype)[None, :]
  mapped = spline_to_base(tf.repeat(grid, raw.shape[0], 0), tf.repeat(
      raw[:, None, :], 4001, axis=1), B)[0].numpy()
  assert np.all(np.diff(mapped, axis=1) >= 0)
  assert np.all(np.abs(mapped) <= B)


def test_the_inverse_survives_discriminants_that_round_below_zero():
  """float32 points next to the knots of steep, tightly packed splines:
  b^2 - 4ac rounds below zero for some (so this case is met), and the
  inverse is still finite and in its bin for every one."""
  rng = np.random.default_rng(1)
  raw = tf.constant(rng.normal(size=(20000, 3 * K - 1)) * 10, tf.float32)
  _, y_knots, _ = _knots(raw, B)
  knot = np.take_along_axis(y_knots.numpy(), rng.integers(
      0, K + 1, (20000, 1)), 1)[:, 0]
  z = tf.clip_by_value(tf.constant(knot * (1 + rng.normal(size=20000)
                                           * 1e-7), tf.float32), -B, B)
  x_k, width, y_k, height, d_k, d_k1 = _bins(z, raw, B, by_y=True)
  slope, offset = height / width, z - y_k
  curvature = d_k1 + d_k - 2 * slope
  a = height * (slope - d_k) + offset * curvature
  b = height * d_k - offset * curvature
  assert np.any((b * b + 4 * a * slope * offset).numpy() < 0)
  x = spline_to_data(z, raw, B).numpy()
  assert np.all(np.isfinite(x))
  slack = 4 * np.finfo(np.float32).eps * B  # x_k + xi w, rounded
  assert np.all((x >= x_k.numpy() - slack) &
                (x <= (x_k + width).numpy() + slack))


def test_a_batch_entirely_in_the_tails_is_the_identity_with_zero_gradients():
  raw = tf.concat([_extreme_raw(), _raw(59, scale=2.0)], 0)
  x = tf.constant(RNG.choice([-1, 1], 64) * RNG.uniform(B, 100 * B, 64))
  with tf.GradientTape() as tape:
    tape.watch(raw)
    z, log_det = spline_to_base(x, raw, B)
    loss = tf.reduce_sum(z) + tf.reduce_sum(log_det)
  gradient = tape.gradient(loss, raw).numpy()
  np.testing.assert_array_equal(z, x)
  np.testing.assert_array_equal(gradient, 0.0)
  np.testing.assert_array_equal(spline_to_data(x, raw, B), x)


def test_every_parameter_gets_a_finite_gradient_on_knots_and_in_tails():
  raw = tf.concat([_extreme_raw(), _raw(3, scale=3.0)], 0)
  points = tf.constant(_special_points(raw))
  wide = tf.repeat(raw[:, None, :], points.shape[1], axis=1)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([wide, points])
    z, log_det = spline_to_base(points, wide, B)
    loss = tf.reduce_sum(z * 1e-6) + tf.reduce_sum(log_det)
    x = spline_to_data(points, wide, B)
  for gradient in tape.gradient(loss, [wide, points]) + tape.gradient(
      x, [wide, points]):
    assert np.all(np.isfinite(gradient.numpy()))
  # every parameter matters to some point (of the unsaturated rows: a
  # softmax at 60 has gradients of e^-60)
  assert np.all(np.abs(tape.gradient(loss, wide).numpy()[-3:]).sum(1) > 0)


def _spline_made(context_size=0, order="random", hidden_degrees="random"):
  made = MADE(5, [20, 20], order=order, hidden_degrees=hidden_degrees,
              context_size=context_size, num_params=3 * K - 1, seed=3,
              dtype="float64")
  made.build()
  randomize(made, seed=4, scale=3.0)
  return made


def test_each_output_depends_only_on_earlier_inputs():
  """The Jacobian of one spline MADE (data -> base), in its order, is
  lower triangular with a positive diagonal."""
  made = _spline_made()
  x = tf.constant(RNG.normal(size=(8, 5)) * 2)
  with tf.GradientTape() as tape:
    tape.watch(x)
    z, _ = SPLINE.to_base(x, made.outputs(x))
  jacobian = tape.batch_jacobian(z, x).numpy()
  order = np.argsort(made.input_degrees)
  ordered = jacobian[:, order][:, :, order]
  assert np.all(np.triu(ordered, 1) == 0)
  assert np.all(np.diagonal(ordered, axis1=1, axis2=2) > 0)
  assert np.any(np.abs(np.tril(ordered, -1)) > 1e-3)  # it can fail


@pytest.mark.parametrize("context_size", [0, 3])
def test_the_fast_sampler_equals_the_naive_reference(context_size):
  made = _spline_made(context_size)
  z = tf.constant(RNG.normal(size=(50, 5)) * 2)
  context = (tf.constant(RNG.normal(size=(50, 3))) if context_size
             else None)
  naive = autoregressive_inverse(made, z[..., None], SPLINE.step, context)
  fast = fast_autoregressive_inverse(made, z[..., None], SPLINE.step,
                                     context, block=2)
  np.testing.assert_allclose(fast, naive, atol=1e-9)
  back, _ = SPLINE.to_base(fast, made.outputs(fast, context))
  np.testing.assert_allclose(back, z, atol=1e-8)


def test_bad_spline_arguments_are_one_line():
  for bins in (1, 2.5, True, "8"):
    with pytest.raises(ValueError, match="bins must be an integer >= 2"):
      NSF(event_size=2, bins=bins)
  for bound in (0, -1.0, float("inf"), float("nan")):
    with pytest.raises(ValueError, match="bound must be a finite number > 0"):
      NSF(event_size=2, bound=bound)
  with pytest.raises(ValueError, match="NSF takes no affine"):
    NSF(event_size=2, affine="shift_then_scale")


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.parametrize("dataset", ["digits", "fashion_mnist"])
def test_log_prob_is_finite_for_every_test_image(dataset):
  if dataset == "fashion_mnist" and not os.path.isdir(FASHION):
    pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({FASHION})")
  data = load_splits(dataset, **({"source": "idx", "data_dir": FASHION}
                                 if dataset == "fashion_mnist" else {}))
  images = (data.test[0].reshape(len(data.test[0]), -1).astype(np.float32)
            + 0.5) / 256.0  # the middle of each pixel value's interval
  flow = PixelNSF(event_size=images.shape[1], alpha=data.description.alpha,
                  num_layers=2, hidden_units=[64], batch_norm="after_each")
  randomize(flow, seed=1, scale=1.0)
  log_prob = np.concatenate([flow.log_prob(batch).numpy() for batch in
                             np.array_split(images, 10)])
  assert len(log_prob) == len(images) and np.all(np.isfinite(log_prob))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nan_input_passes_through_as_nan_without_an_error(dtype):
  """A NaN passes no knot; its bin must still index inside the knots
  (a gather out of range is an error on CPU, not a NaN)."""
  x = tf.constant([np.nan, 1.0, -np.nan], dtype)
  raw = _raw(3, dtype=dtype)
  z, _ = spline_to_base(x, raw, B)
  back = spline_to_data(x, raw, B)
  for value in (z, back):
    assert np.isnan(value.numpy()[[0, 2]]).all()
    assert np.isfinite(value.numpy()[1])


def _logit_digits():
  """scikit-learn's 8x8 digits as dequantised 8-bit pixels, in the MAF
  paper's MNIST logit space (alpha 1e-6: background pixels near -13.8,
  far outside the spline's default interval [-5, 5])."""
  from sklearn.datasets import load_digits
  from maf_tf.bijectors.logit import pixels_to_logits
  values = np.floor(load_digits().images.reshape(-1, 64) / 16 * 255)
  pixels = (values + np.random.default_rng(0).uniform(
      size=values.shape)) / 256
  logits = pixels_to_logits(tf.constant(pixels, tf.float32), 1e-6)[0]
  return logits.numpy()[:1500], logits.numpy()[1500:]


def test_the_spline_flows_defaults_train_on_pixel_logits():
  """NSF's default standardisation: on logits outside [-B, B] the spline
  flow without it stays near its start (test NLL about 915 nats after 75
  steps) while MAF reaches about 163; with it NSF reaches about 129."""
  from maf_tf import FusedAdam
  train, test = _logit_digits()
  nll = {}
  for name, flow in (("maf", MAF(event_size=64, num_layers=2,
                                 hidden_units=[64])),
                     ("nsf", NSF(event_size=64, num_layers=2,
                                 hidden_units=[64]))):
    flow.compile(optimizer=FusedAdam(1e-3))
    flow.fit(train, batch_size=100, epochs=5, verbose=0)
    nll[name] = -float(np.mean(flow.log_prob(test)))
  assert nll["nsf"] < nll["maf"] + 10, nll
  assert nll["nsf"] < 300, nll


def test_standardize_adapts_once_and_is_kept(tmp_path):
  """fit() adapts the standardisation to its data once; a second fit, a
  .keras round trip and the TFP distribution keep it; the flow's density
  is the bare flow's at the standardised point plus -sum log scale."""
  import keras
  rng = np.random.default_rng(0)
  x = rng.normal([100.0, -3.0], [20.0, 0.01], (400, 2)).astype(np.float32)
  flow = NSF(event_size=2, num_layers=1, hidden_units=[8], bins=4)
  flow.compile()
  flow.fit(x, batch_size=100, epochs=1, verbose=0)
  layer = flow.standardization
  np.testing.assert_allclose(layer.mean.numpy(), x.mean(0), rtol=1e-4)
  # spread so that 3 standard deviations reach the bound (5)
  np.testing.assert_allclose(np.exp(layer.log_scale.numpy()),
                             x.std(0) * 3 / 5, rtol=1e-4)
  flow.fit(x + 50.0, batch_size=100, epochs=1, verbose=0)
  np.testing.assert_allclose(layer.mean.numpy(), x.mean(0), rtol=1e-4)
  bare = NSF(event_size=2, num_layers=1, hidden_units=[8], bins=4,
             standardize=False)
  bare.set_weights([w for w, v in zip(flow.get_weights(), flow.weights)
                    if "standardize" not in v.path])
  standard = (x - layer.mean.numpy()) / np.exp(layer.log_scale.numpy())
  np.testing.assert_allclose(
      flow.log_prob(x), bare.log_prob(standard)
      - layer.log_scale.numpy().sum(), rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(flow.distribution().log_prob(x),
                             flow.log_prob(x), rtol=1e-4, atol=1e-4)
  path = os.path.join(tmp_path, "flow.keras")
  flow.save(path)
  loaded = keras.saving.load_model(path)
  np.testing.assert_allclose(loaded.log_prob(x), flow.log_prob(x),
                             rtol=1e-5)
  samples = flow.sample(2000, seed=0).numpy()
  assert abs(samples[:, 0].mean() - 100) < 5
