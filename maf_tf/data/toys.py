"""2-D toy densities, drawn from a seed (float32 arrays of shape [n, 2]).

The usual benchmark shapes of the flow literature, each scaled to lie
roughly within [-4, 4]^2.
"""

from typing import Callable, Dict

import numpy as np

__all__ = ["TOYS", "sample_toy"]


def two_moons(n: int, rng: np.random.Generator) -> np.ndarray:
  angle = rng.uniform(0, np.pi, n)
  upper = rng.random(n) < 0.5
  x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
  y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
  points = np.stack([x - 0.5, y - 0.25], axis=1) * 2.0
  return points + 0.1 * rng.standard_normal((n, 2))


def circles(n: int, rng: np.random.Generator) -> np.ndarray:
  radius = np.where(rng.random(n) < 0.5, 1.5, 3.0)
  angle = rng.uniform(0, 2 * np.pi, n)
  points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)
  return points + 0.08 * rng.standard_normal((n, 2))


def eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
  angle = rng.integers(0, 8, n) * np.pi / 4
  centres = 3.0 * np.stack([np.cos(angle), np.sin(angle)], 1)
  return centres + 0.3 * rng.standard_normal((n, 2))


def checkerboard(n: int, rng: np.random.Generator) -> np.ndarray:
  """Uniform on the 8 black squares (side 2) of a 4 x 4 board on [-4, 4]^2."""
  x = rng.uniform(-4, 4, n)
  column = np.floor(x / 2).astype(int) % 2
  row = 2 * rng.integers(0, 2, n) + column  # same parity as the column
  y = rng.uniform(0, 2, n) + 2 * row - 4
  return np.stack([x, y], axis=1)


def pinwheel(n: int, rng: np.random.Generator) -> np.ndarray:
  arms, radial, tangential, rate = 5, 0.3, 0.05, 0.25
  arm = rng.integers(0, arms, n)
  features = rng.standard_normal((n, 2)) * [radial, tangential] + [1.0, 0.0]
  angle = arm * 2 * np.pi / arms + rate * np.exp(features[:, 0])
  cos, sin = np.cos(angle), np.sin(angle)
  rotated = np.stack([cos * features[:, 0] - sin * features[:, 1],
                      sin * features[:, 0] + cos * features[:, 1]], axis=1)
  return 2.0 * rotated


def two_spirals(n: int, rng: np.random.Generator) -> np.ndarray:
  turn = np.sqrt(rng.random(n)) * 3 * np.pi
  sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
  points = sign[:, None] * np.stack([-np.cos(turn) * turn,
                                     np.sin(turn) * turn], 1) / 2.5
  return points + 0.1 * rng.standard_normal((n, 2))


def swiss_roll(n: int, rng: np.random.Generator) -> np.ndarray:
  """The 2-D Swiss roll: a spiral of 1.25 turns whose radius grows with
  its angle t in [1.5 pi, 4.5 pi] (x = t cos t, y = t sin t), / 4, with
  noise 0.1."""
  turn = 1.5 * np.pi * (1.0 + 2.0 * rng.uniform(size=n))
  points = np.stack([turn * np.cos(turn), turn * np.sin(turn)], 1) / 4.0
  return points + 0.1 * rng.standard_normal((n, 2))


TOYS: Dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "two_moons": two_moons, "circles": circles,
    "eight_gaussians": eight_gaussians, "checkerboard": checkerboard,
    "pinwheel": pinwheel, "two_spirals": two_spirals,
    "swiss_roll": swiss_roll,
}


def sample_toy(name: str, n: int, seed: int = 0) -> np.ndarray:
  """n points of the toy density `name`, the same for the same seed.

  Raises:
    ValueError: for an unknown name or a non-positive n.
  """
  if name not in TOYS:
    raise ValueError(f"unknown toy density {name!r}; expected one of "
                     f"{sorted(TOYS)}")
  if n < 1:
    raise ValueError(f"n must be a positive integer; got {n}")
  return TOYS[name](n, np.random.default_rng(seed)).astype(np.float32)
