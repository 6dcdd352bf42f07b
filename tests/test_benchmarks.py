"""benchmarks.quality: its argument checks and one tiny side-by-side run."""

import os

import numpy as np
import pytest

from benchmarks import quality
from configs.presets import PRESETS
from maf_tf.data import TOYS, sample_toy


@pytest.mark.parametrize("argv, message", [
    (["--datasets=mnist"], "unknown dataset"),
    (["--systems=ours,zuko"], "unknown system"),
    (["--seeds=a"], "--seeds must be comma-separated integers"),
    (["--fashion_subset=0"], "--fashion_subset must be in 1..60000"),
    (["--steps_scale=0"], "--steps_scale must be > 0"),
])
def test_bad_arguments_exit_with_one_line(argv, message, capsys):
  with pytest.raises(SystemExit) as exit_info:
    quality.parse_args(argv)
  assert exit_info.value.code == 2
  assert message in capsys.readouterr().err


@pytest.mark.parametrize("system", ["ours", "ours_paper_form", "tfp"])
def test_both_systems_train_and_score_every_test_point(system):
  config = PRESETS["two_moons"]
  test = sample_toy("two_moons", 300, seed=99)
  result = quality.train_and_score(system, config, 2,
                                   sample_toy("two_moons", 2000, seed=0),
                                   test, None, steps=5, seed=0)
  assert result["log_likelihood"].shape == (300,)
  assert np.all(np.isfinite(result["log_likelihood"]))
  assert result["skipped"] == 0 and result["seconds"] > 0


def test_a_variant_changes_its_setting_and_the_learning_rate_it_trains_at():
  config = PRESETS["two_moons"]
  data, test = sample_toy("two_moons", 2000, seed=0), sample_toy(
      "two_moons", 300, seed=99)
  scores = {system: quality.train_and_score(system, config, 2, data, test,
                                            None, steps=5, seed=0)
            ["log_likelihood"] for system in ("ours", "ours_lr_1e-4")}
  assert not np.allclose(scores["ours"], scores["ours_lr_1e-4"])


def test_the_zuko_reference_data_is_the_benchmarks_toys(tmp_path):
  """benchmarks.zuko_reference's data (zuko itself is not installed here)
  are the toys benchmarks.quality trains and tests on."""
  from benchmarks import zuko_reference
  path = str(tmp_path / "toys.npz")
  assert zuko_reference.main([f"--write_data={path}", "--seeds=0,1"]) == 0
  arrays = np.load(path)
  np.testing.assert_array_equal(arrays["two_moons/train/1"],
                                sample_toy("two_moons", 20_000, seed=1))
  np.testing.assert_array_equal(arrays["pinwheel/test"],
                                sample_toy("pinwheel", 10_000, seed=99))
  assert len(arrays.files) == len(TOYS) * 3


@pytest.mark.parametrize("argv, message", [
    # argparse took --model as a prefix of --models
    (["--model=nsf"], "--model_dir, --dataset, --model, --num_layers"),
    (["--models=maf,maf"], "--models names ['maf'] more than once"),
    (["--datasets=wine,wine"], "--datasets names ['wine'] more than once"),
    (["--out=README.md/grid"], "README.md is a file; expected a directory"),
    (["--out=/proc/grid"], "--out /proc/grid: cannot make that directory"),
])
def test_the_paper_grid_refuses_bad_arguments_in_one_line(argv, message,
                                                          capsys):
  from benchmarks import paper
  with pytest.raises(SystemExit) as exit_info:
    paper.parse_args(argv)
  assert exit_info.value.code == 2
  err = capsys.readouterr().err
  assert message in err and err.count("\n") == 1, err


def test_the_paper_grid_gives_each_row_only_the_flags_its_model_uses():
  from benchmarks import paper
  assert paper._unused("--num_layers=5", "made")
  assert paper._unused("--hidden_units=8", "gaussian")
  assert paper._unused("--bins=4", "maf")
  assert not paper._unused("--hidden_units=8", "maf")
  assert not paper._unused("--bins=4", "nsf")


def test_sbi_tasks_hold_the_exact_posterior_and_c2st_tells_apart(
    tmp_path, monkeypatch):
  from benchmarks import sbi
  path = os.path.join(tmp_path, "tasks.npz")
  sbi.write_data(path, [50])
  arrays = np.load(path)
  assert arrays["gaussian_linear/50/theta"].shape == (50, 10)
  observations = arrays["gaussian_linear/observations"]
  reference = arrays["gaussian_linear/reference"]
  assert reference.shape == (10, 10_000, 10)
  np.testing.assert_allclose(reference.mean(axis=1), observations / 2,
                             atol=0.015)  # 7 s.e. of a mean of 10,000
  np.testing.assert_allclose(reference.std(axis=1), np.sqrt(0.05),
                             rtol=0.05)
  sbi.write_data(path, [20], ["gaussian_linear_64"])
  arrays = np.load(path)
  assert arrays["gaussian_linear_64/20/x"].shape == (20, 64)
  assert arrays["gaussian_linear_64/reference"].shape == (10, 10_000, 64)
  monkeypatch.setattr(sbi, "C2ST_SAMPLES", 400)
  rng = np.random.default_rng(0)
  same = sbi.c2st(rng.normal(size=(400, 2)), rng.normal(size=(400, 2)))
  apart = sbi.c2st(rng.normal(size=(400, 2)), 3 + rng.normal(size=(400, 2)))
  assert 0.4 < same < 0.62 and apart > 0.95


def test_the_peer_reference_scripts_import_without_tensorflow():
  """They run in a PyTorch environment that has no TensorFlow."""
  import subprocess
  import sys
  done = subprocess.run(
      [sys.executable, "-c", "import sys; sys.modules['tensorflow'] = None; "
       "import benchmarks.zuko_reference, benchmarks.sbi_reference; "
       "assert 'trainers' not in sys.modules"],
      cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
      capture_output=True, text=True, timeout=120)
  assert done.returncode == 0, done.stderr[-2000:]


def test_two_moons_reference_samples_follow_its_normalised_density():
  """The exact sampler and log-density of benchmarks.sbi's two moons
  agree: the density integrates to 1 over the prior's box, and the
  samples' share of each of three regions matches the density's mass
  there."""
  from benchmarks import sbi
  _, observations = sbi.TwoMoons.simulate(3, seed=99)
  rng = np.random.default_rng(1)
  points = rng.uniform(-1, 1, (2_000_000, 2))
  for observation in observations:
    samples = sbi.TwoMoons.reference(observation, 40_000, rng)
    assert (np.abs(samples) < 1).all()
    mass = 4 * np.exp(sbi.TwoMoons.log_prob(points, observation))
    assert abs(mass.mean() - 1) < 0.03
    for region in (lambda t: t[:, 0] < -0.2, lambda t: t.sum(1) > 0,
                   lambda t: t[:, 1] > 0.3):
      assert abs(region(samples).mean() - (mass * region(points)).mean()) \
          < 0.03
