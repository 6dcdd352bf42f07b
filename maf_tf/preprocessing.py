"""What a flow over your own data carries in front of its layers: per
column bounds and standardisation (`maf_tf.bijectors.columns`), and the
standardisation of a feature context.

A flow takes it as one JSON-able record, `preprocessing=`, which its
get_config keeps (so `.keras` files and SavedModels hold it):

    {"lower": [D bounds or None], "upper": [D bounds or None],
     "mean": [D], "scale": [D],                # of the bound-mapped data
     "context_mean": [C], "context_scale": [C]}  # optional

`fit_preprocessing` computes it from training rows. log_prob is then in
the data's units (the map's exact log-det is added) and sample returns
values in those units, inside the bounds.

Example:
    >>> import numpy as np
    >>> x = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    >>> record = fit_preprocessing(x, lower=[0.0, None])
    >>> [round(v, 3) for v in record["mean"]]
    [0.693, 20.0]
"""

from typing import Optional, Sequence

import numpy as np

from maf_tf.bijectors.columns import ColumnMap

__all__ = ["fit_preprocessing", "check_preprocessing", "column_maps",
           "bound_map", "CONTEXT_TYPES"]

CONTEXT_TYPES = ("labels", "features")


def _names(columns: Optional[Sequence[str]], size: int) -> list:
  return list(columns) if columns is not None else [
      str(i) for i in range(size)]


def bound_map(x: np.ndarray, lower: Sequence, upper: Sequence,
              columns: Optional[Sequence[str]] = None) -> np.ndarray:
  """x [N, D] with each column's bounds mapped away (float64), as the
  flow's ColumnMap does before it standardises; ValueError naming the
  first column with values outside or on its bounds, and how many."""
  x = np.asarray(x, dtype=np.float64)
  names = _names(columns, x.shape[1])
  y = x.copy()
  for j in range(x.shape[1]):
    lo = -np.inf if lower[j] is None else lower[j]
    hi = np.inf if upper[j] is None else upper[j]
    bad = int(np.count_nonzero((x[:, j] <= lo) | (x[:, j] >= hi)))
    if bad:
      raise ValueError(
          f"column {names[j]!r} has {bad} value(s) outside or on its "
          f"bounds ({_bound_text(lo)}, {_bound_text(hi)}); a value on a "
          "bound has no finite density: widen the bound (e.g. below the "
          "smallest value) or drop those rows")
    if np.isfinite(lo) and np.isfinite(hi):
      y[:, j] = np.log(x[:, j] - lo) - np.log(hi - x[:, j])
    elif np.isfinite(lo):
      y[:, j] = np.log(x[:, j] - lo)
    elif np.isfinite(hi):
      y[:, j] = np.log(hi - x[:, j])
  return y


def _bound_text(value: float) -> str:
  return "" if not np.isfinite(value) else f"{value:g}"


def _moments(values: np.ndarray, names: list, what: str):
  mean = values.mean(axis=0)
  scale = values.std(axis=0)
  for j in np.flatnonzero(~(scale > 0) | ~np.isfinite(scale)):
    raise ValueError(f"{what} {names[j]!r} is constant in the training "
                     "rows (standard deviation 0): it has no density; "
                     "leave it out")
  return [float(v) for v in mean], [float(v) for v in scale]


def fit_preprocessing(x: np.ndarray, lower: Optional[Sequence] = None,
                      upper: Optional[Sequence] = None,
                      context: Optional[np.ndarray] = None,
                      columns: Optional[Sequence[str]] = None,
                      context_columns: Optional[Sequence[str]] = None
                      ) -> dict:
  """The preprocessing record of training rows x [N, D] (and a feature
  context [N, C]): bounds as given, mean and standard deviation of the
  bound-mapped columns (and of the context's).

  Raises:
    ValueError: non-finite values, a value outside or on its bounds, or
      a constant column (named after `columns`, else by index).
  """
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 2 or len(x) < 2:
    raise ValueError(f"x must have shape [N >= 2, D]; got {list(x.shape)}")
  size = x.shape[1]
  names = _names(columns, size)
  lower = [None] * size if lower is None else list(lower)
  upper = [None] * size if upper is None else list(upper)
  rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
  if rows.size:
    raise ValueError(f"x has {rows.size} row(s) with NaN or Inf (first: row "
                     f"{rows[0]}); drop or fill them first")
  mean, scale = _moments(bound_map(x, lower, upper, names), names, "column")
  record = {"lower": lower, "upper": upper, "mean": mean, "scale": scale}
  if context is not None:
    context = np.asarray(context, dtype=np.float64)
    if context.ndim != 2 or len(context) != len(x) or \
        not np.isfinite(context).all():
      raise ValueError(f"context must be finite, of shape [{len(x)}, C]; "
                       f"got {list(context.shape)}")
    record["context_mean"], record["context_scale"] = _moments(
        context, _names(context_columns, context.shape[1]), "context column")
  return record


def check_preprocessing(record: Optional[dict], event_size: int,
                        context_size: int, dtype) -> Optional[dict]:
  """The record, checked against the flow's sizes (ValueError in one
  line); ColumnMap checks the values in the flow's dtype."""
  if record is None:
    return None
  if not isinstance(record, dict) or not {"mean", "scale"} <= set(record):
    raise ValueError("preprocessing must be a dict with 'mean' and 'scale' "
                     "(see maf_tf.preprocessing.fit_preprocessing); got "
                     f"{record!r:.80}")
  unknown = set(record) - {"lower", "upper", "mean", "scale",
                           "context_mean", "context_scale"}
  if unknown:
    raise ValueError(f"preprocessing has unknown keys {sorted(unknown)}")
  if len(record["mean"]) != event_size:
    raise ValueError(f"preprocessing must describe {event_size} columns; "
                     f"got {len(record['mean'])}")
  ColumnMap(record.get("lower"), record.get("upper"), record["mean"],
            record["scale"], dtype)
  if "context_mean" in record:
    ColumnMap(None, None, record["context_mean"], record["context_scale"],
              dtype)
    if len(record["context_mean"]) != context_size:
      raise ValueError(f"preprocessing must describe {context_size} "
                       f"context columns; got {len(record['context_mean'])}")
  return {key: [None if v is None else float(v) for v in value]
          for key, value in record.items()}


def column_maps(record: Optional[dict], dtype) -> tuple:
  """(ColumnMap of the columns, ColumnMap of the context) of a checked
  record; None for what it does not describe."""
  if record is None:
    return None, None
  columns = ColumnMap(record.get("lower"), record.get("upper"),
                      record["mean"], record["scale"], dtype)
  if "context_mean" not in record:
    return columns, None
  return columns, ColumnMap(None, None, record["context_mean"],
                            record["context_scale"], dtype)
