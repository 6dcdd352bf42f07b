"""Tables of your own: a file -> seeded splits and the description (with
the bounds and standardisation) that a model of them is built from.

    load_table(path, columns=..., context_columns=..., bounds=..., ...)

Formats, by extension: .csv, .tsv, .txt (a header row; the delimiter,
comma, tab, semicolon or bar, is sniffed; quoting and a UTF-8 byte-order
mark as pandas reads them), .npy (a 2-D array, columns named 0..D-1),
.npz (one 2-D array, or named 1-D arrays of one length) and .parquet
(with the optional pyarrow). Nothing is unpickled.

A discrete (integer-valued) column's value v stands for the interval
[v, v + 1): training adds fresh uniform noise, evaluation one fixed draw
per row, and its density is that of the dequantised value. Its bounds
must hold the whole interval.
"""

import csv
import os
import zipfile
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

from maf_tf.data.files import check_npz_headers, load_array
from maf_tf.data.sources import Splits
from maf_tf.data.specs import DataError, DatasetDescription
from maf_tf.preprocessing import bound_map, fit_preprocessing

__all__ = ["load_table", "read_table", "parse_bounds", "table_rows",
           "TABLE_FORMATS", "MISSING", "DEFAULT_MAX_MEGABYTES"]

TABLE_FORMATS = (".csv", ".tsv", ".txt", ".npy", ".npz", ".parquet")
MISSING = ("refuse", "drop")
DEFAULT_MAX_MEGABYTES = 2048  # a larger file is refused before reading
DELIMITERS = ",\t;|"
CHUNK_ROWS = 100_000  # rows per chunk when a file is streamed


def _extension(path: str) -> str:
  extension = os.path.splitext(path)[1].lower()
  if extension not in TABLE_FORMATS:
    raise DataError(f"{path}: expected a table file ending in one of "
                    f"{', '.join(TABLE_FORMATS)}; got {extension or 'none'}")
  return extension


def _check_file(path: str, max_megabytes: float) -> None:
  if not os.path.isfile(path):
    raise DataError(f"table file {path} does not exist (or is not a file)")
  if not os.access(path, os.R_OK):
    raise DataError(f"table file {path} is not readable")
  size = os.path.getsize(path)
  if size == 0:
    raise DataError(f"table file {path} is empty")
  if size > max_megabytes * 2**20:
    raise DataError(f"table file {path} is {_megabytes(size)} MB, more "
                    f"than max_table_megabytes={max_megabytes:g}; raise "
                    "--max_table_megabytes to read it")


def _sniff(path: str) -> str:
  with open(path, encoding="utf-8-sig", errors="replace") as stream:
    sample = stream.read(65536)
  try:
    return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
  except csv.Error:
    return "\t" if path.lower().endswith(".tsv") else ","


def _text_reader(path: str, chunksize: Optional[int] = None):
  import pandas
  try:
    return pandas.read_csv(path, sep=_sniff(path), encoding="utf-8-sig",
                           skipinitialspace=True, chunksize=chunksize,
                           low_memory=False)
  except (pandas.errors.ParserError, UnicodeDecodeError,
          pandas.errors.EmptyDataError) as error:
    raise DataError(f"{path}: not a readable table: "
                    f"{str(error).strip().splitlines()[-1]}") from None


def _check_header(path: str, names) -> None:
  def number(name) -> bool:
    try:
      float(name)
      return True
    except ValueError:
      return False
  if len(names) and all(number(name) for name in names):
    raise DataError(f"{path}: the first line holds numbers, not column "
                    "names; a text table needs a header row")
  duplicates = sorted({n for n in names if list(names).count(n) > 1})
  if duplicates:
    raise DataError(f"{path}: repeated column names {duplicates}")


def _numpy_frame(path: str, extension: str, max_megabytes: float):
  """A DataFrame of a .npy or .npz; refused before anything is read in
  full if a header claims more than its member holds, or the members
  hold more than max_megabytes uncompressed."""
  import pandas
  if extension == ".npy":
    arrays = {"": load_array(path)}  # mapped: a forged header fails
  else:
    check_npz_headers(path, members=None, limit=2**62)
    with zipfile.ZipFile(path) as archive:
      size = sum(info.file_size for info in archive.infolist())
    if size > max_megabytes * 2**20:
      raise DataError(f"table file {path} holds {_megabytes(size)} MB "
                      f"uncompressed, more than max_table_megabytes="
                      f"{max_megabytes:g}; raise --max_table_megabytes to "
                      "read it")
  try:
    if extension == ".npz":
      with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
  except (ValueError, OSError, EOFError) as error:
    raise DataError(f"{path}: not a readable {extension} file ({error})"
                    ) from None
  if len(arrays) == 1 and next(iter(arrays.values())).ndim == 2:
    array = next(iter(arrays.values()))
    return pandas.DataFrame(array, columns=[str(i) for i in
                                            range(array.shape[1])])
  lengths = {len(a) if a.ndim == 1 else -1 for a in arrays.values()}
  if len(lengths) != 1 or -1 in lengths:
    raise DataError(f"{path}: expected one 2-D array, or named 1-D arrays "
                    "of one length; got shapes " + str(
                        {n: list(a.shape) for n, a in arrays.items()}))
  return pandas.DataFrame(arrays)


def read_table(path: str, max_megabytes: float = DEFAULT_MAX_MEGABYTES):
  """The whole file as a pandas DataFrame; DataError in one line for a
  missing, empty, unreadable or headerless file, or one too large."""
  extension = _extension(path)
  _check_file(path, max_megabytes)
  if extension in (".npy", ".npz"):
    frame = _numpy_frame(path, extension, max_megabytes)
  elif extension == ".parquet":
    frame = _parquet(path)
  else:
    frame = _text_reader(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_header(path, frame.columns)
  frame.columns = [str(c).strip() for c in frame.columns]
  if len(frame) == 0:
    raise DataError(f"{path}: the table has a header but no rows")
  return frame


def _parquet(path: str):
  import pandas
  try:
    return pandas.read_parquet(path)
  except ImportError:
    raise DataError("reading Parquet needs pyarrow: pip install pyarrow "
                    "(or pip install 'maf-tf[parquet]')") from None
  except Exception as error:  # pyarrow's own errors have no common base
    raise DataError(f"{path}: not a readable Parquet file ({error})"
                    ) from None


def _megabytes(size: int) -> str:
  """A byte count in MB as a person reads it: 3,072 or 0.0312."""
  megabytes = size / 2**20
  return f"{megabytes:,.0f}" if megabytes >= 10 else f"{megabytes:.3g}"


def parse_bounds(text) -> Dict[str, Tuple[Optional[float],
                                          Optional[float]]]:
  """'a:0:,b:0:100,c::5' (or a dict) -> {column: (lower, upper)}, None
  for no bound; ValueError naming the entry that does not parse or has
  lower >= upper."""
  if isinstance(text, dict):
    entries = {name: tuple(value) for name, value in text.items()}
  else:
    entries = {}
    for entry in [e for e in (text or "").split(",") if e.strip()]:
      parts = entry.strip().rsplit(":", 2)
      if len(parts) != 3:
        raise ValueError(f"bounds entry {entry!r} must be column:lower:upper"
                         " (either may be empty)")
      try:
        entries[parts[0]] = tuple(float(v) if v.strip() else None
                                  for v in parts[1:])
      except ValueError:
        raise ValueError(f"bounds entry {entry!r} must be column:lower:upper"
                         " with numbers") from None
  for name, (lower, upper) in entries.items():
    if any(v is not None and not np.isfinite(v) for v in (lower, upper)) or (
        lower is not None and upper is not None and not lower < upper):
      raise ValueError(f"bounds of {name!r} must be finite with lower < "
                       f"upper; got {lower}:{upper}")
  return entries


def _names(value) -> Tuple[str, ...]:
  if value is None:
    return ()
  if isinstance(value, str):
    value = value.split(",")
  return tuple(v.strip() for v in value if v.strip())


def _choose_columns(frame, path, columns, context_columns, label_column,
                    id_column, bounds, discrete):
  """(columns, context_columns): every named column checked to exist,
  once, and numeric; by default every column not named elsewhere."""
  named = {"context_columns": context_columns,
           "label_column": _names(label_column),
           "id_column": _names(id_column)}
  for flag, names in [("columns", columns), *named.items(),
                      ("bounds", tuple(bounds)),
                      ("discrete_columns", discrete)]:
    unknown = [n for n in names if n not in frame.columns]
    if unknown:
      raise DataError(f"{path}: no column {unknown[0]!r} (named in "
                      f"{flag}); the columns are {list(frame.columns)}")
  seen = {}
  for flag, names in [("columns", columns), *named.items()]:
    for name in names:
      if name in seen:
        raise DataError(f"column {name!r} is named in both {seen[name]} "
                        f"and {flag}")
      seen[name] = flag
  if not columns:
    columns = tuple(c for c in frame.columns if c not in seen)
  for name in (*columns, *context_columns):
    if frame[name].dtype.kind not in "biuf":
      raise DataError(
          f"{path}: column {name!r} is not numeric (e.g. "
          f"{frame[name].dropna().iloc[0]!r}); name it in label_column "
          "or id_column, or leave it out with columns=")
  for name in tuple(bounds) + tuple(discrete):
    if name not in columns:
      raise DataError(f"{name!r} has bounds or is discrete but is not one "
                      "of the modelled columns")
  if not columns:
    raise DataError(f"{path}: no column left to model")
  return tuple(columns), tuple(context_columns)


def _missing_rows(frame, names, path, missing: str):
  """Rows with NaN or Inf in `names`: refused (one line with the counts)
  or dropped."""
  values = frame[list(names)].to_numpy(dtype=np.float64, na_value=np.nan) \
      if names else np.zeros((len(frame), 0))
  bad = ~np.isfinite(values)
  rows = bad.any(axis=1)
  if rows.any() and missing == "refuse":
    counts = ", ".join(f"{n}: {int(c)}" for n, c in zip(names, bad.sum(0))
                       if c)
    raise DataError(f"{path}: {int(rows.sum())} row(s) have missing or "
                    f"non-finite values ({counts}); pass missing='drop' "
                    "(--missing=drop) to drop them")
  return rows


def _labels(frame, label_column):
  values = frame[label_column].astype(str).to_numpy()
  names, index = np.unique(values, return_inverse=True)
  return tuple(str(n) for n in names), index.astype(np.int64)


def _split(count: int, validation_fraction: float, test_fraction: float,
           seed: int, path: str):
  order = np.random.default_rng(seed).permutation(count)
  test = int(round(test_fraction * count))
  validation = int(round(validation_fraction * count))
  train = count - test - validation
  if train < 2 or validation < 1 or (test_fraction > 0 and test < 1):
    raise DataError(f"{path}: {count} rows are too few for the splits "
                    f"(train {train}, validation {validation}, test {test});"
                    " at least 2 training rows and 1 in each other split")
  return order[:train], order[train:train + validation], \
      order[train + validation:]


def load_table(path: str, columns=None, context_columns=None,
               label_column: Optional[str] = None,
               id_column: Optional[str] = None, bounds=None,
               discrete_columns=None, missing: str = "refuse",
               validation_fraction: float = 0.1, test_fraction: float = 0.1,
               test_data: Optional[str] = None, seed: int = 0,
               max_megabytes: float = DEFAULT_MAX_MEGABYTES) -> Splits:
  """A table file as seeded train / validation / test splits (float32 x
  [N, D] with a label index [N] or a context [N, C], or None), described
  with its columns and the preprocessing a model carries (bounds, and the
  training split's means and standard deviations).

  Args:
    path: the table file (see the module docstring).
    columns: the modelled columns (names or 'a,b'); default every column
      not named in another argument.
    context_columns: columns of a feature context (p(x | context)).
    label_column: a categorical column, one-hot context (p(x | label)).
    id_column: a column kept aside (the scorer writes it beside scores).
    bounds: {column: (lower, upper)} or 'a:0:,b:0:100'.
    discrete_columns: integer-valued columns (dequantised).
    missing: 'refuse' (default) or 'drop' rows with NaN / Inf.
    validation_fraction, test_fraction: shares of the rows (seeded
      shuffle); with `test_data`, test_fraction is not used.
    test_data: a second file, the test split.
    seed: the shuffle's seed.
    max_megabytes: a larger file is refused before it is read.

  Raises:
    DataError: one line naming the file, the column and what was expected.
  """
  _check_options(missing, validation_fraction, test_fraction,
                 label_column, context_columns)
  bounds = parse_bounds(bounds)
  frame = read_table(path, max_megabytes)
  columns, context_columns = _choose_columns(
      frame, path, _names(columns), _names(context_columns), label_column,
      id_column, bounds, _names(discrete_columns))
  discrete = tuple(columns.index(n) for n in _names(discrete_columns))
  frames = [(frame, path)]
  if test_data is not None:
    frames.append((read_table(test_data, max_megabytes), test_data))
  complete = [_complete_rows(table, where, columns + context_columns,
                             label_column, missing, path)
              for table, where in frames]
  rows = _concat(complete)
  x = rows[list(columns)].to_numpy(np.float64)
  middle = _dequantised_middle(x, discrete, columns)
  lower = [bounds.get(n, (None, None))[0] for n in columns]
  upper = [bounds.get(n, (None, None))[1] for n in columns]
  bound_map(middle, lower, upper, columns)  # every row inside its bounds
  label_values, second = None, None
  if label_column:
    label_values, second = _labels(rows, label_column)
  elif context_columns:
    second = rows[list(context_columns)].to_numpy(np.float64)
  first = len(complete[0])  # the rows of `path`; then test_data's
  train, validation, test = _split(
      first, validation_fraction, 0.0 if test_data else test_fraction,
      seed, path)
  if test_data is not None:
    test = np.arange(first, len(x))
    if not len(test):
      raise DataError(f"{test_data}: no rows left to test on")
  record = fit_preprocessing(
      middle[train], lower, upper,
      second[train] if context_columns else None, columns, context_columns)
  description = DatasetDescription(
      os.path.splitext(os.path.basename(path))[0], "table", len(columns),
      num_classes=len(label_values) if label_values else 0,
      columns=columns, context_columns=context_columns,
      label_column=label_column or None, label_values=label_values,
      discrete=discrete, preprocessing=record)

  def part(indices):
    if second is None:
      return x[indices].astype(np.float32), None
    return x[indices].astype(np.float32), (
        second[indices] if label_column else
        second[indices].astype(np.float32))
  return Splits(description, part(train), part(validation), part(test))


def _check_options(missing, validation_fraction, test_fraction,
                   label_column, context_columns) -> None:
  if missing not in MISSING:
    raise DataError(f"missing must be one of {MISSING}; got {missing!r}")
  for name, fraction in (("validation_fraction", validation_fraction),
                         ("test_fraction", test_fraction)):
    if not 0 <= fraction < 1:
      raise DataError(f"{name} must be in [0, 1); got {fraction}")
  if validation_fraction + test_fraction >= 1 or validation_fraction <= 0:
    raise DataError("validation_fraction must be > 0 and leave training "
                    f"rows; got {validation_fraction} and test_fraction "
                    f"{test_fraction}")
  if label_column and _names(context_columns):
    raise DataError("give label_column or context_columns, not both")


def _complete_rows(table, where: str, names, label_column, missing: str,
                   path: str):
  """The rows of `table` with every value of `names` (and the label)
  present and finite: the others refused in one line, or dropped."""
  absent = [c for c in list(names) + list(_names(label_column))
            if c not in table.columns]
  if absent:
    raise DataError(f"{where}: no column {absent[0]!r}, which {path} has")
  dropped = _missing_rows(table, names, where, missing)
  if label_column:
    unlabelled = table[label_column].isna().to_numpy()
    if unlabelled.any() and missing == "refuse":
      raise DataError(f"{where}: {int(unlabelled.sum())} row(s) have no "
                      f"{label_column!r}; pass missing='drop' "
                      "(--missing=drop) to drop them")
    dropped |= unlabelled
  return table[~dropped]


def _dequantised_middle(x, discrete, columns):
  """x with each discrete value v at the middle of its interval v + 1/2
  (what the statistics and the bounds check see); DataError if a
  discrete column holds a value that is not an integer."""
  middle = x.copy()
  for j in discrete:
    if not np.array_equal(x[:, j], np.round(x[:, j])):
      raise DataError(f"discrete column {columns[j]!r} holds values that "
                      "are not integers (e.g. "
                      f"{x[:, j][x[:, j] != np.round(x[:, j])][0]:g}); "
                      "scale it to integer units first")
    middle[:, j] += 0.5
  return middle


def _concat(frames):
  import pandas
  return frames[0] if len(frames) == 1 else pandas.concat(
      frames, ignore_index=True)


def table_rows(path: str, description: DatasetDescription,
               id_column: Optional[str] = None,
               chunk_rows: int = CHUNK_ROWS,
               max_megabytes: float = DEFAULT_MAX_MEGABYTES) -> Iterator:
  """A table to score, streamed: per chunk a dict with 'index' (row
  numbers from 0), 'x' float32 [n, D] in the model's column order,
  'context' (float32 [n, C], or label indices [n], or None), 'id' (or
  None) and 'reason' (str [n]: '' or why the row has no score: a missing
  value, an unknown label). Text files are read chunk by chunk, so memory
  does not grow with the file; DataError if a column the model needs is
  absent."""
  extension = _extension(path)
  _check_file(path, float("inf") if extension in (".csv", ".tsv", ".txt")
              else max_megabytes)
  chunks = (_text_reader(path, chunk_rows)
            if extension in (".csv", ".tsv", ".txt") else
            [read_table(path, max_megabytes)])
  columns = list(description.columns)
  context = list(description.context_columns)
  label = description.label_values is not None
  start = 0
  for chunk in chunks:
    chunk.columns = [str(c).strip() for c in chunk.columns]
    if start == 0 and extension in (".csv", ".tsv", ".txt"):
      _check_header(path, chunk.columns)
    needed = columns + context + ([id_column] if id_column else [])
    absent = [c for c in needed if c not in chunk.columns]
    if absent or (label and description.label_column not in
                  chunk.columns):
      raise DataError(f"{path}: no column "
                      f"{(absent or [description.label_column])[0]!r}"
                      f"; the model needs {needed}")
    x = _numeric(chunk, columns, path)
    reason = np.where(np.isfinite(x).all(axis=1), "", "missing value")
    second = None
    if context:
      second = _numeric(chunk, context, path)
      reason = np.where(np.isfinite(second).all(axis=1), reason,
                        "missing context value")
    elif label:
      values = chunk[description.label_column].astype(str).to_numpy()
      known = {v: i for i, v in enumerate(description.label_values)}
      second = np.array([known.get(v, -1) for v in values], np.int64)
      reason = np.where(second >= 0, reason, "unknown label")
    yield {"index": np.arange(start, start + len(chunk)),
           "x": x.astype(np.float32), "context": second,
           "id": None if not id_column else chunk[id_column].to_numpy(),
           "reason": reason}
    start += len(chunk)


def _numeric(chunk, names: Sequence[str], path: str) -> np.ndarray:
  import pandas
  values = chunk[list(names)].apply(pandas.to_numeric, errors="coerce")
  return values.to_numpy(np.float64, na_value=np.nan)
