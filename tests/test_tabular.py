"""maf_tf.data.tabular: the paper's UCI and BSDS300 loaders on small files
written in exactly the published formats, and the bundled sets."""

import os

import numpy as np
import pytest

from maf_tf.data import DataError, load_dataset
from maf_tf.data import tabular
from helpers import TINY, run_in_process

RNG = np.random.default_rng(0)


def test_split_sizes_of_the_published_files_follow_the_position_rule():
  """The issue's (and the paper's) split sizes from the row counts."""
  for rows, sizes in ((2_049_280, (1_659_917, 184_435, 204_928)),  # POWER
                      (1_052_065, (852_174, 94_685, 105_206)),     # GAS
                      (36_488, (29_556, 3_284, 3_648))):           # MINIBOONE
    parts = tabular.split_by_position(np.arange(rows))
    assert tuple(map(len, parts)) == sizes
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(rows))


def write_power(root, rows=200):
  """power/data.npy: 8 columns (active power, reactive power, voltage,
  intensity, three sub-meterings, time) of integers 0..100, whose spread
  dwarfs every noise."""
  os.makedirs(root / "power")
  data = RNG.integers(0, 101, (rows, 8)).astype(np.float64)
  np.save(root / "power" / "data.npy", data)
  return data


def test_power_shuffles_drops_two_columns_and_noises_only_four(tmp_path):
  raw = write_power(tmp_path)
  splits = load_dataset("power", data_dir=str(tmp_path))
  assert splits.description.event_size == 6
  assert splits.description.kind == "tabular"
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [162, 18, 20]
  assert splits.train[0].dtype == np.float32 and splits.train[1] is None
  loaded = np.concatenate([s[0] for s in (splits.train, splits.validation,
                                          splits.test)]).astype(np.float64)
  expected = raw.copy()
  np.random.RandomState(42).shuffle(expected)
  expected = expected[:, [0, 2, 4, 5, 6, 7]]  # without columns 1 and 3
  # Each loaded column is (raw + noise - mean) / std: regress raw on it;
  # what is left is the noise (and the fit's own error, a few per cent),
  # whose range is its amplitude.
  for column, amplitude in enumerate((0.001, 0.01, 1.0, 1.0, 1.0, 0.0)):
    design = np.stack([loaded[:, column], np.ones(len(loaded))], axis=1)
    fit, *_ = np.linalg.lstsq(design, expected[:, column], rcond=None)
    residual = expected[:, column] - design @ fit
    spread = residual.max() - residual.min()
    if amplitude:
      assert 0.8 * amplitude < spread < 1.15 * amplitude, column
    else:
      assert spread < 1e-3, column  # time: float32 rounding only
  statistics = loaded[:180]
  np.testing.assert_allclose(statistics.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(statistics.std(0), 1, atol=1e-5)


def test_prune_drops_the_first_offending_column_and_recomputes():
  base = RNG.standard_normal((500, 3))
  noise = 0.01 * RNG.standard_normal((500, 2))
  data = np.stack([base[:, 0], base[:, 0] + noise[:, 0], base[:, 1],
                   base[:, 1] + noise[:, 1], base[:, 2]], axis=1)
  np.testing.assert_array_equal(tabular.prune_correlated(data), [1, 3, 4])
  # Negative correlation is not pruned (the rule is signed).
  np.testing.assert_array_equal(
      tabular.prune_correlated(np.stack([base[:, 0], -base[:, 0]], 1)),
      [0, 1])


def gas_sensors(rows):
  """16 sensor readings of 8 independent signals, each read twice with
  a little noise: pruning must keep one reading of each."""
  signals = RNG.standard_normal((rows, 8))
  return np.repeat(signals, 2, axis=1) + 0.01 * RNG.standard_normal(
      (rows, 16))


def check_gas(splits, rows):
  data = np.concatenate([s[0] for s in (splits.train, splits.validation,
                                        splits.test)]).astype(np.float64)
  assert data.shape == (rows, 8)
  correlation = np.corrcoef(data, rowvar=False)
  assert (correlation[~np.eye(8, dtype=bool)] <= 0.98).all()
  np.testing.assert_allclose(data.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(data.std(0, ddof=1), 1, atol=1e-5)
  return data


def test_gas_from_the_converted_npy(tmp_path):
  os.makedirs(tmp_path / "gas")
  sensors = gas_sensors(400)
  np.save(tmp_path / "gas" / "ethylene_CO.npy", sensors)
  splits = load_dataset("gas", data_dir=str(tmp_path))
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [324, 36, 40]
  data = check_gas(splits, 400)
  # The second reading of each pair is kept, in order, unshuffled.
  kept = sensors[:, 1::2]
  kept = (kept - kept.mean(0)) / kept.std(0, ddof=1)
  np.testing.assert_allclose(data, kept, atol=1e-5)


def test_gas_from_the_raw_uci_text_takes_a_seeded_quarter(tmp_path):
  """ethylene_CO.txt: a header, then time, CO, ethylene, 16 sensors."""
  rows = 400
  table = np.concatenate([np.arange(rows)[:, None], RNG.uniform(
      size=(rows, 2)), gas_sensors(rows)], axis=1)
  text = "Time (seconds), CO conc (ppm), Ethylene conc (ppm), sensors\n"
  text += "\n".join("  ".join(f"{v:.8f}" for v in row) for row in table)
  os.makedirs(tmp_path / "gas")
  (tmp_path / "gas" / "ethylene_CO.txt").write_text(text + "\n")
  first = load_dataset("gas", data_dir=str(tmp_path / "gas"))
  check_gas(first, 100)
  again = load_dataset("gas", data_dir=str(tmp_path))
  np.testing.assert_array_equal(first.test[0], again.test[0])


def test_the_gas_pickle_is_refused_naming_both_safe_routes(tmp_path):
  os.makedirs(tmp_path / "gas")
  (tmp_path / "gas" / "ethylene_CO.pickle").write_bytes(b"\x80\x04never")
  with pytest.raises(DataError) as error:
    load_dataset("gas", data_dir=str(tmp_path))
  message = str(error.value)
  assert "\n" not in message and "never unpickles" in message
  assert "ethylene_CO.txt" in message and "ethylene_CO.npy" in message


def write_hepmass(root, rows=300):
  """The CSV pair: a header, the label in column 0, 21 continuous features
  and 3 with a repeated minimum; the test file has one column more. The
  continuous features are returned as written."""
  os.makedirs(root / "hepmass")
  written = {}
  for name, count, extra in (("train", rows, 0), ("test", rows // 3, 1)):
    labels = np.arange(count) % 2  # one in two rows is label 1
    continuous = RNG.standard_normal((count, 21))
    discrete = RNG.integers(0, 3, (count, 3)).astype(np.float64)
    features = np.concatenate([continuous[:, :10], discrete[:, :1],
                               continuous[:, 10:], discrete[:, 1:]], axis=1)
    values = np.concatenate([labels[:, None], features,
                             RNG.standard_normal((count, extra))], axis=1)
    header = ",".join(["# label"] + [f"f{i}" for i in range(24)]
                      + ["mass"] * extra)
    lines = [header] + [",".join(f"{v:.9g}" for v in row) for row in values]
    (root / "hepmass" / f"1000_{name}.csv").write_text("\n".join(lines)
                                                       + "\n")
    written[name] = np.float64([[float(f"{v:.9g}") for v in row]
                                for row in continuous[labels == 1]])
  return written


def test_hepmass_keeps_signal_drops_the_extra_column_and_rare_minima(
    tmp_path):
  written = write_hepmass(tmp_path)
  splits = load_dataset("hepmass", data_dir=str(tmp_path))
  assert splits.description.event_size == 21
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [135, 15, 50]
  train = np.concatenate([splits.train[0], splits.validation[0]])
  mean, std = written["train"].mean(0), written["train"].std(0, ddof=1)
  np.testing.assert_allclose(train, (written["train"] - mean) / std,
                             atol=1e-5)
  np.testing.assert_allclose(splits.test[0], (written["test"] - mean) / std,
                             atol=1e-5)


def test_rare_minimum_counts_the_smallest_value_not_the_most_repeated():
  data = np.array([[0.0, 5.0]] * 6 + [[1.0, 5.0]] * 1 + [[2.0, 4.0]] * 1)
  # Column 0's minimum 0 occurs 6 times: dropped. Column 1's most repeated
  # value (5, 7 times) is not its minimum (4, once): kept.
  np.testing.assert_array_equal(tabular.rare_minimum_columns(data), [1])


def test_miniboone_splits_unshuffled_and_normalises_by_train_validation(
    tmp_path):
  os.makedirs(tmp_path / "miniboone")
  raw = RNG.standard_normal((300, 43)) * 3 + 1
  np.save(tmp_path / "miniboone" / "data.npy", raw)
  splits = load_dataset("miniboone", data_dir=str(tmp_path / "miniboone"))
  statistics = raw[:270]
  expected = (raw - statistics.mean(0)) / statistics.std(0)
  np.testing.assert_allclose(splits.train[0], expected[:243], atol=1e-5)
  np.testing.assert_allclose(splits.validation[0], expected[243:270],
                             atol=1e-5)
  np.testing.assert_allclose(splits.test[0], expected[270:], atol=1e-5)


def test_bsds300_reads_the_three_arrays_as_they_are(tmp_path):
  h5py = pytest.importorskip("h5py")
  os.makedirs(tmp_path / "BSDS300")
  arrays = {key: RNG.standard_normal((count, 63)).astype(np.float32)
            for key, count in (("train", 50), ("validation", 30),
                               ("test", 20))}
  with h5py.File(tmp_path / "BSDS300" / "BSDS300.hdf5", "w") as archive:
    for key, array in arrays.items():
      archive.create_dataset(key, data=array)
  splits = load_dataset("bsds300", data_dir=str(tmp_path))
  for key, array in arrays.items():
    np.testing.assert_array_equal(getattr(splits, key)[0], array)


@pytest.mark.parametrize("setup, message", [
    (lambda root: None, "power needs --data_dir"),
    (lambda root: os.makedirs(root / "power"), "missing file data.npy"),
    (lambda root: (os.makedirs(root / "power"), np.save(
        root / "power" / "data.npy", np.zeros((50, 7)))),
     r"expected a real array \[N, 8\]; got float64 \[50, 7\]"),
    (lambda root: (os.makedirs(root / "power"), np.save(
        root / "power" / "data.npy", np.full((50, 8), np.nan))),
     "holds NaN or infinite values"),
    (lambda root: (os.makedirs(root / "power"), np.save(
        root / "power" / "data.npy", np.ones((50, 8)) * (1 + 2j))),
     r"expected a real array \[N, 8\]; got complex128"),  # it lost 2j
])
def test_bad_files_are_one_line_errors(tmp_path, setup, message):
  setup(tmp_path)
  data_dir = str(tmp_path) if os.listdir(tmp_path) else None
  with pytest.raises(DataError, match=message) as error:
    load_dataset("power", data_dir=data_dir)
  assert "\n" not in str(error.value)


def test_image_options_do_not_apply_to_tabular_sets():
  with pytest.raises(DataError, match="alpha does not apply"):
    load_dataset("wine", alpha=0.05)


def test_bundled_sets_are_real_labelled_and_normalised():
  for name, size, classes, rows in (("wine", 13, 3, 178),
                                    ("breast_cancer", 30, 2, 569)):
    splits = load_dataset(name)
    assert splits.description.event_size == size
    assert splits.description.num_classes == classes
    parts = (splits.train, splits.validation, splits.test)
    assert sum(len(p[0]) for p in parts) == rows
    assert all(p[1].dtype == np.int64 for p in parts)
    statistics = np.concatenate([p[0] for p in parts[:2]])
    np.testing.assert_allclose(statistics.mean(0), 0, atol=1e-5)
    # Shuffled: the files are sorted by class, the test split is not.
    assert len(set(splits.test[1])) == classes


def test_the_trainer_runs_power_from_the_published_layout(tmp_path):
  write_power(tmp_path / "data", rows=400)
  run_dir = tmp_path / "run"
  error = run_in_process(["--dataset=power", f"--data_dir={tmp_path}/data",
                          f"--model_dir={run_dir}", "--epochs=2", *TINY])
  assert error is None
  with open(run_dir / "results.txt") as stream:
    assert "nats per point" in stream.read()
  assert os.path.isfile(run_dir / "samples.png")
  from trainers import evaluate
  report = evaluate.evaluate(str(run_dir), recompute_batch_norm=True)
  assert np.isfinite(report["log_likelihood"])
  assert report["paper"] is None  # the paper has no MAF(2)
  for picture in ("evaluation_samples.png", "latents.png"):
    assert os.path.isfile(run_dir / picture)
  error = run_in_process(["--dataset=gas", f"--data_dir={tmp_path}/data",
                          f"--model_dir={tmp_path}/gas_run"])
  assert "missing file ethylene_CO.npy or ethylene_CO.txt" in error


def test_the_paper_grid_runs_resumes_and_writes_its_table(tmp_path, capsys):
  """benchmarks.paper on a one-cell grid (a conditional model on a
  labelled set); rerun after an interruption (the cell's evaluation
  lost), it is scored again, not retrained."""
  from benchmarks import paper
  argv = ["--datasets=wine,two_moons", "--models=made", "--epochs=1",
          "--conditional=yes", f"--out={tmp_path}", "--hidden_units=8",
          "--num_samples=20"]
  assert paper.main(argv) == 0
  table = (tmp_path / "table.md").read_text()
  # two_moons has no labels: no conditional column for it.
  assert "| model | wine, conditional |" in table
  assert table.count("| MADE |") == 1 and "failed" not in table
  cell = tmp_path / "wine" / "made_conditional"
  stamp = os.path.getmtime(cell / "results.json")
  os.remove(cell / "evaluation.json")
  assert paper.main(argv) == 0
  assert os.path.getmtime(cell / "results.json") == stamp
  assert (cell / "evaluation.json").is_file()
  assert (tmp_path / "table.md").read_text() == table
  (cell / "evaluation.json").write_text("{")  # edited: one line, exit 1
  assert paper.main(argv) == 1
  assert (f"| MADE, wine, conditional | failed: ValueError: {cell}/"
          "evaluation.json is not JSON (") in (tmp_path / "table.md"
                                                ).read_text()
  with pytest.raises(SystemExit):
    paper.main(["--datasets=power"])
  assert "need --data_dir" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    paper.main([f"--out={cell / 'results.json'}"])
  assert "results.json is a file; expected a directory" in \
      capsys.readouterr().err


def test_every_paper_set_builds_its_preset_model_from_the_fixture_files(
    tmp_path):
  """What the trainer does before fitting, for all five: the preset's
  config checked, the data loaded, the model built and scoring the test
  split (the power test above trains through the trainer itself)."""
  from configs.build import build_model, load_data
  from configs.checks import check_config
  from configs.presets import preset
  h5py = pytest.importorskip("h5py")
  root = tmp_path / "data"
  root.mkdir()
  write_power(root)
  os.makedirs(root / "gas")
  np.save(root / "gas" / "ethylene_CO.npy", gas_sensors(200))
  write_hepmass(root)
  os.makedirs(root / "miniboone")
  np.save(root / "miniboone" / "data.npy", RNG.standard_normal((200, 43)))
  os.makedirs(root / "BSDS300")
  with h5py.File(root / "BSDS300" / "BSDS300.hdf5", "w") as archive:
    for key in ("train", "validation", "test"):
      archive.create_dataset(key, data=RNG.standard_normal((30, 63)))
  for name in tabular.PAPER_SETS:
    config = preset(name).replace(data_dir=str(root), num_layers=1)
    check_config(config)
    data = load_data(config)
    model = build_model(config, data.description)
    scores = model.log_prob(data.test[0]).numpy()
    assert scores.shape == (len(data.test[0]),) and np.isfinite(scores).all()


def _power_with_constant_time(root):
  raw = RNG.standard_normal((60, 8))
  raw[:, 7] = 3.0  # the time column, which gets no noise
  os.makedirs(root / "power")
  np.save(root / "power" / "data.npy", raw)


def _gas_of(sensors):
  def write(root):
    os.makedirs(root / "gas")
    np.save(root / "gas" / "ethylene_CO.npy", sensors)
  return write


def _gas_text(rows):
  """A raw GAS file whose 25% sample (6 of 24 rows) leaves no test rows."""
  def write(root):
    table = np.concatenate([np.arange(rows)[:, None], RNG.uniform(
        size=(rows, 2)), gas_sensors(rows)], axis=1)
    os.makedirs(root / "gas")
    (root / "gas" / "ethylene_CO.txt").write_text("header\n" + "\n".join(
        " ".join(f"{v:.8f}" for v in row) for row in table) + "\n")
  return write


def _miniboone_with_constant_column(root):
  raw = RNG.standard_normal((300, 43))
  raw[:, 5] = 1.5
  os.makedirs(root / "miniboone")
  np.save(root / "miniboone" / "data.npy", raw)


def _hepmass_not_utf8(root):
  write_hepmass(root)
  path = root / "hepmass" / "1000_train.csv"
  path.write_bytes(b"\xff\xfe" + path.read_bytes())


def _bsds300_declaring(rows):
  def write(root):
    h5py = pytest.importorskip("h5py")
    os.makedirs(root / "BSDS300")
    with h5py.File(root / "BSDS300" / "BSDS300.hdf5", "w") as archive:
      for key in ("train", "validation", "test"):
        # chunked and empty: a tiny file that declares `rows` rows
        archive.create_dataset(key, shape=(rows, 63), dtype="float32",
                               chunks=(1, 63))
  return write


@pytest.mark.parametrize("name, setup, message", [
    ("power", _power_with_constant_time,
     r"column 5 .* holds one value, 3, in all 54 rows"),
    ("miniboone", _miniboone_with_constant_column,
     r"column 5 .* holds one value, 1.5, in all 270 rows"),
    ("gas", _gas_of(np.ones((400, 16))), r"column 0 .* holds one value"),
    ("gas", _gas_of(np.repeat(RNG.standard_normal((400, 1)), 16, axis=1)),
     None),  # 16 equal sensors: pruned to one column, not an index error
    ("gas", _gas_text(24), "the validation split is empty"),
    ("hepmass", _hepmass_not_utf8, "1000_train.csv: expected a UTF-8 CSV"),
    ("bsds300", _bsds300_declaring(10**11),
     "BSDS300.hdf5 train: declares 100,000,000,000 rows, more than"),
])
def test_a_file_that_would_give_nan_or_an_empty_split_is_refused(
    tmp_path, name, setup, message):
  """Constant columns were divided by a standard deviation of 0 (NaN
  arrays, then a run that skipped every step); a split left empty by a
  small file ended in the trainer's OutOfRangeError."""
  setup(tmp_path)
  if message is None:
    splits = load_dataset(name, data_dir=str(tmp_path))
    assert splits.train[0].shape[1] == 1
    assert np.isfinite(splits.train[0]).all()
    return
  with pytest.raises(DataError, match=message) as error:
    load_dataset(name, data_dir=str(tmp_path))
  assert "\n" not in str(error.value)
