"""maf_tf.training: fit()'s train step skips non-finite steps and warns
about outliers in batch-norm fit data."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from maf_tf import MAF
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
  data = np.full((40, 2), np.inf, np.float32)
  with pytest.warns(RuntimeWarning, match="4 of 4 training steps were "
                    "skipped.*nothing was trained"):
    history = flow.fit(data, batch_size=10, epochs=1, verbose=0)
  assert np.isnan(history.history["nll"][0])
  assert history.history["skipped_steps"][0] == 4.0
  finite = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
  finite[:10] = np.inf  # one bad batch of four: a warning, finite metrics
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
