"""Fits a MAF to two moons and saves data, learned density and samples.

Run with `make example` (or `python -m examples.two_moons`); writes
saved_models/two_moons.png.
"""

import os
import sys

import keras
import numpy as np

from maf_tf import MAF, FusedAdam
from maf_tf.data import sample_toy
from trainers.pictures import scatter_png


def fit_two_moons(steps: int = 2000, seed: int = 0) -> MAF:
  """A 5-layer MAF (the library's defaults otherwise) fitted to 20k
  two-moons points with Adam."""
  keras.utils.set_random_seed(seed)
  data = sample_toy("two_moons", 20_000, seed=seed)
  flow = MAF(event_size=2, num_layers=5, hidden_units=[64, 64], seed=seed)
  flow.compile(optimizer=FusedAdam(1e-3))
  flow.fit(data, batch_size=256, epochs=max(1, steps * 256 // len(data)),
           verbose=2)
  return flow


def plot(flow: MAF, path: str, seed: int = 0) -> None:
  """Three panels: data, learned density on a grid, samples."""
  data = sample_toy("two_moons", 2000, seed=seed + 1)
  axis = np.linspace(-4, 4, 200, dtype=np.float32)
  grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  density = np.exp(flow.log_prob(grid).numpy()).reshape(200, 200)
  samples = flow.sample(2000, seed=seed).numpy()
  scatter_png([("data", data), ("learned density", density),
               ("samples", samples)], path)


def main() -> int:
  flow = fit_two_moons()
  os.makedirs("saved_models", exist_ok=True)
  path = os.path.join("saved_models", "two_moons.png")
  plot(flow, path)
  test = sample_toy("two_moons", 10_000, seed=99)
  print(f"test log-likelihood: {float(np.mean(flow.log_prob(test))):.3f} "
        f"nats; figure: {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
