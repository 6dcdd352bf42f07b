"""Neural posterior estimation on the Gaussian linear task (theta ~ N(0,
0.1 I), x | theta ~ N(theta, 0.1 I), so p(theta | x) = N(x / 2, 0.05 I)),
small enough to train in a test."""

import os

import keras
import numpy as np
import pytest

from maf_tf.diagnostics import samples_for_each
from maf_tf.sbi import BoxUniform, fit_posterior, simulate

SMALL = dict(patience=10)  # fit_posterior's defaults, stopping sooner


def _simulations(count, seed, size=2):
  rng = np.random.default_rng(seed)
  theta = rng.normal(0, np.sqrt(0.1), (count, size))
  return theta, theta + rng.normal(0, np.sqrt(0.1), (count, size))


def _kl_from_exact_samples(posterior, observations, seed=9):
  """Mean over observations of KL(p || q), from 2,000 exact samples."""
  rng = np.random.default_rng(seed)
  values = []
  for x in observations:
    exact = x / 2 + rng.normal(0, np.sqrt(0.05), (2000, len(x)))
    log_p = (-0.5 * (exact - x / 2) ** 2 / 0.05
             - 0.5 * np.log(2 * np.pi * 0.05)).sum(1)
    log_q = posterior.log_prob(exact.astype(np.float32), np.repeat(
        x[None], 2000, 0).astype(np.float32)).numpy()
    values.append((log_p - log_q).mean())
  return float(np.mean(values))


@pytest.fixture(scope="module", name="posterior")
def _posterior():
  theta, x = _simulations(1000, seed=0)
  return fit_posterior(theta, x, **SMALL)


def test_the_posterior_is_close_to_the_exact_one(posterior):
  """KL measured 0.009-0.022 nats for simulation seeds 0-4 with these
  settings and 1,000 simulations; a posterior that ignored x (the prior)
  is 0.6-0.9 nats away."""
  _, observations = _simulations(10, seed=1)
  assert _kl_from_exact_samples(posterior, observations) < 0.15


def test_a_batch_of_observations_draws_each_its_own_samples(posterior):
  _, observations = _simulations(3, seed=2)
  together = samples_for_each(posterior, 500, observations, seed=4)
  assert together.shape == (3, 500, 2)
  # 3 s.e. of a mean of 500 (0.03) and the model's error: the largest
  # difference measured 0.024-0.069 for simulation seeds 0-4
  np.testing.assert_allclose(together.mean(axis=1), observations / 2,
                             atol=0.09)
  np.testing.assert_allclose(together.std(axis=1), np.sqrt(0.05),
                             rtol=0.25)


def test_the_posterior_saves_and_reloads(posterior, tmp_path):
  path = os.path.join(tmp_path, "posterior.keras")
  posterior.save(path)
  again = keras.models.load_model(path)
  theta, x = _simulations(5, seed=3)
  np.testing.assert_allclose(again.log_prob(theta, x),
                             posterior.log_prob(theta, x), atol=1e-5)


def test_samples_stay_inside_the_priors_bounds():
  rng = np.random.default_rng(5)
  theta = rng.uniform([0, -1], [1, 1], (400, 2))
  x = theta + rng.normal(0, 0.3, (400, 2))
  posterior = fit_posterior(theta, x, bounds=[(0, 1), (-1, None)],
                            num_layers=1, hidden_units=(8,), epochs=3)
  samples = samples_for_each(posterior, 200, x[:4] * 10)  # far outside
  assert (samples[..., 0] > 0).all() and (samples[..., 0] < 1).all()
  assert (samples[..., 1] > -1).all()


@pytest.mark.parametrize("theta,x,kwargs,message", [
    (np.zeros((10, 2)), np.zeros((9, 2)), {}, "one row per simulation"),
    (np.full((10, 1), 2.0), np.zeros((10, 1)), {"bounds": [(0, 1)]},
     "outside or on"),
    (np.zeros((10, 2)), np.zeros((10, 1)), {"bounds": [(0, 1)]},
     "bounds must be 2"),
])
def test_bad_simulations_are_one_line(theta, x, kwargs, message):
  theta = theta + np.arange(10)[:, None] * 1e-3  # not constant
  with pytest.raises(ValueError, match=message):
    fit_posterior(theta, x + np.arange(len(x))[:, None] * 1e-3, **kwargs)


def test_an_ensemble_posterior_trains_its_members_apart():
  theta, x = _simulations(300, seed=6)
  posterior = fit_posterior(theta, x, num_members=2, num_layers=1,
                            hidden_units=(8,), epochs=2)
  first, second = posterior.members
  assert not np.allclose(first.log_prob(theta[:5], x[:5]),
                         second.log_prob(theta[:5], x[:5]))
  assert samples_for_each(posterior, 10, x[:3]).shape == (3, 10, 2)
  with pytest.raises(ValueError, match="num_members must be a positive"):
    fit_posterior(theta, x, num_members=0)


def test_a_nan_observation_or_one_of_the_wrong_width_is_refused(posterior):
  with pytest.raises(ValueError, match="contexts holds NaN"):
    samples_for_each(posterior, 10, np.array([[0.1, np.nan]]))
  with pytest.raises(ValueError, match=r"contexts must have 2 columns, the "
                     r"flow's context size; got shape \[4, 3\]"):
    samples_for_each(posterior, 10, np.zeros((4, 3)))


def test_simulate_draws_pairs_from_a_prior_and_a_simulator():
  prior = BoxUniform([0, -1], [1, 1])
  assert prior.bounds == [(0.0, 1.0), (-1.0, 1.0)]

  def simulator(theta, rng):  # NaN where theta_0 > 0.9, as a failed run
    x = theta.sum(1) + rng.normal(0, 0.1, len(theta))
    return np.where(theta[:, 0] > 0.9, np.nan, x)

  with pytest.warns(UserWarning, match=r"dropped \d+ of 500 simulations"):
    theta, x = simulate(prior, simulator, 500, seed=3)
  assert x.shape == (len(theta), 1) and 400 < len(theta) < 500
  assert (theta[:, 0] <= 0.9).all() and (np.abs(theta[:, 1]) < 1).all()
  with pytest.warns(UserWarning):
    again = simulate(prior, simulator, 500, seed=3)
  np.testing.assert_array_equal(again[1], x)
  prior_function = lambda n, rng: rng.normal(size=(n, 2))  # noqa: E731
  assert simulate(prior_function, lambda t, rng: t * 2, 7)[1].shape == (7, 2)


@pytest.mark.parametrize("prior,simulator,count,message", [
    (BoxUniform([0], [1]), lambda t, rng: t[:-1], 5,
     r"the simulator must give x \[5, Q\], a row per theta; got shape "
     r"\[4, 1\]"),
    (lambda n, rng: np.zeros(n), lambda t, rng: t, 5,
     r"the prior must give theta \[5, P\]; got shape \[5\]"),
    (BoxUniform([0], [1]), lambda t, rng: t * np.nan, 5,
     "all 5 simulations gave NaN"),
    (BoxUniform([0], [1]), lambda t, rng: t, 0,
     "num_simulations must be a positive integer"),
])
def test_bad_priors_and_simulators_are_one_line(prior, simulator, count,
                                                message):
  with pytest.raises(ValueError, match=message):
    simulate(prior, simulator, count)


def test_a_box_needs_low_below_high():
  with pytest.raises(ValueError, match=r"finite low < high, one pair per "
                     r"parameter; got low \[0.0, 1.0\] and high \[1.0, "
                     r"1.0\]"):
    BoxUniform([0, 1], [1, 1])


def test_fit_posterior_defaults_are_the_posterior_preset():
  """One measured configuration (docs/sbi.md) for Python and the CLI."""
  import inspect
  from configs.presets import PRESETS
  preset = PRESETS["posterior"]
  defaults = {name: parameter.default for name, parameter in
              inspect.signature(fit_posterior).parameters.items()}
  for field in ("model", "num_layers", "activation", "batch_norm",
                "learning_rate", "batch_size", "epochs", "patience"):
    assert defaults[field] == getattr(preset, field), field
  assert tuple(defaults["hidden_units"]) == tuple(preset.hidden_units)
