"""Scores the rows of a table with a trained --data run:
`python -m trainers.score --model_dir=RUN --data=FILE --out=scores.csv`.

Every row gets its log-density in the data's own units (nats), written
with its row number (from 0, the header not counted), its id if the run
or --id_column names an id column, and a reason where it has no finite
score: 'missing value' (NaN score), 'unknown label' (NaN), 'outside
bounds' (-inf: no density there) or 'not finite' (a value or context so
far from the training rows that the model overflows). Text files are
read and written in chunks, so memory stays bounded whatever the file's
length; the quantiles of the summary come from a uniform sample of at
most QUANTILE_SAMPLE scores (exact below that). Then the summary and the
--top least likely rows are printed. The output file appears whole or
not at all, and an existing one is never replaced.
"""

import heapq
import sys

from absl import flags
import numpy as np
import tensorflow as tf

from maf_tf.data import DataError
from maf_tf.data.pipeline import DISCRETE_MARGIN
from maf_tf.data.tables import CHUNK_ROWS, table_rows
from trainers.flags import run_command
from trainers.logs import one_line_errors, quiet_logs
from trainers.signals import exit_on_signals
from trainers.run_dir import written_whole
from trainers.tables import check_out, csv_field, restore_table_run

FLAGS = flags.FLAGS
QUANTILE_SAMPLE = 1_000_000
QUANTILES = (0.001, 0.01, 0.1, 0.5, 0.9)
MAX_TOP = 100_000  # least likely rows kept in memory and printed


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "Run directory of a --data run.")
  flags.DEFINE_string("data", None, "Table file to score (the run's "
                      "columns, in any order).")
  flags.DEFINE_string("out", None, "CSV file to write (must not exist).")
  flags.DEFINE_integer("top", 10, "Least likely rows to print.")
  flags.DEFINE_string("id_column", None, "Column naming each row in the "
                      "output (default: the run's --id_column).")
  flags.DEFINE_integer("batch_size", 10_000, "Rows per model call.")
  flags.DEFINE_bool("verbose", False, "Also show TensorFlow's log lines.")


def _dequantised(x: np.ndarray, discrete, seed: int, start: int):
  """Discrete columns v + u, one fixed draw per row (seeded by the run
  and the chunk's first row)."""
  if not discrete or not len(x):
    return x
  noise = tf.random.stateless_uniform(
      [len(x), len(discrete)], seed=[seed, start], minval=DISCRETE_MARGIN,
      maxval=1.0 - DISCRETE_MARGIN).numpy()
  x = x.copy()
  x[:, list(discrete)] += noise
  return x


class _Summary:
  """Counts, a bounded sample of scores for the quantiles, and the
  `top` least likely rows."""

  def __init__(self, top: int, seed: int):
    self.rows = self.missing = self.outside = self.not_finite = 0
    self.top = top
    self.worst = []  # max-heap by -score of (-score, row, id)
    self.sample = np.empty(0, np.float32)
    self.rng = np.random.default_rng(seed)

  def add(self, rows, ids, scores, reason):
    self.rows += len(scores)
    self.missing += int(np.count_nonzero(np.isin(
        reason, ("missing value", "unknown label"))))
    self.outside += int(np.count_nonzero(reason == "outside bounds"))
    self.not_finite += int(np.count_nonzero(reason == "not finite"))
    finite = np.flatnonzero(np.isfinite(scores))
    for i in finite[np.argsort(scores[finite])[:self.top]]:
      item = (-float(scores[i]), int(rows[i]),
              None if ids is None else ids[i])
      if len(self.worst) < self.top:
        heapq.heappush(self.worst, item)
      elif item[0] > self.worst[0][0]:
        heapq.heapreplace(self.worst, item)
    self._keep(scores[finite])

  def _keep(self, values):
    """A uniform sample of at most QUANTILE_SAMPLE finite scores."""
    kept = np.concatenate([self.sample, values])
    if len(kept) > QUANTILE_SAMPLE:
      kept = self.rng.choice(kept, QUANTILE_SAMPLE, replace=False)
    self.sample = kept

  def lines(self) -> list:
    finite = self.rows - self.missing - self.outside - self.not_finite
    lines = [f"scored {self.rows} rows: {finite} with a log-density, "
             f"{self.outside} outside the bounds (-inf), {self.missing} "
             "without a score (NaN: a missing value or unknown label)" +
             (f", {self.not_finite} not finite (a value or context too far "
              "from the training rows for the model)" if self.not_finite
              else "")]
    if len(self.sample):
      values = np.quantile(self.sample, QUANTILES)
      lines.append("log-density quantiles (nats): " + ", ".join(
          f"{q:g}: {v:.4g}" for q, v in zip(QUANTILES, values)))
    worst = sorted(self.worst, reverse=True)
    if worst:
      lines.append(f"{len(worst)} least likely rows (row"
                   + (", id" if worst[0][2] is not None else "") +
                   ": log-density):")
      lines += [f"  {row}" + ("" if ident is None else f", {ident}")
                + f": {-score:.4g}" for score, row, ident in worst]
    return lines


def score(run_dir: str, data: str, out: str, top: int = 10,
          id_column=None, batch_size: int = 10_000,
          chunk_rows: int = CHUNK_ROWS) -> list:
  """Writes `out` (see the module docstring); returns the summary
  lines."""
  check_out(out)
  config, description, model = restore_table_run(run_dir)
  id_column = id_column or config.id_column
  labels = description.label_values is not None
  summary = _Summary(top, config.seed)
  with written_whole(out, "w") as stream:
    stream.write(",".join(["row"] + ([id_column] if id_column else [])
                          + ["log_prob", "reason"]) + "\n")
    for chunk in table_rows(data, description, id_column, chunk_rows,
                            config.max_table_megabytes):
      scores, outside = _score_chunk(model, chunk, description, labels,
                                     config.stream_seed("test"), batch_size)
      reason = np.where(
          chunk["reason"] != "", chunk["reason"],
          np.where(outside, "outside bounds",
                   np.where(np.isfinite(scores), "", "not finite")))
      _write_rows(stream, chunk, scores, reason)
      summary.add(chunk["index"], chunk["id"], scores, reason)
    if not summary.rows:
      raise DataError(f"{data} holds no rows to score")
  return summary.lines()


def _score_chunk(model, chunk, description, labels: bool, seed: int,
                 batch_size: int) -> tuple:
  """(log-densities [n], whether each row is outside or on a bound)."""
  x = _dequantised(chunk["x"], description.discrete, seed,
                   int(chunk["index"][0]) if len(chunk["x"]) else 0)
  record = description.preprocessing
  with np.errstate(invalid="ignore"):  # NaN rows are neither
    outside = np.zeros(len(x), bool)
    for j, bound in enumerate(record["lower"]):
      if bound is not None:
        outside |= x[:, j] <= bound
    for j, bound in enumerate(record["upper"]):
      if bound is not None:
        outside |= x[:, j] >= bound
  scores = np.full(len(x), np.nan, np.float32)
  ok = np.flatnonzero(chunk["reason"] == "")
  context = chunk["context"]
  for start in range(0, len(ok), batch_size):
    rows = ok[start:start + batch_size]
    given = None
    if context is not None:
      given = (tf.one_hot(context[rows], model.context_size) if labels
               else context[rows])
    scores[rows] = model.log_prob(x[rows], given).numpy()
  return scores, outside


def _write_rows(stream, chunk, scores, reason) -> None:
  columns = [chunk["index"].astype(str)]
  if chunk["id"] is not None:
    columns.append(np.array([csv_field(v) for v in chunk["id"]]))
  columns += [np.char.mod("%.7g", scores), reason]
  for row in zip(*columns):
    stream.write(",".join(row) + "\n")


def main(argv):
  if len(argv) > 1:
    sys.exit(f"score: error: unexpected arguments {argv[1:]}")
  with one_line_errors("score"):
    for name in ("model_dir", "data", "out"):
      if not getattr(FLAGS, name):
        raise ValueError(f"--{name} is required")
    if not 0 <= FLAGS.top <= MAX_TOP or FLAGS.batch_size < 1:
      raise ValueError(f"top must be in 0..{MAX_TOP:,} and batch_size >= 1;"
                       f" got {FLAGS.top} and {FLAGS.batch_size}")
    quiet_logs(FLAGS.verbose)
    with exit_on_signals("score", "no output file was written"):
      for line in score(FLAGS.model_dir, FLAGS.data, FLAGS.out, FLAGS.top,
                        FLAGS.id_column, FLAGS.batch_size):
        print(line)
    print(f"scores: {FLAGS.out}")


def run():
  """The `maf-score` console command (`python -m trainers.score`)."""
  define_flags()
  run_command(main, "score")


if __name__ == "__main__":
  run()
