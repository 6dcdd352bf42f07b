"""Running the trainer in tests: in-process (for mocks) or as a command."""

import glob
import json
import os
import socket
import subprocess
import sys

from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--num_layers=2", "--hidden_units=16", "--batch_size=10",
        "--eval_batch_size=20", "--sample_every=1", "--num_samples=4",
        "--learning_rate=1e-3"]


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
