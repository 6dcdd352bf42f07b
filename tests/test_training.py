"""maf_tf.training: fit()'s train step skips non-finite steps and warns
about outliers in batch-norm fit data."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from maf_tf import MAF
from maf_tf.ensemble import Ensemble
from maf_tf.training import BadStreak, OutlierWarning, find_outlier


def test_a_nan_batch_is_skipped_and_leaves_the_weights_alone():
  flow = MAF(event_size=2, num_layers=2, hidden_units=[8],
             batch_norm="between")
  flow.compile(keras.optimizers.Adam(1e-2), clip_norm=5.0, weight_decay=1e-6)
  good = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
  flow.train_on_batch(good)
  before = [w.numpy().copy() for w in flow.weights]
  steps = int(flow.optimizer.iterations)
  bad = good.copy()
  bad[3, 1] = np.nan
  logs = flow.train_on_batch(bad, return_dict=True)
  assert logs["skipped_steps"] == 1.0
  assert int(flow.optimizer.iterations) == steps
  for a, b in zip(before, flow.weights):
    np.testing.assert_array_equal(a, b.numpy())
  flow.train_on_batch(good)
  assert int(flow.optimizer.iterations) == steps + 1


def test_an_epoch_of_skipped_steps_reports_nan_and_warns():
  flow = MAF(event_size=2, num_layers=1, hidden_units=[8])
  flow.compile(keras.optimizers.Adam(1e-3))
  # finite values whose loss is not (NaN and infinities are refused)
  data = np.full((40, 2), 1e30, np.float32)
  with pytest.warns(RuntimeWarning, match="4 of 4 training steps were "
                    "skipped.*nothing was trained"):
    history = flow.fit(data, batch_size=10, epochs=1, verbose=0)
  assert np.isnan(history.history["nll"][0])
  assert history.history["skipped_steps"][0] == 4.0
  finite = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
  finite[:10] = 1e30  # one bad batch of four: a warning, finite metrics
  with pytest.warns(RuntimeWarning, match="1 of 4 training steps"):
    history = flow.fit(finite, batch_size=10, epochs=1, shuffle=False,
                       verbose=0)
  assert np.isfinite(history.history["nll"][0])


def test_an_outlier_in_batch_norm_fit_data_warns():
  """One value 10^4 scales out skews the moving statistics that log_prob
  uses (measured: mean log_prob -2.8 -> -7.6 on clean data)."""
  data = np.random.default_rng(0).normal(size=(400, 2)).astype(np.float32)
  flow = MAF(event_size=2, num_layers=2, hidden_units=[8],
             batch_norm="between")
  flow.compile(keras.optimizers.Adam(1e-3))
  with warnings.catch_warnings():
    warnings.simplefilter("error", OutlierWarning)
    flow.fit(data, batch_size=100, epochs=1, verbose=0)  # clean: silent
  data[390, 1] = 1e4
  with pytest.warns(OutlierWarning, match=r"x\[390\] holds 10000 in "
                    "dimension 1.*recompute_batch_norm"):
    flow.fit(data, batch_size=100, epochs=1, verbose=0)
  no_norm = MAF(event_size=2, num_layers=1, hidden_units=[8])
  no_norm.compile(keras.optimizers.Adam(1e-3))
  with warnings.catch_warnings():
    warnings.simplefilter("error", OutlierWarning)
    no_norm.fit(data, batch_size=100, epochs=1, verbose=0)
  # an ensemble warns when its members have batch norm
  members = Ensemble([MAF(event_size=2, num_layers=2, hidden_units=[8],
                          batch_norm="between", seed=k) for k in range(2)])
  members.compile(keras.optimizers.Adam(1e-3))
  with pytest.warns(OutlierWarning):
    members.fit(data, batch_size=100, epochs=1, verbose=0)


def test_ordinary_data_has_no_outlier():
  rng = np.random.default_rng(0)
  pixels = rng.integers(0, 256, (500, 64)).astype(np.float64)
  pixels[:, :8] = 0  # a constant border: no spread, skipped
  pixels[0, 0] = 255
  assert find_outlier((pixels + rng.uniform(size=pixels.shape)) / 256) is None
  assert find_outlier(rng.standard_t(3, size=(5000, 3))) is None
  heavy = rng.normal(size=(500, 3))
  heavy[7, 2] = -5e3
  assert find_outlier(heavy)[:3] == (7, 2, -5e3)


def test_bad_streak_counts_runs_across_epochs():
  streak = BadStreak()
  for finite in (False, False, True, False):
    streak.update_state(tf.constant(finite))
  assert float(streak.result()) == 2.0
  streak.reset_state()  # a new epoch: the open run of 1 carries over
  assert float(streak.result()) == 1.0
  streak.update_state(tf.constant(False))
  assert float(streak.result()) == 2.0


def _with_nan_rows(rows=5000, every=125):
  x = np.random.default_rng(0).standard_normal((rows, 3)).astype(np.float32)
  x[::every, 1] = np.nan
  return x


@pytest.mark.parametrize("as_dataset", [False, True])
def test_fit_refuses_data_with_nan_naming_rows_and_columns(as_dataset):
  """It warned that "16 of 20 training steps were skipped because the loss
  or a gradient was NaN or Inf" and carried on, never naming the input."""
  x = _with_nan_rows()
  flow = MAF(event_size=3, num_layers=1, hidden_units=[8])
  flow.compile()
  before = [w.numpy().copy() for w in flow.weights]
  data = tf.data.Dataset.from_tensor_slices(x).batch(250) if as_dataset \
      else x
  with pytest.raises(ValueError, match=(
      r"holds NaN or infinite values in 40 of 5000 rows \(rows 0, 125, "
      r"250, 375, 500, \.\.\.; columns 1\); remove or impute them")):
    flow.fit(data, epochs=1, verbose=0)
  for a, b in zip(before, flow.weights):
    np.testing.assert_array_equal(a, b.numpy())
  context = np.zeros((5000, 2), np.float32)
  context[7, 0] = np.inf
  conditional = MAF(event_size=3, num_layers=1, hidden_units=[8],
                    context_size=2)
  conditional.compile()
  with pytest.raises(ValueError, match=r"the context \(y\) holds NaN .* "
                     r"in 1 of 5000 rows \(rows 7; columns 0\)"):
    conditional.fit(np.nan_to_num(x), context, epochs=1, verbose=0)


def test_the_closed_form_fit_refuses_nan_and_a_singular_covariance():
  """One NaN row gave a NaN mean and covariance that .save() kept; one row
  gave NaN densities silently."""
  from maf_tf import Gaussian
  gaussian = Gaussian(event_size=3)
  gaussian.compile()
  with pytest.raises(ValueError, match="holds NaN or infinite values"):
    gaussian.fit(_with_nan_rows(), verbose=0)
  x = np.nan_to_num(_with_nan_rows())
  with pytest.raises(ValueError, match=(
      r"needs more rows than its 3 dimensions in every class; it was shown "
      r"1 row: its covariance would be singular. The fit was undone")):
    gaussian.fit(x[:1], verbose=0)
  assert float(gaussian.base.count[0]) == 0  # undone: still N(0, I)
  gaussian.fit(x, verbose=0)
  assert np.isfinite(gaussian.log_prob(x[:10]).numpy()).all()
  labels = keras.utils.to_categorical(np.arange(5000) % 2, 3)  # no class 2
  conditional = Gaussian(event_size=3, context_size=3)
  conditional.compile()
  with pytest.raises(ValueError, match="class 2 was shown 0 rows"):
    conditional.fit(x, labels, verbose=0)


@pytest.mark.parametrize("build, message", [
    (lambda: __import__("maf_tf").NSF(event_size=2, bound=1e308),
     r"bound must be at most 1.84e\+18 for a model computing in float32"),
    (lambda: __import__("maf_tf").NSF(event_size=2, bound=1e30,
                                      dtype="float64"), None),
    (lambda: __import__("maf_tf").NSF(event_size=2, bins=10**7),
     "bins must be at most 500"),
    (lambda: MAF(event_size=2, log_scale_bound=1000.0),
     "log_scale_bound must be at most 44.4"),
])
def test_float_arguments_are_checked_in_the_dtype_the_model_computes_in(
    build, message):
  """NSF(bound=1e308) was accepted (finite in float64) and its log_prob
  was NaN in float32."""
  if message is None:
    build()  # float64 has the range for it
    return
  with pytest.raises(ValueError, match=message):
    build()


def test_a_context_of_a_billion_labels_is_counted_before_allocation():
  from maf_tf import build_flow
  from maf_tf.data import describe_arrays
  x = np.zeros((4, 2), np.float32)
  description = describe_arrays("points", x, np.array([0, 1, 2, 10**9]))
  with pytest.raises(ValueError, match=(
      r"this maf would have 2,560,000,\d+,\d+ weights, more than "
      r"max_weights=1,000,000,000, for 2 dimensions and a context of "
      r"1,000,000,001; refused before allocating them")):
    build_flow(description, conditional=True, hidden_units=[512])
