"""Speed and memory of a table of your own, end to end through the
commands:

    python -m benchmarks.tables_speed [--rows=1000000] [--columns=10]

Writes a CSV of correlated Gaussian and log-normal columns, trains the
table preset on it for one epoch (`trainers.train --data`), then scores
the first tenth and the whole file (`trainers.score`), each command in
its own process. Printed: training rows per second (the trainer's own
figure), scoring rows per second (rows over the command's wall time,
start-up included) and each scorer's peak resident memory, so one can
see it does not grow with the file.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
flags.DEFINE_integer("rows", 1_000_000, "Rows of the generated table.")
flags.DEFINE_integer("columns", 10, "Columns of the generated table.")
flags.DEFINE_string("work_dir", None, "Where the files go (default: a "
                    "temp folder).")

# Runs a command and prints its peak resident memory (KiB) last.
PEAK = ("import resource, subprocess, sys; "
        "done = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.exit(done.returncode)")


def _write(path: str, rows: int, columns: int, seed: int = 0) -> None:
  import pandas
  rng = np.random.default_rng(seed)
  mixing = rng.normal(size=(columns, columns)) / np.sqrt(columns)
  with open(path, "w") as stream:
    for start in range(0, rows, 100_000):
      count = min(100_000, rows - start)
      values = rng.normal(size=(count, columns)) @ mixing
      values[:, ::2] = np.exp(values[:, ::2])  # skewed, positive columns
      pandas.DataFrame(values, columns=[f"c{i}" for i in range(columns)]
                       ).to_csv(stream, index=False, header=start == 0,
                                float_format="%.6g")


def _run(args) -> tuple:
  """(seconds, peak memory in MiB, stdout) of `python -m ...args`."""
  start = time.time()
  done = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m",
                         *args], capture_output=True, text=True,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  if done.returncode:
    raise SystemExit(done.stderr[-2000:])
  lines = done.stdout.strip().splitlines()
  return time.time() - start, int(lines[-1]) / 1024, "\n".join(lines[:-1])


def main(argv):
  del argv
  work = FLAGS.work_dir or tempfile.mkdtemp(prefix="tables-speed-")
  os.makedirs(work, exist_ok=True)
  full = os.path.join(work, "table.csv")
  tenth = os.path.join(work, "tenth.csv")
  _write(full, FLAGS.rows, FLAGS.columns)
  _write(tenth, FLAGS.rows // 10, FLAGS.columns)
  print(f"{FLAGS.rows} rows x {FLAGS.columns} columns: "
        f"{os.path.getsize(full) / 2**20:.0f} MB of CSV")
  run = os.path.join(work, "run")
  bounds = ",".join(f"c{i}:0:" for i in range(0, FLAGS.columns, 2))
  seconds, memory, _ = _run(["trainers.train", f"--data={full}",
                             f"--model_dir={run}", "--epochs=1",
                             f"--bounds={bounds}", "--fresh"])
  with open(os.path.join(run, "results.json")) as stream:
    results = json.load(stream)
  print(f"training: {results['train_samples_per_second']:,.0f} rows/s "
        f"(one epoch of {int(FLAGS.rows * 0.8):,} rows in "
        f"{results['train_seconds']:.0f} s; the command {seconds:.0f} s, "
        f"peak {memory:,.0f} MiB)")
  for path in (tenth, full):
    out = os.path.join(work, f"scores-{os.path.basename(path)}")
    if os.path.exists(out):
      os.remove(out)
    seconds, memory, _ = _run(["trainers.score", f"--model_dir={run}",
                               f"--data={path}", f"--out={out}", "--top=0"])
    rows = sum(1 for _ in open(out)) - 1
    print(f"scoring {rows:,} rows: {rows / seconds:,.0f} rows/s "
          f"({seconds:.0f} s with start-up), peak {memory:,.0f} MiB")


if __name__ == "__main__":
  app.run(main)
