"""The trainer end to end: outputs, strategies, resume, guards, bad flags."""

import glob
import json
import os
import shutil
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from maf_tf import MAF
from maf_tf.data import sources
from trainers.callbacks import NonFiniteGuard
from trainers.checkpoints import ResumableEarlyStopping, RunCheckpoints
from trainers.train import RunOptions, steps_per_execution
from helpers import (ROOT, TINY, command, free_ports, results,
                     run_command, run_in_process, tensorboard_steps,
                     training_log)


def test_end_to_end_on_tfds_mock_data(tmp_path, monkeypatch):
  import tensorflow_datasets as tfds
  monkeypatch.setattr(sources, "can_reach_tfds_host", lambda: True)
  run_dir = str(tmp_path / "mnist")
  with tfds.testing.mock_data(num_examples=40):
    error = run_in_process(["--dataset=mnist", f"--model_dir={run_dir}",
                            "--epochs=2", "--validation_size=10",
                            "--conditional", *TINY])
  assert error is None
  for name in ("config.json", "results.json", "results.txt", "samples.png",
               "state.json", "training_log.csv", "train.log"):
    assert os.path.isfile(os.path.join(run_dir, name)), name
  for kind in ("latest", "best"):
    assert os.listdir(os.path.join(run_dir, "checkpoints", kind))
  # One axis, the global step (3 steps per epoch): no duplicate or internal
  # tags; train and validation curves under the same names.
  steps = tensorboard_steps(run_dir)
  assert set(steps["train"]) == {
      "nll", "bits_per_dim", "grad_norm", "learning_rate",
      "skipped_steps_total", "samples", "latent_z", "made_0/log_scale",
      "made_1/log_scale"}
  assert steps["validation"] == {"nll": [3, 6], "bits_per_dim": [3, 6]}
  for tag in ("nll", "learning_rate", "skipped_steps_total", "latent_z",
              "made_1/log_scale"):
    assert steps["train"][tag] == [3, 6], tag
  assert steps["train"]["samples"] == [3, 6, 6]  # and the best model's
  summary = results(run_dir)
  assert summary["epochs"] == 2 and summary["test_log_likelihood_2se"] > 0
  with open(os.path.join(run_dir, "results.txt")) as stream:
    text = stream.read()
  assert "nats per image (logit space, as in the paper's Table 2)" in text
  assert "2 epochs (best" in text and "examples/s on 1 replica\n" in text
  assert 0 < summary["test_bits_per_dim"] < 16
  assert [row["epoch"] for row in training_log(run_dir)] == [1, 2]


def test_mirrored_on_two_cpus_matches_one_device(tmp_path):
  common = ["--dataset=two_moons", "--toy_size=2000", "--epochs=2",
            "--batch_norm=between", "--num_layers=2", "--hidden_units=16"]
  logs = []
  for strategy, devices in (("one_device", 1), ("mirrored", 2)):
    run_dir = str(tmp_path / strategy)
    code, _, err = run_command([*common, f"--model_dir={run_dir}",
                                f"--strategy={strategy}",
                                f"--num_cpu_devices={devices}"])
    assert code == 0, err[-2000:]
    logs.append((training_log(run_dir), results(run_dir)))
  (one_log, one), (two_log, two) = logs
  assert two["replicas"] == 2 and one["replicas"] == 1
  for a, b in zip(one_log, two_log):
    np.testing.assert_allclose([a["nll"], a["val_nll"]],
                               [b["nll"], b["val_nll"]], rtol=1e-4)
  np.testing.assert_allclose(one["test_log_likelihood"],
                             two["test_log_likelihood"], rtol=1e-4)


def test_multi_worker_on_two_processes_agree(tmp_path):
  ports = free_ports(2)
  cluster = [f"127.0.0.1:{p}" for p in ports]
  run_dir = str(tmp_path / "run")
  workers = []
  for index in range(2):
    config = ('{"cluster": {"worker": ["%s", "%s"]}, "task": {"type": '
              '"worker", "index": %d}}' % (*cluster, index))
    workers.append(command(
        ["--dataset=two_moons", "--toy_size=2000", "--epochs=2",
         "--strategy=multi_worker", f"--model_dir={run_dir}",
         "--num_layers=2", "--hidden_units=16"], env={"TF_CONFIG": config}))
  outputs = [w.communicate(timeout=300) for w in workers]
  assert [w.returncode for w in workers] == [0, 0], outputs[0][1][-2000:]
  chief, other = results(run_dir), results(run_dir + ".worker-1")
  assert chief["replicas"] == 2
  assert chief["test_log_likelihood"] == other["test_log_likelihood"]
  assert training_log(run_dir) == training_log(run_dir + ".worker-1")


def test_consecutive_bad_steps_stop_the_run():
  flow = MAF(event_size=2, num_layers=1, hidden_units=[8])
  flow.compile(keras.optimizers.Adam(1e-3))
  data = np.full((40, 2), 1e30, np.float32)
  guard = NonFiniteGuard(max_bad_steps=3, steps_per_epoch=4)
  flow.fit(data, batch_size=10, epochs=5, callbacks=[guard], verbose=0)
  assert guard.failed and guard.failed_step == 3 and guard.total == 3


def test_a_run_killed_while_writing_its_first_config_starts_again(tmp_path):
  run_dir = tmp_path / "run"
  run_dir.mkdir()
  (run_dir / ".config.json.x1y2.tmp").write_text('{"dataset": "dig')  # cut off
  args = ["--dataset=digits", f"--model_dir={run_dir}", "--epochs=1", *TINY]
  assert run_in_process(args) is None
  assert (run_dir / "results.json").is_file()
  assert (run_dir / "config.json").is_file()


def test_a_model_dir_that_is_a_file_is_a_one_line_error(tmp_path):
  path = tmp_path / "notes.txt"
  path.write_text("mine")
  error = run_in_process(["--dataset=digits", f"--model_dir={path}", *TINY])
  assert error == f"train: error: model_dir {path} is a file, not a directory"
  assert path.read_text() == "mine"


def test_the_command_is_quiet_and_logs_progress(tmp_path):
  """Not on a terminal: one line per epoch and progress lines within it,
  none of TensorFlow's or tfds's log lines, no internal metric."""
  environment = {k: v for k, v in os.environ.items()
                 if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")}
  done = subprocess.run(
      [sys.executable, "-m", "trainers.train", "--dataset=digits",
       "--epochs=2", *TINY, "--progress_seconds=0.05", "--summary_steps=50",
       f"--model_dir={tmp_path / 'run'}"], cwd=ROOT, env=environment,
      capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  log = done.stdout + done.stderr
  assert re.search(r"epoch 2/2: [\d.]+ s, \d+ examples/s, train nll [\d.]+ "
                   r"\([\d.]+ bits/dim\), validation nll [\d.]+ \([\d.]+ "
                   r"bits/dim\)", log), log[-3000:]
  assert re.search(r"epoch 1/2: step \d+/125, \d+ examples/s", log)
  for noise in ("cuInit", "fingerprint", "bad_streak", "shuffle=True",
                "oneDNN", "signature_serialization"):
    assert noise not in log, noise
  assert "bad_streak" not in (tmp_path / "run" / "training_log.csv").read_text()
  # TensorBoard: within-epoch points every 50 steps, on the global step.
  steps = tensorboard_steps(str(tmp_path / "run"))
  assert steps["train"]["nll"] == [50, 100, 125, 150, 200, 250]
  assert steps["validation"]["nll"] == [125, 250]


def test_help_lists_the_trainers_flags_with_defaults():
  done = subprocess.run([sys.executable, "-m", "trainers.train", "--help"],
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
  text = done.stdout  # (absl exits with 1 after --help)
  assert "--learning_rate: Adam learning rate. Default: the preset's (mnist " \
         "0.001, cifar10 0.0001)." in " ".join(text.split())
  for flag in ("--dataset", "--model_dir", "--[no]fresh", "--[no]verbose",
               "--hidden_units", "--batch_norm", "--epochs", "--data_dir"):
    assert f"{flag}:" in text, flag
  assert "--logtostderr" not in text  # absl's own: --helpfull


def test_a_run_that_diverges_in_its_first_epoch_says_so(tmp_path):
  run_dir = tmp_path / "run"
  error = run_in_process(["--dataset=digits", f"--model_dir={run_dir}",
                          *TINY, "--learning_rate=1e30", "--max_bad_steps=2"])
  assert re.fullmatch(r"train: error: stopped at step \d+: \d+ consecutive "
                      r"steps with non-finite loss or gradients; no "
                      r"checkpoint was written \(it failed in the first "
                      r"epoch\)", error), error
  assert not (run_dir / "results.json").exists()


def test_a_directory_that_is_not_a_run_is_left_alone(tmp_path):
  run_dir = tmp_path / "mine"
  run_dir.mkdir()
  (run_dir / "notes.txt").write_text("mine")
  error = run_in_process(["--dataset=digits", f"--model_dir={run_dir}", *TINY])
  assert error == (f"train: error: model_dir {run_dir} is not empty and holds "
                   "no config.json: refusing to write into it")
  assert os.listdir(run_dir) == ["notes.txt"]


def test_rerunning_a_finished_run_changes_nothing(tmp_path):
  run_dir = str(tmp_path / "run")
  args = ["--dataset=digits", f"--model_dir={run_dir}", "--epochs=1", *TINY]
  assert run_in_process(args) is None
  with open(os.path.join(run_dir, "results.json")) as stream:
    first = stream.read()
  events = sorted(glob.glob(os.path.join(run_dir, "tensorboard", "*", "*")))
  assert run_in_process(args) is None
  with open(os.path.join(run_dir, "results.json")) as stream:
    assert stream.read() == first  # not rescored with train_seconds 0
  assert sorted(n for n in os.listdir(run_dir) if n.isdigit()) == ["1"]
  # no new (empty) TensorBoard event files either
  assert sorted(glob.glob(os.path.join(run_dir, "tensorboard", "*",
                                       "*"))) == events


def test_a_run_trained_but_not_scored_is_finished_by_a_rerun(tmp_path):
  """Killed after its last epoch, before results.json: the rerun trains
  nothing and writes the results, pictures and histograms of the best
  model (the TensorBoard callback has its model without a fit)."""
  run_dir = str(tmp_path / "run")
  args = ["--dataset=digits", f"--model_dir={run_dir}", "--epochs=1", *TINY]
  assert run_in_process(args) is None
  os.remove(os.path.join(run_dir, "results.json"))
  shutil.rmtree(os.path.join(run_dir, "1"))
  assert run_in_process(args) is None
  assert os.path.isfile(os.path.join(run_dir, "results.json"))
  assert os.path.isdir(os.path.join(run_dir, "1"))


def test_an_improving_epoch_saves_best_before_latest(tmp_path):
  """latest records the epoch as best: if it were written first, a kill
  between the two saves would leave a run whose results name a best
  epoch whose weights were never saved."""
  flow = MAF(event_size=2, num_layers=1, hidden_units=[4])
  flow.compile(keras.optimizers.Adam(1e-3))
  stopping = ResumableEarlyStopping(patience=3)
  checkpoints = RunCheckpoints(str(tmp_path), flow, flow.optimizer, stopping)
  order = []

  def record(name):
    manager = getattr(checkpoints, name)
    save = manager.save

    def save_and_record(**kwargs):
      order.append(name)
      return save(**kwargs)

    manager.save = save_and_record

  record("best")
  record("latest")
  stopping.wait = 0  # this epoch improved
  checkpoints.on_epoch_end(0, {"val_nll": 1.0})
  stopping.wait = 1  # this one did not
  checkpoints.on_epoch_end(1, {"val_nll": 2.0})
  assert order == ["best", "latest", "latest"]
  assert int(checkpoints.best_epoch.numpy()) == 1


def test_the_guard_is_exact_with_several_steps_per_execution():
  """Keras calls the guard once per 2 steps here: runs of bad batches that
  are broken by good ones never stop the run; a long run does, at the end
  of the execution in which it reached max_bad_steps."""
  rows = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
  bad = np.full_like(rows, 1e30)  # finite: its loss is not
  #          steps: 1    2     3    4    5     6     7    8    9    10
  batches = [bad, bad, rows, bad, bad, rows, bad, bad, bad, bad]
  flow = MAF(event_size=2, num_layers=1, hidden_units=[8])
  flow.compile(keras.optimizers.Adam(1e-3), steps_per_execution=2)
  guard = NonFiniteGuard(max_bad_steps=3, steps_per_epoch=5)
  flow.fit(np.concatenate(batches), batch_size=10, epochs=2, shuffle=False,
           callbacks=[guard], verbose=0)
  # Epoch 2 (steps 6-10) holds a run of 4 from step 7: it reaches 3 at
  # step 9, inside the execution of steps 9-10.
  assert guard.failed and guard.failed_step == 10
  assert guard.total == 8 and guard.consecutive == 4


@pytest.mark.parametrize("requested, steps, expected", [
    (10, 500, 10), (10, 450, 10), (10, 12, 6), (10, 449, 1), (10, 3, 3),
    (1, 500, 1)])
def test_steps_per_execution_divides_the_epoch(requested, steps, expected):
  assert steps_per_execution(requested, steps) == expected
  assert steps_per_execution(requested, steps, replicas=2) == 1


def test_steps_per_execution_gives_the_same_weights():
  x = np.random.default_rng(1).normal(size=(80, 3)).astype(np.float32)
  weights = []
  for per_call in (1, 4):
    keras.utils.set_random_seed(0)
    flow = MAF(event_size=3, num_layers=2, hidden_units=[8],
               batch_norm="between")
    flow.compile(steps_per_execution=per_call, clip_norm=5.0)
    flow.fit(x, batch_size=10, epochs=2, shuffle=False, verbose=0)
    weights.append([w.numpy() for w in flow.weights])
  for a, b in zip(*weights):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("args, message", [
    (["--dataset=svhn"], "unknown dataset 'svhn'; expected one of"),
    (["--dataset=digits", "--epochs=-1"],
     "epochs must be a positive integer; got -1"),
    (["--dataset=digits", "--hidden_units=0"],
     r"hidden_units must be one or more positive integers"),
    (["--dataset=digits", "--hidden_units=a,b"],
     "hidden_units must be comma-separated positive integers"),
    (["--dataset=mnist", "--source=idx", "--data_dir=/no/such/dir"],
     "data_dir '/no/such/dir' does not exist"),
    (["--dataset=mnist", "--batch_norm=sometimes"],
     "batch_norm must be one of"),
    (["--dataset=mnist", "--dtype_policy=mixed_float16"],
     "dtype_policy must be one of None, 'mixed_bfloat16'"),
    (["--dataset=mnist", "--affine=shift"], "affine must be one of"),
    (["--dataset=mnist", "--initialization=glorot"],
     "initialization must be one of"),
    (["--dataset=mnist", "--log_scale_bound=0"],
     "log_scale_bound must be a finite number > 0; got 0.0"),
    (["--dataset=mnist", "--learning_rate=inf"],
     "learning_rate must be a finite number > 0; got inf"),
    (["--dataset=mnist", "--log_scale_bound=nan"],
     "log_scale_bound must be a finite number > 0; got nan"),
    (["--dataset=mnist", "--clip_norm=inf"], "clip_norm must be finite"),
    (["--dataset=digits", "--batch_size=5000"],
     "batch_size must be at most the 1257 training examples; got 5000"),
    (["--dataset=mnist", "--steps_per_execution=0"],
     "steps_per_execution must be a positive integer; got 0"),
    ([], "give --data=FILE"),
    (["--dataset=digits", "--summary_steps=0"],
     "summary_steps must be a positive integer; got 0"),
    (["--dataset=digits", "--progress_seconds=-1"],
     "progress_seconds must be a finite number >= 0; got -1.0"),
    (["--dataset=digits", "--num_cpu_devices=0"],
     "num_cpu_devices must be an integer in 1..64; got 0"),
    (["--dataset=digits", "--num_cpu_devices=1000"],
     "num_cpu_devices must be an integer in 1..64; got 1000"),
    (["--dataset=digits", "--model=foo"],
     "model must be one of 'maf', 'maf_mog', 'made', 'made_mog', "
     "'real_nvp', 'gaussian', 'nsf'; got 'foo'"),
    (["--dataset=digits", "--model=real_nvp", "--affine=shift_then_scale"],
     "--affine does not apply to --model=real_nvp"),
    (["--dataset=digits", "--model=made_mog", "--base=mixture"],
     "--model=made_mog sets its own base density"),
    (["--dataset=two_moons", "--conditional"],
     "a conditional model needs class labels, and two_moons has none"),
    (["--dataset=digits", "--hidden_units=100000000"],
     "this model would have 96,000,000,000 weights, more than "
     "max_parameters=1,000,000,000"),
    (["--dataset=mnist", "--num_samples=100000000"],
     "num_samples must be at most 12755 for mnist"),
    (["--dataset=two_moons", "--toy_size=10000000000"],
     "toy_size must be at most 10000000; got 10000000000"),
    (["--dataset=digits", "--max_parameters=0"],
     "max_parameters must be a positive integer; got 0"),
    (["--dataset=digits", "--bins=4"],
     "--bins applies to --model=nsf or --transformer=spline or linear only; "
     "got 4 with --model=maf, --transformer=affine"),
    (["--dataset=digits", "--transformer=cubic"],
     "transformer must be one of 'affine', 'spline', 'linear'"),
    (["--dataset=digits", "--transformer=linear", "--affine=shift_then_scale"],
     "--affine does not apply to --transformer=linear"),
    (["--dataset=digits", "--model=real_nvp", "--transformer=spline"],
     "--model=real_nvp has its own layers; --transformer applies to maf, "
     "maf_mog, made"),
    (["--dataset=digits", "--transformer=linear", "--log_scale_bound=5"],
     "--log_scale_bound does not apply to --transformer=linear"),
    (["--dataset=digits", "--transformer=linear", "--bins=1"],
     "bins must be an integer >= 2; got 1"),
    (["--dataset=digits", "--model=nsf", "--bins=1"],
     "bins must be an integer >= 2; got 1"),
    (["--dataset=digits", "--model=nsf", "--spline_bound=0"],
     "spline_bound must be a finite number > 0; got 0.0"),
    (["--dataset=digits", "--model=nsf", "--affine=shift_then_scale"],
     "--affine does not apply to --model=nsf"),
    (["--dataset=mnist", "--model=nsf", "--bins=100000"],
     "bins must be at most 500; got 100000"),
    # accepted, then refused after writing the run:
    (["--dataset=digits", "--seed=-1"],
     "seed must be an integer in 0..4294967291; got -1"),
    (["--dataset=digits", "--seed=100000000000000000000"],
     "seed must be an integer in 0..4294967291"),
    (["--dataset=digits", "--model=nsf", "--spline_bound=1e308"],
     "spline_bound must be at most 1.84e+18 for a model computing in "
     "float32"),
    (["--dataset=digits", "--weight_decay=1e300"],
     "weight_decay must be finite in float32"),
    (["--dataset=digits", "--log_scale_bound=1000"],
     "log_scale_bound must be at most 44.4"),
    # accepted and ignored:
    (["--dataset=digits", "--model=made", "--num_layers=3"],
     "--num_layers does not apply to --model=made; got 3"),
    (["--dataset=digits", "--model=gaussian", "--hidden_units=16"],
     "--hidden_units does not apply to --model=gaussian"),
    (["--dataset=digits", "--model=gaussian", "--batch_norm=after_each"],
     "--batch_norm does not apply to --model=gaussian"),
    (["--dataset=digits", "--model=gaussian",
      "--dtype_policy=mixed_bfloat16"],
     "--dtype_policy does not apply to --model=gaussian"),
])
def test_bad_flags_fail_before_writing_anything(tmp_path, args, message):
  run_dir = tmp_path / "run"
  error = run_in_process([*args, f"--model_dir={run_dir}"])
  assert error is not None and message in error.replace("\\", "")
  assert "\n" not in error
  assert not run_dir.exists()


def test_unreadable_data_fails_with_one_line_and_exit_code(tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  run_dir = tmp_path / "run"
  code, _, err = run_command(["--dataset=fashion_mnist", "--source=idx",
                              f"--data_dir={empty}", f"--model_dir={run_dir}"])
  assert code != 0
  last = err.strip().splitlines()[-1]
  assert last.startswith("train: error: missing file train-images-idx3")
  assert not run_dir.exists()


def test_a_different_config_never_overwrites_a_run(tmp_path):
  run_dir = tmp_path / "run"
  args = ["--dataset=two_moons", "--toy_size=500", "--epochs=1",
          "--num_layers=1", "--hidden_units=8", f"--model_dir={run_dir}"]
  assert run_in_process(args) is None
  before = (run_dir / "results.json").read_text()
  error = run_in_process([*args, "--seed=3"])
  assert "holds a run with a different seed; pass --fresh" in error
  assert (run_dir / "results.json").read_text() == before
  assert run_in_process([*args, "--seed=3", "--fresh"]) is None
  kept = [p for p in os.listdir(tmp_path) if p.startswith("run.previous-")]
  assert len(kept) == 1
  assert (tmp_path / kept[0] / "results.json").read_text() == before


@pytest.mark.parametrize("value, message", [
    ("{cluster: 1", "TF_CONFIG is not JSON (Expecting property name"),
    ('["a"]', "TF_CONFIG must be a JSON object with 'cluster' and 'task'")])
def test_a_malformed_tf_config_is_named(tmp_path, monkeypatch, value,
                                        message):
  monkeypatch.setenv("TF_CONFIG", value)
  run_dir = tmp_path / "run"
  error = run_in_process(["--dataset=two_moons", "--strategy=multi_worker",
                          f"--model_dir={run_dir}"])
  assert message in error and "\n" not in error
  assert not run_dir.exists()


def test_a_data_dir_that_is_a_file_is_named(tmp_path):
  data = tmp_path / "train-images-idx3-ubyte"
  data.write_bytes(b"")
  error = run_in_process(["--dataset=mnist", f"--data_dir={data}",
                          f"--model_dir={tmp_path / 'run'}"])
  assert error.endswith("is a file; expected a directory of the dataset's "
                        "files (or a .npz)")


@pytest.mark.parametrize("name", [".lock", "train.log", "training_log.csv",
                                  "checkpoints", "tensorboard"])
def test_a_link_in_the_run_directory_is_refused(tmp_path, name):
  """A run writes only inside its directory: a symbolic link where it
  appends or writes in place is refused, and its target left alone."""
  outside = tmp_path / "outside"
  outside.write_text("keep me\n")
  run_dir = tmp_path / "run"
  run_dir.mkdir()
  os.symlink(outside, run_dir / name)
  error = run_in_process(["--dataset=two_moons", "--toy_size=500",
                          "--epochs=1", f"--model_dir={run_dir}"])
  assert error.endswith(f"{run_dir / name} is a symbolic link; a run "
                        "writes only inside its own directory: remove the "
                        "link")
  assert outside.read_text() == "keep me\n"
  assert sorted(os.listdir(run_dir)) == [name]


def test_a_moved_run_is_finished_where_it_lands(tmp_path):
  """results.json names its export by version: a finished run moved
  elsewhere and run again exports nothing new and rewrites nothing."""
  args = ["--dataset=two_moons", "--toy_size=500", "--epochs=1",
          "--num_layers=1", "--hidden_units=8"]
  assert run_in_process([*args, f"--model_dir={tmp_path / 'a'}"]) is None
  os.rename(tmp_path / "a", tmp_path / "b")
  before = (tmp_path / "b" / "results.json").read_text()
  assert json.loads(before)["saved_model_version"] == 1
  assert run_in_process([*args, f"--model_dir={tmp_path / 'b'}"]) is None
  assert (tmp_path / "b" / "results.json").read_text() == before
  assert not (tmp_path / "b" / "2").exists()


@pytest.mark.parametrize("options, message", [
    (dict(summary_steps=0), "summary_steps must be a positive integer; got 0"),
    (dict(summary_steps=2.5), "summary_steps must be a positive integer"),
    (dict(progress_seconds=-1), "progress_seconds must be a finite number "
     ">= 0; got -1"),
    (dict(progress_seconds=float("nan")), "progress_seconds must be a finite"),
])
def test_run_options_refuse_bad_values_from_python_too(options, message):
  """train(..., RunOptions(...)) is documented Python: it must refuse what
  the flags refuse (summary_steps=0 used to reach a ZeroDivisionError)."""
  with pytest.raises(ValueError, match=message):
    RunOptions(**options)


def _points(train_x, test_x):
  from maf_tf.data import Splits, describe_arrays
  validation = np.random.default_rng(1).standard_normal((20, 2))
  return Splits(describe_arrays("points", train_x), (train_x, None),
                (validation.astype(np.float32), None), (test_x, None))


@pytest.mark.parametrize("damage, message", [
    ("train", r"every one of the 4 training steps was skipped"),
    ("test", r"1 of 20 test examples have a non-finite log_likelihood "
             r"\(first: test row 3, -?(nan|inf)\)"),
])
def test_a_run_that_learned_nothing_or_scores_nan_is_not_finished(
    tmp_path, damage, message):
  """It was: results.json with test_log_likelihood NaN, SavedModel 1, and
  a rerun that did nothing."""
  import tensorflow as tf
  from configs.presets import preset
  from trainers.run_dir import RunError
  from trainers.train import train
  rng = np.random.default_rng(0)
  train_x = rng.standard_normal((20, 2)).astype(np.float32)
  test_x = rng.standard_normal((20, 2)).astype(np.float32)
  if damage == "train":  # finite rows whose loss is not (NaN is refused)
    train_x[:] = 1e30
  else:
    test_x[3, 1] = np.inf
  config = preset("table").replace(epochs=2, batch_size=10, num_layers=1,
                                   hidden_units=(8,), num_samples=4,
                                   batch_norm=None)
  run_dir = str(tmp_path / "run")
  for _ in range(2):  # a rerun refuses again, never finishes
    with pytest.raises(RunError, match=message) as error:
      train("table", config, run_dir, tf.distribute.get_strategy(),
            data=_points(train_x, test_x))
    assert "\n" not in str(error.value)
    assert not os.path.exists(os.path.join(run_dir, "results.json"))
    assert not os.path.exists(os.path.join(run_dir, "1"))


def test_an_absl_flag_error_is_one_line():
  """absl printed "FATAL Flags parsing error" and a hint on a second
  line."""
  code, out, err = run_command(["--dataset=digits", "--epochs=abc"])
  assert code != 0 and not out
  assert err.strip() == ("train: error: flag --epochs=abc: invalid literal "
                         "for int() with base 10: 'abc' (--helpfull lists "
                         "every flag)")
