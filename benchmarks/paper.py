"""The MAF paper's tables from one command: a grid of (model, dataset)
cells, each trained by the trainer and scored in the paper's protocol.

    python -m benchmarks.paper --datasets=digits,wine,breast_cancer
        [--models=gaussian,made,made_mog,real_nvp,maf,maf10,maf_mog,nsf]
        [--conditional=no|yes|both] [--epochs=N] [--out=saved_models/paper]
        [--data_dir=ROOT] [trainer flags, e.g. --hidden_units=1024,1024]

Every cell runs `python -m trainers.train --dataset=D --model=M` on the
dataset's preset (its architecture, batch size, early stopping on
validation with the preset's patience, best weights restored; --epochs
caps the epochs, default the preset's cap, i.e. to convergence), then
`trainers.evaluate` with --recompute_batch_norm (batch-norm statistics
over the whole training set; conditional models scored as logsumexp over
the labels - log K). A grid that was interrupted resumes: finished cells
are read back, not retrained, and a cell cut off mid-training resumes from
its last checkpoint. Conditional cells are run for labelled datasets only.
Trainer flags reach the rows whose model uses them (--hidden_units does
not reach the Gaussian, which the trainer would refuse).

--data_dir is the MAF paper's data/ folder, for POWER, GAS, HEPMASS,
MINIBOONE and BSDS300; Fashion-MNIST is read from Debian's IDX files unless
--fashion_dir says otherwise. Output (printed and written to OUT/table.md):
test log-likelihood in nats (logit space for images), mean ± 2 standard
errors, in the paper's layout (models as rows, datasets as columns), with
the paper's figure beside ours where the run is like for like; then each
cell's budget (epochs, best epoch, training wall time summed over the
epochs of its train.log, across resumes), median and worst test point.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import traceback
from typing import Optional

from configs.base import TrainConfig
from configs.checks import unused_fields
from configs.paper import model_name
from maf_tf.data import IMAGE_SPECS, DATASETS
from maf_tf.data.tabular import LABELLED, PAPER_SETS
from maf_tf.models import MODELS
from trainers.run_dir import write_file
from trainers.signals import exit_on_signals

# Grid rows: name -> (--model, --num_layers), in the paper's order.
ROWS = {"gaussian": ("gaussian", 5), "made": ("made", 5),
        "made_mog": ("made_mog", 5), "real_nvp": ("real_nvp", 5),
        "maf": ("maf", 5), "maf10": ("maf", 10), "maf_mog": ("maf_mog", 5),
        "nsf": ("nsf", 5)}  # beyond the paper: the spline flow
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _OneLineParser(argparse.ArgumentParser):
  """A usage error is one line (argparse prints the usage before it)."""

  def error(self, message):
    self.exit(2, f"{self.prog}: error: {message}\n")


def _check_out(path: str, parser) -> None:
  """--out must be a directory, or one that can be made (it is made here,
  before the first cell, so that no cell trains for nothing)."""
  ancestor = os.path.abspath(path)
  while not os.path.exists(ancestor):
    ancestor = os.path.dirname(ancestor)
  if not os.path.isdir(ancestor):
    parser.error(f"--out {path}: {ancestor} is a file; expected a directory "
                 "for the grid's runs and table.md")
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as error:
    parser.error(f"--out {path}: cannot make that directory "
                 f"({error.strerror})")


def parse_args(argv):
  parser = _OneLineParser(prog="python -m benchmarks.paper",
                          description=__doc__.split("\n")[0],
                          allow_abbrev=False)
  parser.add_argument("--datasets", default="digits,wine,breast_cancer",
                      help="comma-separated dataset names")
  parser.add_argument("--models", default=",".join(
      row for row in ROWS if row != "nsf"),  # the paper's seven
                      help=f"comma-separated, from {', '.join(ROWS)}")
  parser.add_argument("--conditional", default="both",
                      choices=["no", "yes", "both"])
  parser.add_argument("--epochs", type=int, default=None,
                      help="most epochs per cell (default: the preset's)")
  parser.add_argument("--out", default="saved_models/paper")
  parser.add_argument("--data_dir", default=None,
                      help="the MAF paper's data/ folder (UCI, BSDS300)")
  parser.add_argument("--fashion_dir", default=FASHION_DIR,
                      help="Fashion-MNIST IDX files")
  args, trainer_flags = parser.parse_known_args(argv)
  args.datasets = args.datasets.split(",")
  args.models = args.models.split(",")
  for name, given, known in (("dataset", args.datasets, DATASETS),
                             ("model", args.models, ROWS)):
    unknown = sorted(set(given) - set(known))
    if unknown:
      parser.error(f"unknown {name}(s) {unknown}; expected some of "
                   f"{list(known)}")
    twice = sorted({n for n in given if given.count(n) > 1})
    if twice:
      parser.error(f"--{name}s names {twice} more than once")
  if args.epochs is not None and args.epochs < 1:
    parser.error(f"--epochs must be a positive integer; got {args.epochs}")
  if any(flag.startswith(("--model_dir", "--dataset", "--model=",
                          "--num_layers", "--conditional", "--data_dir"))
         for flag in trainer_flags):
    parser.error("--model_dir, --dataset, --model, --num_layers, "
                 "--conditional and --data_dir are set per cell")
  _check_out(args.out, parser)
  if args.data_dir is None and set(args.datasets) & set(PAPER_SETS):
    parser.error(f"{sorted(set(args.datasets) & set(PAPER_SETS))} need "
                 "--data_dir: the MAF paper's data/ folder")
  args.trainer_flags = trainer_flags
  return args


def labelled(dataset: str) -> bool:
  return dataset in IMAGE_SPECS or dataset in LABELLED


def _data_flags(dataset: str, args) -> list:
  if dataset in PAPER_SETS:
    return [f"--data_dir={args.data_dir}"]
  if dataset == "fashion_mnist":
    return ["--source=idx", f"--data_dir={args.fashion_dir}"]
  return []


def _read(path: str) -> Optional[dict]:
  """A cell's JSON file, None if missing; ValueError naming it if it is
  not the trainer's (the trainer writes each whole, so it was edited)."""
  if not os.path.isfile(path):
    return None
  try:
    with open(path) as stream:
      report = json.load(stream)
  except (ValueError, UnicodeDecodeError) as error:
    raise ValueError(f"{path} is not JSON ({error}); remove it to redo "
                     "this step of the cell") from None
  if not isinstance(report, dict):
    raise ValueError(f"{path} is not a JSON object; remove it to redo this "
                     "step of the cell")
  return report


def _unused(flag: str, model: str) -> bool:
  """Whether a trainer flag is one that `model` does not use (the trainer
  refuses those): the grid's --num_layers of a made row, or a flag given
  for the whole grid, such as --hidden_units for the Gaussian."""
  return flag.lstrip("-").split("=")[0] in unused_fields(model)


def _run(module: str, flags: list) -> Optional[str]:
  """None if `python -m module flags` succeeded, else its last line."""
  path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
  done = subprocess.run([sys.executable, "-m", module, *flags],
                        capture_output=True, text=True,
                        env={**os.environ, "PYTHONPATH": path})
  if not done.returncode:
    return None
  lines = (done.stderr or done.stdout).strip().splitlines()
  command = module.rsplit(".", 1)[-1]
  errors = [line for line in lines if line.startswith(f"{command}: error:")]
  return (errors or lines or [f"exit status {done.returncode}"])[-1]


def _evaluate(run_dir: str) -> dict:
  """trainers.evaluate with --recompute_batch_norm, in this process (a
  trained run that fails here is a bug or bad data: {'error': line})."""
  from trainers import evaluate
  try:
    return evaluate.evaluate(run_dir, recompute_batch_norm=True)
  except Exception as error:
    traceback.print_exc()  # the table keeps one line; the whole on stderr
    return {"error": f"trainers.evaluate: {type(error).__name__}: "
                     + str(error).splitlines()[0]}


def run_cell(dataset: str, row: str, conditional: bool, args) -> dict:
  """Trains and evaluates one cell unless it has been; its figures, or
  {'error': line}."""
  try:
    return _run_cell(dataset, row, conditional, args)
  except (ValueError, KeyError) as error:  # a cell's edited JSON files
    return {"error": f"{type(error).__name__}: {error}"}


def _run_cell(dataset: str, row: str, conditional: bool, args) -> dict:
  model, layers = ROWS[row]
  run_dir = os.path.join(args.out, dataset,
                         row + ("_conditional" if conditional else ""))
  results_path = os.path.join(run_dir, "results.json")
  results = _read(results_path)
  if results is None:  # new, or cut off: the trainer resumes it
    flags = [f"--dataset={dataset}", f"--model={model}",
             f"--num_layers={layers}", f"--model_dir={run_dir}",
             *(["--conditional"] if conditional else []),
             *([f"--epochs={args.epochs}"]
               if args.epochs and not MODELS[model].fits_in_closed_form
               else []),
             *_data_flags(dataset, args), *args.trainer_flags]
    flags = [flag for flag in flags if not _unused(flag, model)]
    error = _run("trainers.train", flags)
    if error:
      return {"error": error}
    results = _read(results_path)
  report = _read(os.path.join(run_dir, "evaluation.json"))
  if report is None or not report["recomputed_batch_norm"]:
    report = _evaluate(run_dir)
    if "error" in report:
      return report
  return {**report, "epochs": results["epochs"],
          "best_epoch": results["best_epoch"],
          "seconds": _train_seconds(run_dir, results)}


EPOCH_LINE = re.compile(r" INFO epoch \d+/\d+: ([\d.]+) s,")


def _train_seconds(run_dir: str, results: dict) -> float:
  """The cell's training wall time over every process that worked on it
  (the epochs of train.log; results.json times only the last one, 0 s for
  a run resumed after its last epoch)."""
  path = os.path.join(run_dir, "train.log")
  if not os.path.isfile(path):
    return results["train_seconds"]
  with open(path) as stream:
    return sum(float(m.group(1)) for m in EPOCH_LINE.finditer(stream.read()))


def _name(row: str) -> str:
  """The paper's name of a grid row, e.g. 'MAF(10)' (configs.paper)."""
  model, layers = ROWS[row]
  return model_name(TrainConfig(model=model, num_layers=layers))


def _score(cell: Optional[dict]) -> str:
  if cell is None:
    return "–"
  if "error" in cell:
    return "failed"
  text = f"{cell['log_likelihood']:.2f} ± {cell['log_likelihood_2se']:.2f}"
  paper = cell.get("paper")
  if paper and "log_likelihood" in paper:
    text += (f" (paper {paper['log_likelihood']:.2f} ± "
             f"{paper['log_likelihood_2se']:.2f})")
  return text


def tables(cells: dict, args, columns: list) -> str:
  """The Markdown report: scores in the paper's layout, then the budget
  and the spread of each cell."""
  title = lambda c: c[0] + (", conditional" if c[1] else "")  # noqa: E731
  lines = ["| model | " + " | ".join(map(title, columns)) + " |",
           "|---" * (len(columns) + 1) + "|"]
  for row in args.models:
    lines.append(f"| {_name(row)} | " + " | ".join(
        _score(cells.get((row,) + column)) for column in columns) + " |")
  lines += ["", "| cell | epochs (best) | train time | median | worst | "
            "paper |", "|---|---|---|---|---|---|"]
  for row in args.models:
    for column in columns:
      cell = cells.get((row,) + column)
      if cell is None:
        continue
      name = f"{_name(row)}, {title(column)}"
      if "error" in cell:
        lines.append(f"| {name} | failed: {cell['error']} | | | | |")
        continue
      paper = cell.get("paper") or {}
      note = ("not like for like: " + "; ".join(paper["differs"])
              if "differs" in paper else "as above" if paper else "none")
      lines.append(
          f"| {name} | {cell['epochs']} ({cell['best_epoch']}) | "
          f"{cell['seconds']:.0f} s | {cell['log_likelihood_median']:.2f} "
          f"| {cell['worst_test_points'][0]['log_likelihood']:.2f} | "
          f"{note} |")
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  args = parse_args(argv)
  with exit_on_signals("benchmarks.paper", "the same command resumes the "
                       "grid (finished cells are read back, a cell cut off "
                       "resumes from its last epoch)"):
    return _grid(argv, args)


def _grid(argv: list, args) -> int:
  conditionals = {"no": [False], "yes": [True],
                  "both": [False, True]}[args.conditional]
  columns = [(dataset, conditional) for dataset in args.datasets
             for conditional in conditionals
             if labelled(dataset) or not conditional]
  cells = {}
  for column in columns:
    for row in args.models:
      cells[(row,) + column] = cell = run_cell(*column[:1], row, column[1],
                                               args)
      print(f"{column[0]}{' conditional' if column[1] else ''} {row}: "
            + _score(cell) + (f" ({cell['error']})" if "error" in cell
                              else ""), flush=True)
  text = (f"Command: python -m benchmarks.paper {' '.join(argv)}\n\n"
          + tables(cells, args, columns))
  os.makedirs(args.out, exist_ok=True)
  write_file(os.path.join(args.out, "table.md"), text)
  print("\n" + text)
  failed = [key for key, cell in cells.items() if "error" in cell]
  if failed:
    print(f"{len(failed)} cell(s) failed: {failed}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
