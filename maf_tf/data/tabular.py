"""Tabular datasets: the MAF paper's Table 1 benchmarks (POWER, GAS,
HEPMASS, MINIBOONE, BSDS300) with the reference code's preprocessing, and
two real sets that scikit-learn bundles (wine, breast_cancer), offline.

`load_tabular(name, data_dir)` returns float32 Splits in the reference
order of rows and columns. data_dir is the paper's published `data/`
folder (holding power/, gas/, hepmass/, miniboone/, BSDS300/) or the
dataset's own folder. Splits are by position: test is the last 10% of
the rows (int(0.1 N)), validation the last 10% of the rest.

    power      power/data.npy [N, 8]: shuffled by RandomState(42); global
               intensity (column 3), then reactive power (column 1)
               deleted; uniform noise drawn voltage 0.01 U, then active
               power 0.001 U, then the three sub-meterings U (time none);
               split; normalised by train + validation (ddof 0).
    gas        16 sensor columns (raw gas/ethylene_CO.txt, a seeded 25%
               sample in random order, or gas/ethylene_CO.npy from the
               paper's pickle); correlated columns pruned (see
               `prune_correlated`); normalised over all rows (ddof 1);
               split.
    hepmass    hepmass/1000_train.csv and 1000_test.csv: label-1 rows,
               label dropped, the test file's extra last column dropped
               (it is read in the train file's columns);
               normalised by the train file (ddof 1); features whose
               smallest value occurs more than 5 times in train dropped;
               validation the last 10% of the train file.
    miniboone  miniboone/data.npy (already cleaned): split; normalised by
               train + validation (ddof 0).
    bsds300    BSDS300/BSDS300.hdf5, arrays train, validation, test as
               they are (needs h5py).
    wine, breast_cancer
               scikit-learn's bundled sets, with class labels: shuffled by
               RandomState(42) (the files are sorted by class), split,
               normalised by train + validation (ddof 0).

Nothing is unpickled: the paper's GAS file is a pandas pickle, refused
with a message naming the two safe routes.
"""

import dataclasses
import os
from typing import Callable, Optional, Tuple

import numpy as np

from maf_tf.data.files import MAX_ARRAY_BYTES, load_array
from maf_tf.data.sources import Splits
from maf_tf.data.specs import DataError, DatasetDescription

__all__ = ["TabularSpec", "TABULAR", "TABULAR_SIZES", "PAPER_SETS",
           "LABELLED", "load_tabular", "split_by_position",
           "prune_correlated", "rare_minimum_columns", "GAS_CONVERSION",
           "check_spread"]
SHUFFLE_SEED = 42          # POWER's RandomState in the reference code
GAS_SAMPLE_SEED = 0        # the raw GAS file's 25% sample (ours)
GAS_SENSORS = 16
CORRELATION_LIMIT = 0.98   # GAS: columns correlated above this are pruned
REPEAT_LIMIT = 5           # HEPMASS: most repeats of a feature's minimum
GAS_CONVERSION = (
    "python -c \"import numpy, pandas; f = pandas.read_pickle("
    "'gas/ethylene_CO.pickle'); numpy.save('gas/ethylene_CO.npy', "
    "f.drop(columns=['Meth', 'Eth', 'Time']).to_numpy('float64'))\"")

Arrays = Tuple[np.ndarray, Optional[np.ndarray]]


def split_by_position(rows: np.ndarray) -> Tuple[np.ndarray, ...]:
  """(train, validation, test): test the last int(0.1 N) rows, validation
  the last int(0.1 M) of the M that remain (the reference code's rule)."""
  test_size = int(0.1 * len(rows))
  rest, test = rows[:len(rows) - test_size], rows[len(rows) - test_size:]
  validation_size = int(0.1 * len(rest))
  cut = len(rest) - validation_size
  return rest[:cut], rest[cut:], test


def check_spread(rows: np.ndarray, what: str) -> None:
  """Refuses a column with one value in `rows` (a standard deviation of 0:
  normalising it would give NaN, and it has no density)."""
  constant = np.flatnonzero(np.all(rows == rows[:1], axis=0))
  if constant.size:
    raise DataError(
        f"{what}: column {constant[0]} (counting from 0, after the "
        f"reference preprocessing) holds one value, {rows[0, constant[0]]:g}, "
        f"in all {len(rows)} rows that set the normalisation "
        f"({constant.size} such column{'s' if constant.size > 1 else ''}); "
        "a constant column has no density: expected varying values")


def _normalise(arrays, statistics: np.ndarray, ddof: int, what: str):
  check_spread(statistics, what)
  mean = statistics.mean(axis=0)
  std = statistics.std(axis=0, ddof=ddof)
  return [(a - mean) / std for a in arrays]


def prune_correlated(data: np.ndarray,
                     limit: float = CORRELATION_LIMIT) -> np.ndarray:
  """GAS's pruning: while some column j has B_j > 1, where B_j counts the
  columns k (j itself included) of signed Pearson correlation C_jk >
  limit, drop the first such column and recompute. Returns the indices
  of the columns kept."""
  kept = np.arange(data.shape[1])
  while len(kept) > 1:
    counts = (np.corrcoef(data[:, kept], rowvar=False) > limit).sum(axis=1)
    offending = np.flatnonzero(counts > 1)
    if not offending.size:
      return kept
    kept = np.delete(kept, offending[0])
  return kept


def rare_minimum_columns(data: np.ndarray,
                         limit: int = REPEAT_LIMIT) -> np.ndarray:
  """HEPMASS's feature rule: the indices of the columns whose *smallest*
  value occurs at most `limit` times. (The reference code calls that count
  `max_count`; it counts the minimum, not the most repeated value, and
  this reproduces what the code does.)"""
  minimum_counts = (data == data.min(axis=0)).sum(axis=0)
  return np.flatnonzero(minimum_counts <= limit)


def _folder(data_dir: Optional[str], name: str) -> str:
  """The dataset's folder: data_dir/<folder> if it exists, else data_dir."""
  if not data_dir:
    raise DataError(f"{name} needs --data_dir (Python: data_dir=): the MAF "
                    "paper's data/ folder or its "
                    f"{TABULAR[name].folder}/ folder")
  if not os.path.isdir(data_dir):
    raise DataError(f"data directory {data_dir!r} does not exist")
  nested = os.path.join(data_dir, TABULAR[name].folder)
  return nested if os.path.isdir(nested) else data_dir


def _file(folder: str, name: str) -> str:
  path = os.path.join(folder, name)
  if not os.path.isfile(path):
    raise DataError(f"missing file {name} in {folder}")
  return path


def _matrix(array: np.ndarray, columns: int, what: str) -> np.ndarray:
  """A 2-D float64 array with `columns` columns and finite values."""
  real = np.issubdtype(array.dtype, np.floating) or np.issubdtype(
      array.dtype, np.integer)  # complex would lose its imaginary part
  if array.ndim != 2 or array.shape[1] != columns or not real:
    raise DataError(f"{what}: expected a real array [N, {columns}]; got "
                    f"{array.dtype} {list(array.shape)}")
  array = array.astype(np.float64)
  if not np.all(np.isfinite(array)):
    raise DataError(f"{what}: holds NaN or infinite values")
  if len(array) < 20:
    raise DataError(f"{what}: {len(array)} rows; a split needs at least 20")
  return array


def _text(path: str, columns: int, delimiter: Optional[str]) -> np.ndarray:
  """The first `columns` columns of a numeric text table with one header
  row (fields after them are not read)."""
  try:
    array = np.loadtxt(path, delimiter=delimiter, skiprows=1, ndmin=2,
                       usecols=range(columns))
  except (OSError, ValueError) as error:
    raise DataError(f"cannot read {path} as a numeric table of {columns} "
                    f"columns after a header: {str(error).splitlines()[0]}"
                    ) from None
  return _matrix(array, columns, path)


def _power(folder: str) -> Tuple[np.ndarray, ...]:
  path = _file(folder, "data.npy")
  data = _matrix(load_array(path), 8, path)
  rng = np.random.RandomState(SHUFFLE_SEED)
  rng.shuffle(data)
  data = np.delete(np.delete(data, 3, axis=1), 1, axis=1)
  count = len(data)
  voltage = 0.01 * rng.rand(count, 1)
  active_power = 0.001 * rng.rand(count, 1)
  sub_metering = rng.rand(count, 3)
  # Columns now: active power, voltage, three sub-meterings, time.
  data += np.hstack([active_power, voltage, sub_metering,
                     np.zeros((count, 1))])
  train, validation, test = split_by_position(data)
  return tuple(_normalise((train, validation, test),
                          np.vstack([train, validation]), ddof=0, what=path))


def _gas_sensors(folder: str) -> np.ndarray:
  """The 16 sensor columns, from the .npy conversion or the raw text."""
  converted = os.path.join(folder, "ethylene_CO.npy")
  if os.path.isfile(converted):
    return _matrix(load_array(converted), GAS_SENSORS, converted)
  raw = os.path.join(folder, "ethylene_CO.txt")
  if os.path.isfile(raw):
    table = _text(raw, 3 + GAS_SENSORS, None)  # time, CO, ethylene, sensors
    count = int(round(0.25 * len(table)))
    order = np.random.RandomState(GAS_SAMPLE_SEED).permutation(len(table))
    return table[order[:count], 3:]
  if os.path.isfile(os.path.join(folder, "ethylene_CO.pickle")):
    raise DataError(
        f"{folder}/ethylene_CO.pickle is a pandas pickle, which maf_tf never "
        "unpickles; either put the raw UCI ethylene_CO.txt there, or convert "
        f"the pickle once where you trust it: {GAS_CONVERSION}")
  raise DataError(f"missing file ethylene_CO.npy or ethylene_CO.txt in "
                  f"{folder}")


def _gas(folder: str) -> Tuple[np.ndarray, ...]:
  data = _gas_sensors(folder)
  check_spread(data, f"{folder} (GAS)")  # before correlations of constants
  data = data[:, prune_correlated(data)]
  data = _normalise([data], data, ddof=1, what=f"{folder} (GAS)")[0]
  return split_by_position(data)


def _hepmass(folder: str) -> Tuple[np.ndarray, ...]:
  train_path = _file(folder, "1000_train.csv")
  test_path = _file(folder, "1000_test.csv")
  try:
    with open(train_path, encoding="utf-8") as stream:
      columns = len(stream.readline().split(","))
  except (OSError, UnicodeDecodeError) as error:
    raise DataError(f"cannot read {train_path}: expected a UTF-8 CSV with a "
                    f"header row ({str(error).splitlines()[0]})") from None
  # The test file has one column more than the train file (the reference
  # drops it): it is read in the train file's columns.
  train, test = (_text(path, columns, ",") for path in (train_path,
                                                         test_path))
  train, test = (rows[rows[:, 0] == 1, 1:] for rows in (train, test))
  if len(train) < 20 or not len(test):
    raise DataError(f"{folder}: too few label-1 rows ({len(train)} train, "
                    f"{len(test)} test)")
  train, test = _normalise((train, test), train, ddof=1, what=train_path)
  kept = rare_minimum_columns(train)
  train, test = train[:, kept], test[:, kept]
  cut = len(train) - int(0.1 * len(train))
  return train[:cut], train[cut:], test


def _miniboone(folder: str) -> Tuple[np.ndarray, ...]:
  path = _file(folder, "data.npy")
  train, validation, test = split_by_position(
      _matrix(load_array(path), TABULAR["miniboone"].size, path))
  return tuple(_normalise((train, validation, test),
                          np.vstack([train, validation]), ddof=0, what=path))


def _hdf5_array(dataset, what: str) -> np.ndarray:
  """An HDF5 dataset read into memory once its declared shape is checked:
  [N, 63] numbers of at most MAX_ARRAY_BYTES as float64."""
  size = TABULAR["bsds300"].size
  shape = tuple(dataset.shape or ())
  if len(shape) != 2 or shape[1] != size or not np.issubdtype(
      dataset.dtype, np.number):
    raise DataError(f"{what}: expected a numeric array [N, {size}]; the "
                    f"file declares {dataset.dtype} {list(shape)}")
  if shape[0] * size * 8 > MAX_ARRAY_BYTES:
    raise DataError(f"{what}: declares {shape[0]:,} rows, more than the "
                    f"{MAX_ARRAY_BYTES // (size * 8):,} read into memory "
                    "(BSDS300's training array has 1,000,000)")
  return np.asarray(dataset)


def _bsds300(folder: str) -> Tuple[np.ndarray, ...]:
  try:
    import h5py
  except ImportError:
    raise DataError("bsds300 needs h5py to read BSDS300.hdf5: pip install "
                    "h5py") from None
  path = _file(folder, "BSDS300.hdf5")
  try:
    with h5py.File(path, "r") as archive:
      missing = {"train", "validation", "test"} - set(archive.keys())
      if missing:
        raise DataError(f"{path} lacks arrays {sorted(missing)}; expected "
                        "train, validation, test")
      arrays = [_hdf5_array(archive[key], f"{path} {key}")
                for key in ("train", "validation", "test")]
  except OSError as error:
    raise DataError(f"cannot read {path} as HDF5: {error}") from None
  return tuple(_matrix(a, TABULAR["bsds300"].size, f"{path} {key}")
               for a, key in zip(arrays, ("train", "validation", "test")))


def _bundled(name: str) -> Tuple[Arrays, ...]:
  from sklearn import datasets
  bunch = getattr(datasets, f"load_{name}")()
  order = np.random.RandomState(SHUFFLE_SEED).permutation(len(bunch.target))
  x, labels = bunch.data[order].astype(np.float64), bunch.target[order]
  parts = split_by_position(np.arange(len(x)))
  train, validation, test = _normalise(
      [x[p] for p in parts], x[np.concatenate(parts[:2])], ddof=0,
      what=f"scikit-learn's {name}")
  return tuple(zip((train, validation, test),
                   (labels[p].astype(np.int64) for p in parts)))


@dataclasses.dataclass(frozen=True)
class TabularSpec:
  """One tabular set.

  Attributes:
    size: its event size after preprocessing.
    read: folder -> (train, validation, test) arrays, preprocessed as the
      reference code does; None for a set scikit-learn bundles (read by
      name, with its class labels).
    folder: the folder of data_dir that holds its files.
    paper: whether it is one of the paper's benchmarks.
  """

  size: int
  read: Optional[Callable[[str], Tuple[np.ndarray, ...]]] = None
  folder: Optional[str] = None
  paper: bool = False


TABULAR = {
    "power": TabularSpec(6, _power, "power", paper=True),
    "gas": TabularSpec(8, _gas, "gas", paper=True),
    "hepmass": TabularSpec(21, _hepmass, "hepmass", paper=True),
    "miniboone": TabularSpec(43, _miniboone, "miniboone", paper=True),
    "bsds300": TabularSpec(63, _bsds300, "BSDS300", paper=True),
    "wine": TabularSpec(13),
    "breast_cancer": TabularSpec(30),
}
TABULAR_SIZES = {name: spec.size for name, spec in TABULAR.items()}
PAPER_SETS = tuple(name for name, spec in TABULAR.items() if spec.paper)
# the sets that come with class labels
LABELLED = tuple(name for name, spec in TABULAR.items() if spec.read is None)


def load_tabular(name: str, data_dir: Optional[str] = None) -> Splits:
  """Train / validation / test float32 arrays of a tabular set (see the
  module docstring), described as kind 'tabular'.

  Raises:
    DataError: an unknown name, a missing data_dir or file, a file of the
      wrong shape or with non-finite values, a constant column, an empty
      split, the GAS pickle.
  """
  if name not in TABULAR:
    raise DataError(f"unknown tabular dataset {name!r}; expected one of "
                    f"{sorted(TABULAR)}")
  if TABULAR[name].read is not None:
    splits = [(a, None) for a in TABULAR[name].read(_folder(data_dir, name))]
  else:
    splits = list(_bundled(name))
  splits = [(x.astype(np.float32), labels) for x, labels in splits]
  for (x, _), part in zip(splits, ("train", "validation", "test")):
    if not len(x):
      raise DataError(f"{name}: the {part} split is empty; the file holds "
                      "too few rows for the reference splits")
    if not np.all(np.isfinite(x)):
      raise DataError(f"{name}: the {part} split holds values beyond "
                      "float32's range after preprocessing")
  size = splits[0][0].shape[1]
  if name != "gas" and size != TABULAR[name].size:
    raise DataError(f"{name}: {size} features after preprocessing; "
                    f"expected {TABULAR_SIZES[name]}")
  num_classes = 0 if splits[0][1] is None else int(
      max(labels.max() for _, labels in splits)) + 1
  return Splits(DatasetDescription(name, "tabular", size,
                                   num_classes=num_classes), *splits)
