"""Faults: a run killed at each of its writes or mid-epoch, stopped by a
signal, damaged checkpoints, a full disk, two processes on one run
directory. After each, the same command finishes the run as if nothing
had happened, or stops with one line and leaves everything as it was.

Every case here runs whole runs in subprocesses (10-40 s each): they run
with `make test-faults`, not in `make test`, which must stay under ten
minutes.
"""

import glob
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from kill_at import POINTS
from helpers import (ROOT, TINY, command, results, run_command,
                     run_in_process, training_log)

pytestmark = pytest.mark.faults

ARGS = ["--dataset=digits", "--epochs=3", *TINY]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  run_dir = str(tmp_path_factory.mktemp("whole") / "run")
  code, _, err = run_command([*ARGS, f"--model_dir={run_dir}"])
  assert code == 0, err[-2000:]
  return results(run_dir)


def assert_finished_like(run_dir, reference):
  """The run has the uninterrupted run's epochs, best epoch and scores, one
  log row per epoch, one complete export, and nothing half-written."""
  finished = results(run_dir)
  for key in ("epochs", "best_epoch", "test_log_likelihood"):
    assert finished[key] == pytest.approx(reference[key], rel=1e-6), key
  assert [int(row["epoch"]) for row in training_log(run_dir)] == [1, 2, 3]
  versions = sorted(n for n in os.listdir(run_dir) if n.isdigit())
  assert versions == ["1"]
  assert finished["saved_model"] == os.path.join(run_dir, "1")
  assert os.path.isfile(os.path.join(run_dir, "1", "saved_model.pb"))
  leftovers = [p for p in glob.glob(os.path.join(run_dir, "**", ".*"),
                                    recursive=True)
               if not p.endswith(".lock")]
  leftovers += glob.glob(os.path.join(run_dir, "checkpoints", "*", "*_temp"))
  assert leftovers == []


@pytest.mark.parametrize("point, count", [
    (point, 1 if point in ("config", "results", "export") else 2)
    for point in POINTS])
def test_a_run_killed_at_a_write_finishes_as_if_never_killed(
    tmp_path, uninterrupted, point, count):
  run_dir = str(tmp_path / "run")
  code, _, err = run_command([point, str(count), *ARGS,
                              f"--model_dir={run_dir}"],
                             module="tests.kill_at")
  assert code == -signal.SIGKILL, err[-2000:]
  code, _, err = run_command([*ARGS, f"--model_dir={run_dir}"])
  assert code == 0, err[-2000:]
  assert_finished_like(run_dir, uninterrupted)


def _checkpoint_data(run_dir, folder, epoch):
  return os.path.join(run_dir, "checkpoints", folder,
                      f"ckpt-{epoch}.data-00000-of-00001")


def _damage(path):
  with open(path, "r+b") as stream:
    stream.truncate(os.path.getsize(path) // 2)


def test_an_unreadable_latest_checkpoint_falls_back_and_says_so(
    tmp_path, caplog):
  run_dir = str(tmp_path / "run")
  whole = str(tmp_path / "whole")
  assert run_in_process([*ARGS, f"--model_dir={whole}"]) is None
  assert run_in_process([*ARGS, "--epochs=2", f"--model_dir={run_dir}"]) is None
  os.remove(os.path.join(run_dir, "results.json"))  # unfinished, as if killed
  shutil.rmtree(os.path.join(run_dir, "1"))
  broken = _checkpoint_data(run_dir, "latest", 2)
  _damage(broken)
  half = os.path.join(run_dir, "checkpoints", "best", "ckpt-3_temp")
  os.makedirs(half)  # a save cut off
  with caplog.at_level(logging.WARNING):
    assert run_in_process([*ARGS, f"--model_dir={run_dir}"]) is None
  warnings = caplog.text
  assert "checkpoints/latest/ckpt-2 cannot be used" in warnings
  assert "resuming from" in warnings and "best/ckpt-2 (epoch 2)" in warnings
  assert not os.path.exists(half)
  mine, reference = results(run_dir), results(whole)
  assert mine["epochs"] == 3 and mine["best_epoch"] == reference["best_epoch"]
  assert mine["test_log_likelihood"] == pytest.approx(
      reference["test_log_likelihood"], rel=1e-6)


def test_with_no_usable_checkpoint_the_run_stops_with_one_line(tmp_path):
  run_dir = str(tmp_path / "run")
  assert run_in_process([*ARGS, "--epochs=1", f"--model_dir={run_dir}"]) is None
  os.remove(os.path.join(run_dir, "results.json"))
  for path in glob.glob(os.path.join(run_dir, "checkpoints", "*", "*.data*")):
    _damage(path)
  before = sorted(os.listdir(run_dir))
  error = run_in_process([*ARGS, f"--model_dir={run_dir}"])
  assert error.startswith(f"train: error: no usable checkpoint in {run_dir}")
  assert error.endswith("pass --fresh to start again (the old run is kept)")
  assert "\n" not in error
  assert sorted(os.listdir(run_dir)) == before


def test_a_damaged_checkpoint_state_file_still_finds_the_checkpoints(tmp_path):
  run_dir = str(tmp_path / "run")
  assert run_in_process([*ARGS, "--epochs=2", f"--model_dir={run_dir}"]) is None
  for folder in ("latest", "best"):
    with open(os.path.join(run_dir, "checkpoints", folder, "checkpoint"),
              "w") as stream:
      stream.write("garbage {")
  assert run_in_process([*ARGS, f"--model_dir={run_dir}"]) is None
  assert results(run_dir)["epochs"] == 3
  assert [int(r["epoch"]) for r in training_log(run_dir)] == [1, 2, 3]


def test_a_second_process_on_a_run_directory_is_refused(tmp_path):
  run_dir = str(tmp_path / "run")
  holder = command(["-c", "import sys, time\n"
                    "from trainers.run_dir import lock_run_dir\n"
                    f"lock = lock_run_dir({run_dir!r}); print('held', "
                    "flush=True); time.sleep(600)"], module="")
  try:
    assert holder.stdout.readline().strip() == "held"
    code, _, err = run_command([*ARGS, f"--model_dir={run_dir}"])
    assert code != 0
    assert err.strip().splitlines()[-1] == (
        f"train: error: model_dir {run_dir} is in use by another training "
        f"process (pid {holder.pid}); wait for it or choose another "
        "--model_dir")
    assert os.listdir(run_dir) == [".lock"]
  finally:
    holder.kill()
    holder.communicate()
  assert run_in_process([*ARGS, "--epochs=1", f"--model_dir={run_dir}"]) is None


def _mount_tmpfs(mount, options):
  """Mounts a tmpfs (needs root and mount; skips and says so otherwise)."""
  mount.mkdir()
  done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                         str(mount)], capture_output=True, text=True)
  if done.returncode != 0:
    pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path):
  """A 4 MiB tmpfs."""
  _mount_tmpfs(tmp_path / "disk", "size=4m")
  yield tmp_path / "disk"
  subprocess.run(["umount", "-l", str(tmp_path / "disk")], check=False)


def test_a_read_only_disk_is_a_one_line_error(tmp_path):
  """(Root writes through directory permissions: a read-only mount is
  the read-only directory that holds for every user.)"""
  disk = tmp_path / "read_only"
  _mount_tmpfs(disk, "size=1m,ro")
  try:
    error = run_in_process([*ARGS, f"--model_dir={disk / 'run'}"])
  finally:
    subprocess.run(["umount", "-l", str(disk)], check=False)
  assert error == (f"train: error: [Errno 30] Read-only file system: "
                   f"'{disk / 'run'}'")


def _fill(disk, leave):
  """Fills `disk` up to `leave` bytes free; returns the filler file."""
  filler = disk / "filler"
  free = shutil.disk_usage(disk).free
  with open(filler, "wb") as stream:
    stream.write(b"\0" * max(0, free - leave))
  return filler


@pytest.mark.parametrize("leave", [20_000, 300_000])
def test_a_full_disk_stops_with_one_line_and_the_rerun_finishes(
    small_disk, tmp_path, leave):
  run_dir = str(small_disk / "run")
  filler = _fill(small_disk, leave)
  error = run_in_process([*ARGS, f"--model_dir={run_dir}"])
  assert error is not None and error.startswith("train: error: ")
  assert "No space left on device" in error
  assert "\n" not in error and "function_node" not in error
  os.remove(filler)
  assert run_in_process([*ARGS, f"--model_dir={run_dir}"]) is None
  whole = str(tmp_path / "whole")
  assert run_in_process([*ARGS, f"--model_dir={whole}"]) is None
  assert_finished_like(run_dir, results(whole))


@pytest.mark.parametrize("stop, code", [(signal.SIGTERM, 143),
                                        (signal.SIGINT, 130)])
def test_a_stopped_run_says_how_to_resume_in_one_line(tmp_path, stop, code):
  run_dir = str(tmp_path / "run")
  process = command(["--dataset=two_moons", "--toy_size=30000",
                     "--epochs=50", "--num_layers=2", "--hidden_units=32",
                     f"--model_dir={run_dir}"])
  first = os.path.join(run_dir, "checkpoints", "latest", "checkpoint")
  while not os.path.exists(first) and process.poll() is None:
    time.sleep(0.05)
  process.send_signal(stop)
  _, err = process.communicate(timeout=120)
  assert process.returncode == code
  assert "Traceback" not in err
  assert err.strip().splitlines()[-1] == (
      f"train: stopped by {signal.Signals(stop).name}; the same command "
      "resumes the run from its last finished epoch")


@pytest.mark.parametrize("stop, code", [(signal.SIGTERM, 143),
                                        (signal.SIGINT, 130)])
def test_evaluate_stopped_by_a_signal_says_so_in_one_line(stop, code):
  """trainers.evaluate and benchmarks.paper run inside the same
  exit_on_signals as train."""
  script = ("import os, signal, time\n"
            "from trainers.signals import exit_on_signals\n"
            "with exit_on_signals('evaluate', 'what next'):\n"
            f"  os.kill(os.getpid(), {int(stop)})\n"
            "  time.sleep(60)\n")
  done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                        text=True, timeout=120, cwd=ROOT)
  assert done.returncode == code
  assert done.stderr == (f"evaluate: stopped by {signal.Signals(stop).name}; "
                         "what next\n")
  for name, path in (("evaluate", "trainers/evaluate.py"),
                     ("benchmarks.paper", "benchmarks/paper.py")):
    source = open(os.path.join(ROOT, path)).read()
    assert f'with exit_on_signals("{name}"' in source


def test_run_killed_mid_epoch_resumes_to_the_same_weights(tmp_path):
  args = ["--dataset=two_moons", "--toy_size=30000", "--epochs=3",
          "--num_layers=2", "--hidden_units=32", "--sample_every=100",
          "--batch_norm=between"]  # batch-norm statistics must resume too
  whole, broken = str(tmp_path / "whole"), str(tmp_path / "broken")
  code, _, err = run_command([*args, f"--model_dir={whole}"])
  assert code == 0, err[-2000:]
  process = command([*args, f"--model_dir={broken}"])
  first = os.path.join(broken, "checkpoints", "latest", "checkpoint")
  while not os.path.exists(first) and process.poll() is None:
    time.sleep(0.05)  # waiting for the first epoch's checkpoint
  process.send_signal(signal.SIGKILL)
  process.communicate()
  assert process.returncode == -signal.SIGKILL
  assert not os.path.exists(os.path.join(broken, "results.json"))
  code, _, err = run_command([*args, f"--model_dir={broken}"])
  assert code == 0, err[-2000:]
  assert "resuming run" in err
  assert results(broken)["epochs"] == results(whole)["epochs"] == 3
  assert [r["epoch"] for r in training_log(broken)][-1] == 3
  # TF op determinism is on: the weights match exactly.
  for name in ("ckpt-3",):
    whole_reader = tf.train.load_checkpoint(
        os.path.join(whole, "checkpoints", "latest", name))
    broken_reader = tf.train.load_checkpoint(
        os.path.join(broken, "checkpoints", "latest", name))
    keys = [k for k in whole_reader.get_variable_to_shape_map()
            if k.startswith("model/")]
    assert any("moving_variance" in k for k in keys)  # all weights saved
    for key in keys:
      np.testing.assert_array_equal(whole_reader.get_tensor(key),
                                    broken_reader.get_tensor(key))
  # Scoring runs in a fresh process: equal up to float32 summation order.
  np.testing.assert_allclose(results(broken)["test_log_likelihood"],
                             results(whole)["test_log_likelihood"], rtol=1e-6)
