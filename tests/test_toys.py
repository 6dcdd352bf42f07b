"""Toy densities and the 2-D example."""

import numpy as np
import pytest

from maf_tf.data import TOYS, sample_toy


@pytest.mark.parametrize("name", sorted(TOYS))
def test_toys_are_seeded_finite_and_in_range(name):
  points = sample_toy(name, 2000, seed=1)
  assert points.shape == (2000, 2) and points.dtype == np.float32
  assert np.all(np.isfinite(points)) and np.abs(points).max() < 6
  np.testing.assert_array_equal(points, sample_toy(name, 2000, seed=1))
  assert not np.array_equal(points, sample_toy(name, 2000, seed=2))


def test_checkerboard_fills_only_black_squares():
  points = sample_toy("checkerboard", 5000)
  column = np.floor(points[:, 0] / 2).astype(int)
  row = np.floor(points[:, 1] / 2).astype(int)
  assert np.all((column - row) % 2 == 0)


def test_the_swiss_roll_lies_on_its_spiral():
  """Each point is within the noise of r = t / 4 at its own angle."""
  points = sample_toy("swiss_roll", 5000, seed=0).astype(np.float64)
  radius = np.hypot(points[:, 0], points[:, 1])
  angle = np.arctan2(points[:, 1], points[:, 0])
  # the turn t of radius 4 r, over the angles that match it
  turns = angle[:, None] + 2 * np.pi * np.arange(-1, 4)[None, :]
  closest = np.abs(turns / 4 - radius[:, None]).min(1)
  assert np.quantile(closest, 0.99) < 0.4
  assert radius.min() > 0.6 and radius.max() < 4.1


def test_unknown_toy_names_the_choices():
  with pytest.raises(ValueError, match="expected one of.*two_moons"):
    sample_toy("three_moons", 10)


def test_two_moons_example_fits_and_plots(tmp_path):
  from examples.two_moons import fit_two_moons, plot
  flow = fit_two_moons(steps=400)
  test = sample_toy("two_moons", 2000, seed=5)
  # The best single Gaussian scores -3.27 nats on these points; after 400
  # steps seeds 0-9 score -1.88 to -2.16 (seed 0, the one used: -1.95), so
  # the bar leaves 0.24 nats below the worst of them.
  assert float(np.mean(flow.log_prob(test))) > -2.4
  plot(flow, str(tmp_path / "moons.png"))
  assert (tmp_path / "moons.png").stat().st_size > 10_000
