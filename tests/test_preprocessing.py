"""The preprocessing chain (bounds, standardisation, a feature context)
in front of every model: exact log-dets, densities that integrate to one
in the data's units, samples inside the bounds, and the chain kept by
.keras files and SavedModels."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers import random_flow
from maf_tf import MAF, NSF, Gaussian, MADEMoG, RealNVP
from maf_tf.bijectors.columns import ColumnBijector, ColumnMap
from maf_tf.export import export_saved_model
from maf_tf.preprocessing import fit_preprocessing

BOUNDS = ([0.0, None, -1.0, None], [None, 2.0, 3.0, None])


def _columns(dtype=tf.float64):
  return ColumnMap(*BOUNDS, mean=[0.1, -0.2, 0.3, 5.0],
                   scale=[2.0, 0.5, 1.5, 10.0], dtype=dtype)


def _inside(count, seed=0):
  rng = np.random.default_rng(seed)
  return np.stack([rng.uniform(0.01, 9, count), rng.uniform(-9, 1.99, count),
                   rng.uniform(-0.99, 2.99, count),
                   rng.normal(0, 10, count)], axis=1)


def test_column_log_det_is_the_autodiff_jacobians():
  x = tf.constant(_inside(16))
  with tf.GradientTape() as tape:
    tape.watch(x)
    standard, log_det = _columns().to_standard(x)
  jacobian = tape.batch_jacobian(standard, x).numpy()
  np.testing.assert_allclose(log_det, np.linalg.slogdet(jacobian)[1],
                             atol=1e-10)
  # diagonal: each column maps alone
  off_diagonal = jacobian * (1 - np.eye(4))
  assert not off_diagonal.any()


def test_column_map_round_trips_and_its_bijector_agrees():
  x = _inside(32)
  columns = _columns()
  standard, log_det = columns.to_standard(tf.constant(x))
  np.testing.assert_allclose(columns.to_data(standard), x, rtol=1e-9)
  bijector = ColumnBijector(columns, tf.float64)
  np.testing.assert_allclose(bijector.inverse_log_det_jacobian(x, 1),
                             log_det)
  np.testing.assert_allclose(bijector.forward(standard), x, rtol=1e-9)


def test_outside_or_on_a_bound_is_minus_infinity_and_nan_stays_nan():
  x = _inside(4)
  x[0, 0] = 0.0       # on the lower bound
  x[1, 1] = 2.5       # above the upper
  x[2, 2] = -1.0      # on the interval's lower end
  x[3, 3] = np.nan
  standard, log_det = _columns().to_standard(tf.constant(x))
  assert np.all(log_det.numpy()[:3] == -np.inf)
  assert np.isfinite(standard.numpy()[:3]).all()  # no NaN from a log
  assert np.isnan(standard.numpy()[3, 3])


def test_samples_stay_inside_the_bounds_even_in_the_tails():
  standard = tf.constant(np.random.default_rng(1).normal(
      0, 30, (20_000, 4)))
  x = _columns().to_data(standard).numpy()
  assert (x[:, 0] >= 0).all() and (x[:, 1] <= 2).all()
  assert ((x[:, 2] >= -1) & (x[:, 2] <= 3)).all()


@pytest.mark.parametrize("lower,upper", [(0.0, 1.0), (0.0, None),
                                         (None, 1.0)])
def test_a_bounded_1d_density_integrates_to_one(lower, upper):
  """In the data's units, through the bound map and standardisation."""
  record = {"lower": [lower], "upper": [upper], "mean": [0.3],
            "scale": [0.8]}
  flow = random_flow(MAF, 3, event_size=1, num_layers=2, hidden_units=[8],
                     preprocessing=record, initialization="uniform")
  low = 0.0 if lower is not None else -60.0
  high = 1.0 if upper is not None else 60.0
  # the one-sided maps have heavy tails: integrate their log-space
  grid = np.linspace(low, high, 400_001)[1:-1]
  if lower is not None and upper is None:
    grid = np.concatenate([np.linspace(1e-9, 1, 200_000),
                           np.linspace(1, 1e4, 400_000)[1:]])
  if upper is not None and lower is None:
    grid = np.concatenate([np.linspace(-1e4, 0, 400_000)[:-1],
                           np.linspace(0, 1 - 1e-9, 200_000)])
  density = np.exp(flow.log_prob(grid[:, None]).numpy())
  assert abs(np.trapezoid(density, grid) - 1.0) < 2e-3


def test_a_2d_density_with_an_interval_and_a_lower_bound_integrates():
  record = fit_preprocessing(
      np.random.default_rng(0).uniform(0.05, 0.95, (100, 2)),
      lower=[0.0, 0.0], upper=[1.0, 1.0])
  flow = random_flow(MAF, 4, event_size=2, num_layers=2, hidden_units=[8],
                     preprocessing=record, initialization="uniform")
  axis = (np.arange(1500) + 0.5) / 1500
  points = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  mass = np.exp(flow.log_prob(points).numpy()).sum() / 1500**2
  assert abs(mass - 1.0) < 5e-3


@pytest.mark.parametrize("cls,kwargs", [
    (MAF, {}), (MAF, {"base": "made_mog", "num_components": 2}),
    (MADEMoG, {"num_components": 2}), (RealNVP, {}), (NSF, {"bins": 4}),
    (MAF, {"num_layers": 1, "batch_norm": None})])
def test_every_model_carries_the_chain(cls, kwargs):
  """log_prob = base log_prob at the standardised point + the map's
  log-det, samples come back in bounds, for each model."""
  x = _inside(64)
  record = fit_preprocessing(x, *BOUNDS)
  kwargs = {"num_layers": 2, "hidden_units": [8], **kwargs}
  if cls is MADEMoG:
    kwargs.pop("num_layers")
  flow = random_flow(cls, 0, event_size=4, preprocessing=record, **kwargs)
  bare = cls(event_size=4, dtype="float64", **kwargs)
  bare.set_weights(flow.get_weights())
  columns = ColumnMap(*BOUNDS, record["mean"], record["scale"],
                      tf.float64)
  standard, log_det = columns.to_standard(tf.constant(x))
  np.testing.assert_allclose(flow.log_prob(x),
                             bare.log_prob(standard) + log_det, rtol=1e-9)
  np.testing.assert_allclose(flow.distribution().log_prob(x),
                             flow.log_prob(x), rtol=1e-8)
  samples = flow.sample(500, seed=1).numpy()
  assert (samples[:, 0] >= 0).all() and (samples[:, 1] <= 2).all()


def test_the_gaussian_fits_in_the_data_units():
  """The closed-form fit sees the standardised rows: the same fit as a
  bare Gaussian on them, plus the map's log-det."""
  x = _inside(200)
  record = fit_preprocessing(x, *BOUNDS)
  flow = Gaussian(event_size=4, preprocessing=record, dtype="float64")
  columns = ColumnMap(*BOUNDS, record["mean"], record["scale"], tf.float64)
  standard, log_det = columns.to_standard(tf.constant(x))
  bare = Gaussian(event_size=4, dtype="float64")
  for model, data in ((flow, x), (bare, standard.numpy())):
    model.compile()
    model.fit(data, batch_size=200, verbose=0)
  # fit() hands both float32 rows: agreement to float32's precision
  np.testing.assert_allclose(flow.log_prob(x), bare.log_prob(standard)
                             + log_det, rtol=1e-6)


def test_a_feature_context_is_standardised_by_the_model():
  rng = np.random.default_rng(0)
  x, context = rng.normal(size=(50, 2)), rng.normal(100, 30, (50, 3))
  record = fit_preprocessing(x, context=context)
  flow = random_flow(MAF, 1, event_size=2, context_size=3, num_layers=2,
                     hidden_units=[8], preprocessing=record)
  bare = random_flow(MAF, 1, event_size=2, context_size=3, num_layers=2,
                     hidden_units=[8])
  standard_x = (x - record["mean"]) / record["scale"]
  standard_c = (context - record["context_mean"]) / record["context_scale"]
  np.testing.assert_allclose(
      flow.log_prob(x, context),
      bare.log_prob(standard_x, standard_c) - np.log(record["scale"]).sum(),
      rtol=1e-9)
  assert flow.context_type == "features"


def test_fit_preprocessing_refuses_in_one_line():
  x = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
  with pytest.raises(ValueError, match="'0' is constant"):
    fit_preprocessing(x)
  with pytest.raises(ValueError, match=r"'b' has 2 value\(s\) outside or "
                     "on its bounds"):
    fit_preprocessing(x, lower=[None, 1.5], upper=[None, 3.0],
                      columns=["a", "b"])
  with pytest.raises(ValueError, match="1 row"):
    fit_preprocessing(np.array([[1.0, np.nan], [2.0, 1.0], [0.0, 3.0]]))


def test_bounds_must_be_finite_in_the_flows_dtype():
  record = {"lower": [1e300], "upper": [None], "mean": [0.0],
            "scale": [1.0]}
  with pytest.raises(ValueError, match="finite in float32"):
    MAF(event_size=1, preprocessing=record)
  MAF(event_size=1, preprocessing=record, dtype="float64")


def test_keras_file_and_saved_model_keep_the_chain(tmp_path):
  rng = np.random.default_rng(0)
  x = np.abs(rng.normal(3, 1, (100, 2))).astype(np.float32) + 0.1
  context = rng.normal(0, 5, (100, 3)).astype(np.float32)
  record = fit_preprocessing(x, lower=[0.0, 0.0], context=context)
  flow = random_flow(MAF, 2, event_size=2, context_size=3, num_layers=2,
                     hidden_units=[8], preprocessing=record,
                     dtype="float32")
  path = os.path.join(tmp_path, "flow.keras")
  flow.save(path)
  import keras
  loaded = keras.saving.load_model(path)
  np.testing.assert_allclose(loaded.log_prob(x, context),
                             flow.log_prob(x, context), rtol=1e-6)
  exported = export_saved_model(flow, str(tmp_path))
  # a clean process, TensorFlow only, gives the live model's densities
  np.save(os.path.join(tmp_path, "x.npy"), x[:5])
  np.save(os.path.join(tmp_path, "c.npy"), context[:5])
  done = subprocess.run([sys.executable, "-c", (
      "import sys, numpy as np, tensorflow as tf; "
      "m = tf.saved_model.load(sys.argv[1]); "
      "x, c = np.load(sys.argv[2]), np.load(sys.argv[3]); "
      "print(m.signatures['serving_default'](x=x, context=c)"
      "['log_prob'].numpy().tolist())"), exported,
      os.path.join(tmp_path, "x.npy"), os.path.join(tmp_path, "c.npy")],
      capture_output=True, text=True, check=True,
      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  np.testing.assert_allclose(
      json.loads(done.stdout.strip().splitlines()[-1]),
      flow.log_prob(x[:5], context[:5]), rtol=1e-5)
  served = tf.saved_model.load(exported)
  signature = served.signatures["serving_default"]
  assert set(signature.structured_input_signature[1]) == {"x", "context"}
  assert signature.structured_input_signature[1]["context"].dtype == \
      tf.float32
  np.testing.assert_allclose(
      signature(x=x, context=context)["log_prob"],
      flow.log_prob(x, context), rtol=1e-5)
  sample = served.signatures["sample"]
  shared = sample(num_samples=tf.constant(5), seed=tf.constant(3),
                  context=context[0])["samples"]
  np.testing.assert_allclose(shared, flow.sample(5, context[0], seed=3),
                             rtol=1e-5)
  assert (shared.numpy() >= 0).all()
  for bad in (context[:2], np.full(3, np.nan, np.float32), context[0, :2]):
    with pytest.raises(tf.errors.InvalidArgumentError, match="context"):
      sample(num_samples=tf.constant(5), seed=tf.constant(3), context=bad)
