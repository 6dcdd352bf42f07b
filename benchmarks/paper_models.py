"""The MAF paper's model family side by side, trained by the trainer itself.

    python -m benchmarks.paper_models [--dataset=fashion_mnist]
        [--models=gaussian,made,made_mog,real_nvp,maf,maf_mog]
        [--conditional=both] [--epochs=2] [--out=saved_models/paper_models]
        [trainer flags, e.g. --source=idx --data_dir=DIR]

For every model (and, with --conditional=both, its conditional version)
this runs `python -m trainers.train --dataset=D --model=M --epochs=E` (the
dataset's preset: the same data, splits, batch size and epoch budget for
every model; the Gaussian is fitted in one pass), then `python -m
trainers.evaluate --recompute_batch_norm` (the paper's protocol: batch-norm
statistics over the whole training set, conditional models scored as
logsumexp over labels - log 10). Output: a Markdown table of test
log-likelihood (logit space for images, nats, mean ± 2 standard errors),
the median and the worst test point, and the training wall time, with the
paper's MNIST figure (Table 2) beside each row for reference. Runs already
finished under --out are scored again, not retrained.
"""

import argparse
import json
import os
import subprocess
import sys
import time

MODELS = ("gaussian", "made", "made_mog", "real_nvp", "maf", "maf_mog")
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def parse_args(argv):
  parser = argparse.ArgumentParser(prog="python -m benchmarks.paper_models",
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--dataset", default="fashion_mnist")
  parser.add_argument("--models", default=",".join(MODELS))
  parser.add_argument("--conditional", default="both",
                      choices=["no", "yes", "both"])
  parser.add_argument("--epochs", type=int, default=2)
  parser.add_argument("--out", default="saved_models/paper_models")
  args, trainer_flags = parser.parse_known_args(argv)
  args.models = args.models.split(",")
  unknown = sorted(set(args.models) - set(MODELS))
  if unknown:
    parser.error(f"unknown model(s) {unknown}; expected some of "
                 f"{list(MODELS)}")
  if args.epochs < 1:
    parser.error(f"--epochs must be a positive integer; got {args.epochs}")
  if args.dataset == "fashion_mnist" and not any(
      f.startswith("--data_dir") for f in trainer_flags):
    trainer_flags += ["--source=idx", f"--data_dir={FASHION_DIR}"]
  args.trainer_flags = trainer_flags
  return args


def _run(module: str, flags: list) -> float:
  """Seconds `python -m module flags` took; SystemExit if it failed."""
  start = time.perf_counter()
  done = subprocess.run([sys.executable, "-m", module, *flags],
                        capture_output=True, text=True)
  if done.returncode:
    sys.exit(f"{module} {' '.join(flags)} failed:\n{done.stderr[-2000:]}")
  return time.perf_counter() - start


def score(model: str, conditional: bool, args) -> dict:
  """Trains (unless finished) and evaluates one model; its report."""
  from configs.paper import TABLE_2, model_name  # pylint: disable=import-outside-toplevel
  from configs.presets import preset  # pylint: disable=import-outside-toplevel
  name = f"{model}{'_conditional' if conditional else ''}"
  run_dir = os.path.join(args.out, args.dataset, name)
  flags = [f"--dataset={args.dataset}", f"--model={model}",
           f"--model_dir={run_dir}", "--sample_every=1000",
           *(["--conditional"] if conditional else []),
           *([] if model == "gaussian" else [f"--epochs={args.epochs}"]),
           *args.trainer_flags]
  _run("trainers.train", flags)
  with open(os.path.join(run_dir, "results.json")) as stream:
    seconds = json.load(stream)["train_seconds"]
  _run("trainers.evaluate", [f"--model_dir={run_dir}",
                             "--recompute_batch_norm"])
  with open(os.path.join(run_dir, "evaluation.json")) as stream:
    report = json.load(stream)
  config = preset(args.dataset, model)
  paper = TABLE_2.get(("mnist", conditional, model_name(config)))
  return {**report, "name": model_name(config), "seconds": seconds,
          "paper": paper}


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  conditionals = {"no": [False], "yes": [True],
                  "both": [False, True]}[args.conditional]
  print("Command: python -m benchmarks.paper_models "
        + " ".join(sys.argv[1:] if argv is None else argv))
  print(f"\n| model | conditional | test log-likelihood ({args.dataset}, "
        "nats) | median | worst | train time | paper, MNIST |")
  print("|---|---|---|---|---|---|---|")
  for model in args.models:
    for conditional in conditionals:
      report = score(model, conditional, args)
      paper = report["paper"]
      print(f"| {report['name']} | {'yes' if conditional else 'no'} | "
            f"{report['log_likelihood']:.1f} ± "
            f"{report['log_likelihood_2se']:.1f} | "
            f"{report['log_likelihood_median']:.1f} | "
            f"{report['worst_test_points'][0]['log_likelihood']:.1f} | "
            f"{report['seconds']:.0f} s | "
            + (f"{paper[0]:.1f} ± {paper[1]:.1f}" if paper else "–") + " |",
            flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
