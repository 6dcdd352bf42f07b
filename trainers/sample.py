"""Draws samples from a trained --data run:
`python -m trainers.sample --model_dir=RUN --num_samples=N --out=FILE`.

Samples are exact (the fast sampler), in the data's units and inside
the declared bounds, written as CSV with the run's column names;
discrete columns are floored back to integers. A run conditioned on
context columns takes --context=v1,v2,... (one observation, in the
context columns' order) or --context_file=FILE (a table with those
columns: num_samples for each of its rows, numbered in a column
'context_row'); one conditioned on a label column takes --label=VALUE.
Samples are drawn and written SAMPLE_CHUNK_ROWS at a time, every context
row's in the same pass, so memory stays bounded whatever num_samples is.
The output appears whole or not at all and never replaces a file.
"""

import sys

from absl import flags
import numpy as np

from maf_tf.data import DataError
from maf_tf.data.tables import read_table
from maf_tf.sampling import sample_in_chunks
from trainers.flags import run_command
from trainers.logs import one_line_errors, quiet_logs
from trainers.run_dir import written_whole
from trainers.signals import exit_on_signals
from trainers.tables import (check_out, csv_field, floored_discrete,
                             restore_table_run)

FLAGS = flags.FLAGS
MAX_SAMPLE_VALUES = 10**8  # num_samples x rows of contexts x D per command
SAMPLE_CHUNK_ROWS = 100_000  # samples drawn and written at a time


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "Run directory of a --data run.")
  flags.DEFINE_integer("num_samples", 1000, "Samples (per context row).")
  flags.DEFINE_string("context", None, "One observation of the context "
                      "columns, comma-separated, in their order.")
  flags.DEFINE_string("context_file", None, "A table of contexts: "
                      "num_samples for each row.")
  flags.DEFINE_string("label", None, "The label to sample (a run trained "
                      "with --label_column).")
  flags.DEFINE_integer("seed", 0, "Seed of the samples.")
  flags.DEFINE_string("out", None, "CSV file to write (must not exist).")
  flags.DEFINE_bool("verbose", False, "Also show TensorFlow's log lines.")


def _contexts(description, context, context_file, label):
  """The context rows [R, C] (or label one-hots [1, K]), or None."""
  given = [n for n, v in (("context", context), ("context_file",
                                                 context_file),
                          ("label", label)) if v is not None]
  if description.context_columns:
    if len(given) != 1 or given[0] == "label":
      got = f"; got --{' and --'.join(given)}" if given else ""
      raise ValueError("this run is conditioned on "
                       f"{list(description.context_columns)}: give one of "
                       f"--context=v1,... or --context_file=FILE{got}")
    if context is not None:
      try:
        values = np.array([[float(v) for v in context.split(",")]])
      except ValueError:
        values = np.zeros((1, 0))
      if values.shape[1] != len(description.context_columns) or \
          not np.isfinite(values.astype(np.float32)).all():
        raise ValueError(f"context must be "
                         f"{len(description.context_columns)} finite "
                         "numbers, one per context column "
                         f"{list(description.context_columns)}; got "
                         f"{context!r}")
      return values
    frame = read_table(context_file)
    absent = [c for c in description.context_columns
              if c not in frame.columns]
    if absent:
      raise DataError(f"{context_file}: no column {absent[0]!r}")
    values = frame[list(description.context_columns)].to_numpy(np.float64)
    finite = np.isfinite(values.astype(np.float32)).all(axis=1)
    if not finite.all():
      raise DataError(f"{context_file}: contexts must be finite in float32; "
                      f"{int((~finite).sum())} row(s) are not")
    return values
  if description.label_values is not None:
    if given != ["label"]:
      raise ValueError("this run is conditioned on the label column "
                       f"{description.label_column!r}: give --label=VALUE "
                       f"(one of {list(description.label_values)})")
    if label not in description.label_values:
      raise ValueError(f"label must be one of "
                       f"{list(description.label_values)}; got {label!r}")
    return np.eye(len(description.label_values))[
        [description.label_values.index(label)]]
  if given:
    raise ValueError(f"this run is unconditional; --{given[0]} does not "
                     "apply")
  return None


def _not_finite(model, description, contexts, row: int, bad) -> str:
  """Why some of a batch of samples (bad: [n], those not finite) are not
  finite: how far the first one's context row lies from the training
  contexts (the model has not learned what to do there)."""
  count = int(bad.sum())
  where = ""
  if description.context_columns:
    standard = np.abs(np.asarray(model.standard_context(
        contexts[row:row + 1].astype(np.float32))))[0]
    where = (f" for context row {row}, which lies {standard.max():.3g} "
             "standard deviations from the training contexts' mean in "
             f"{description.context_columns[int(standard.argmax())]!r}")
  return (f"{count} of {len(bad)} samples are not finite{where}; "
          "nothing was written")


def draw(run_dir: str, num_samples: int, out: str, context=None,
         context_file=None, label=None, seed: int = 0) -> int:
  """Writes the samples (see the module docstring); returns the rows
  written."""
  check_out(out)
  if num_samples < 1:
    raise ValueError(f"num_samples must be a positive integer; got "
                     f"{num_samples}")
  _, description, model = restore_table_run(run_dir)
  contexts = _contexts(description, context, context_file, label)
  rows = 1 if contexts is None else len(contexts)
  if num_samples * rows * model.event_size > MAX_SAMPLE_VALUES:
    raise ValueError(f"num_samples x context rows x columns must be at most "
                     f"{MAX_SAMPLE_VALUES:,}; got {num_samples} x {rows} x "
                     f"{model.event_size}")
  prefix = ["context_row"] if context_file else []
  with written_whole(out, "w") as stream:
    stream.write(",".join(csv_field(h) for h in (
        prefix + list(description.columns))) + "\n")
    for row_of, samples in sample_in_chunks(
        model, num_samples, contexts, seed, SAMPLE_CHUNK_ROWS):
      bad = ~np.isfinite(samples).all(axis=1)
      if bad.any():
        raise ValueError(_not_finite(model, description, contexts,
                                     int(row_of[bad][0]), bad))
      samples = floored_discrete(samples, description)
      for row, values in zip(row_of, samples):
        stream.write(("" if not prefix else f"{row},") + ",".join(
            f"{v:.7g}" for v in values) + "\n")
  return num_samples * rows


def main(argv):
  if len(argv) > 1:
    sys.exit(f"sample: error: unexpected arguments {argv[1:]}")
  with one_line_errors("sample"):
    for name in ("model_dir", "out"):
      if not getattr(FLAGS, name):
        raise ValueError(f"--{name} is required")
    if not 0 <= FLAGS.seed < 2**31 - 1:
      raise ValueError(f"seed must be in 0..{2**31 - 2}; got {FLAGS.seed}")
    quiet_logs(FLAGS.verbose)
    with exit_on_signals("sample", "no output file was written"):
      count = draw(FLAGS.model_dir, FLAGS.num_samples, FLAGS.out,
                   FLAGS.context, FLAGS.context_file, FLAGS.label,
                   FLAGS.seed)
    print(f"{count} samples: {FLAGS.out}")


def run():
  """The `maf-sample` console command (`python -m trainers.sample`)."""
  define_flags()
  run_command(main, "sample")


if __name__ == "__main__":
  run()
