"""What several test modules share: float64 flows with non-trivial
weights and the density asserts; running the trainer in-process (for
mocks) or as a command."""

import glob
import json
import os
import socket
import subprocess
import sys

from absl import flags
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--num_layers=2", "--hidden_units=16", "--batch_size=10",
        "--eval_batch_size=20", "--sample_every=1", "--num_samples=4",
        "--learning_rate=1e-3"]


def for_model(model, args):
  """The flags of `args` that `model` uses (the trainer refuses the
  others, e.g. --num_layers for made_mog, --learning_rate for gaussian)."""
  from configs.checks import unused_fields
  return [a for a in args
          if a.lstrip("-").split("=")[0] not in unused_fields(model)]


def run_in_process(args, command="train"):
  """trainers.<command>.main (train or evaluate) with these flags; returns
  the SystemExit message or None."""
  import importlib
  from trainers.flags import define_evaluate_flags, define_train_flags
  define_train_flags()
  define_evaluate_flags()
  module = importlib.import_module(f"trainers.{command}")
  flags.FLAGS.unparse_flags()
  flags.FLAGS([command] + list(args))
  try:
    module.main([command])
  except SystemExit as stop:
    return str(stop)
  finally:
    flags.FLAGS.unparse_flags()
  return None


def command(args, env=None, module="trainers.train", **kwargs):
  """`python -m MODULE ARGS` (`python ARGS` if module is empty) as a
  subprocess (started, not run)."""
  environment = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2",
                 **(env or {})}
  return subprocess.Popen([sys.executable, *(["-m", module] if module else []), *args],
                          cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kwargs)


def run_command(args, env=None, timeout=300, module="trainers.train"):
  process = command(args, env, module)
  out, err = process.communicate(timeout=timeout)
  return process.returncode, out, err


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def results(run_dir):
  with open(os.path.join(run_dir, "results.json")) as stream:
    return json.load(stream)


def training_log(run_dir):
  """Rows of training_log.csv as dicts of floats."""
  import csv
  with open(os.path.join(run_dir, "training_log.csv")) as stream:
    return [{k: float(v) for k, v in row.items()}
            for row in csv.DictReader(stream)]


def tensorboard_steps(run_dir):
  """{'train': {tag: sorted steps}, 'validation': ...} read back from the
  event files with TensorBoard's own reader."""
  from tensorboard.backend.event_processing.event_accumulator import (
      EventAccumulator)
  found = {}
  for folder in ("train", "validation"):
    tags = {}
    for path in glob.glob(os.path.join(run_dir, "tensorboard", folder,
                                       "events.*")):
      accumulator = EventAccumulator(path, size_guidance={"tensors": 0})
      accumulator.Reload()
      for tag in accumulator.Tags()["tensors"]:
        tags.setdefault(tag, []).extend(
            event.step for event in accumulator.Tensors(tag))
    found[folder] = {tag: sorted(steps) for tag, steps in tags.items()}
  return found


def randomize(model, seed: int = 0, scale: float = 0.3) -> None:
  """Gives every variable of `model` a random, non-trivial value.

  Kernels keep their initial values unless those are all zero (a MADE's
  output layer starts at zero: initialization='identity'); biases,
  batch-norm parameters and statistics and the mixture's weights move away
  from their (symmetric) initial values so that no test passes because a
  term is zero.
  """
  rng = np.random.default_rng(seed)
  for variable in model.weights:
    name = variable.path.split("/")[-1]
    shape = tuple(variable.shape)
    if name == "kernel" and not np.any(variable.numpy()):
      variable.assign(scale * rng.standard_normal(shape) /
                      np.sqrt(shape[0]))
    elif name in ("bias", "beta", "moving_mean", "logits", "log_gamma",
                  "log_scale"):
      variable.assign(scale * rng.standard_normal(shape))
    elif name == "moving_variance":
      variable.assign(np.exp(scale * rng.standard_normal(shape)))


def square_grid(half_width=25.0, n=600):
  """Points [n * n, 2] of a square grid of [-half_width, half_width]^2
  (the default holds all but ~1e-3 of a flow's mass) and each cell's area."""
  axis = np.linspace(-half_width, half_width, n)
  xx, yy = np.meshgrid(axis, axis)
  return np.stack([xx.ravel(), yy.ravel()], axis=1), (axis[1] - axis[0])**2


def assert_integrates_to_one(model, context_of):
  """A 2-D model's density sums to 1 (within 0.01) over `square_grid`;
  context_of(model, n) gives its context for n points (or None)."""
  points, cell = square_grid()
  log_p = model.log_prob(points, context_of(model, len(points)))
  assert abs(np.exp(log_p.numpy()).sum() * cell - 1.0) < 0.01


def _bin_masses(points, weights, edges):
  """Sums of `weights` of 2-D points over the grid of `edges` x `edges`."""
  which = lambda p: np.clip(np.digitize(p, edges) - 1, 0,  # noqa: E731
                            len(edges) - 2)
  masses = np.zeros((len(edges) - 1,) * 2)
  np.add.at(masses, (which(points[:, 0]), which(points[:, 1])), weights)
  return masses


def assert_samples_match_density(samples, log_prob, half_width=25.0,
                                  grid=800, tolerance=0.03, wrong=None):
  """2-D samples against a density: the histogram of the samples over
  coarse bins against the density integrated over the same bins (a fine
  grid of [-half_width, half_width]^2), in total variation, below
  `tolerance`. `log_prob` maps points [N, 2] to log densities [N]. With
  `wrong` (another log density, e.g. the base alone), also checks that the
  same test tells that one apart (distance > 0.1), so it can fail."""
  samples = np.asarray(samples)
  points, cell = square_grid(half_width, grid)
  edges = np.array([-half_width, -6, -4, -2, -1, 0, 1, 2, 4, 6, half_width])
  observed = _bin_masses(samples, 1.0 / len(samples), edges)

  def distance(density):
    expected = _bin_masses(points, np.exp(np.asarray(density(points))) *
                           cell, edges)
    return 0.5 * np.abs(observed - expected).sum()

  assert distance(log_prob) < tolerance
  if wrong is not None:
    assert distance(wrong) > 0.1


def random_flow(cls, weights_seed: int, scale: float = 0.3, **kwargs):
  """cls(**kwargs), float64 unless a dtype is given, with weights
  `randomize`d from weights_seed (kwargs may hold the flow's own seed)."""
  flow = cls(**{"dtype": "float64", **kwargs})
  randomize(flow, seed=weights_seed, scale=scale)
  return flow


def documentation_files() -> list:
  """The README, then every page of docs/ (whose code blocks the tests
  run as the README's)."""
  return [os.path.join(ROOT, "README.md"),
          *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]


def documentation() -> str:
  """The README and the docs pages as one text, the README first."""
  texts = []
  for path in documentation_files():
    with open(path) as stream:
      texts.append(stream.read())
  return "\n".join(texts)
