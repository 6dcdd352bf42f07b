"""Evaluates a trained run: `python -m trainers.evaluate --model_dir=DIR`.

Scores the test set in the paper's protocol (logit-space nats and pixel
bits/dim, mean ± 2 s.e.; conditional models by logsumexp over labels),
optionally after recomputing batch-norm statistics over the whole training
set, writes pictures and a summary beside the paper's number, and with
--export writes a SavedModel version for TF Serving into the run directory.
A --data run conditioned on context columns (a posterior of its columns
given the context) also gets calibration.png: SBC rank histograms and the
expected coverage on held-out rows (maf_tf.diagnostics).
"""

import os
import sys
from typing import Optional

from absl import flags, logging
import numpy as np
import tensorflow as tf

from configs.build import build_model, load_data
from configs.checks import check_picture_size
from configs.paper import TABLE_2_DATASETS, paper_result
from configs.presets import PRESETS
from maf_tf.data import DataError, evaluation_dataset
from maf_tf import diagnostics, evaluation
from maf_tf.export import export_saved_model
from maf_tf.metrics import summarize
from trainers import pictures
from trainers.checkpoints import restore_best
from trainers.flags import define_evaluate_flags, run_command
from trainers.flags import show_in_help
from trainers.logs import op_error_line, quiet_logs
from trainers.results import (check_finite_scores, run_assets,
                              test_log_likelihoods)
from trainers.run_dir import RunError, read_config, remove_leftovers
from trainers.run_dir import write_file, write_json
from trainers.signals import exit_on_signals
from trainers.tables import floored_discrete

FLAGS = flags.FLAGS
EXTREMES = 8  # test points listed (and drawn) at each end
# The calibration of a run conditioned on context columns (calibration.png)
CALIBRATION_ROWS = 500       # test rows
CALIBRATION_SAMPLES = 99     # samples per row: ranks 0..99, 10 bins of 10
COVERAGE_LEVELS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def restore(run_dir: str, data_dir: Optional[str] = None,
            source: Optional[str] = None):
  """(config, data, model with the best weights) of a run directory; the
  data from `data_dir` and `source` when given, else the run's own."""
  config = read_config(run_dir)
  changes = {k: v for k, v in (("data_dir", data_dir), ("source", source))
             if v is not None}
  config = config.replace(**changes)
  data = load_data(config)
  model = build_model(config, data.description)
  restore_best(run_dir, model)
  return config, data, model


def evaluate(run_dir: str, recompute_batch_norm: bool = False,
             num_samples: Optional[int] = None, export: bool = False,
             version: Optional[int] = None, data_dir: Optional[str] = None,
             source: Optional[str] = None) -> dict:
  """Scores, pictures and report of a run (see the module docstring);
  `recompute_batch_norm`: batch-norm statistics over the training set first;
  `num_samples`: in the sample picture (default the run's); `export`: a
  SavedModel `version` (default the next) too. Returns the report written
  to evaluation.json."""
  for name in ("evaluation.json", "evaluation.txt"):
    if os.path.isdir(os.path.join(run_dir, name)):
      raise ValueError(f"{os.path.join(run_dir, name)} is a directory; "
                       "evaluate writes a file there: move it aside")
  config, data, model = restore(run_dir, data_dir, source)
  num_samples = num_samples or config.num_samples
  check_picture_size(num_samples, data.description.event_size,
                     config.dataset)
  remove_leftovers(run_dir)  # a killed export's staging folder
  if recompute_batch_norm and model.batch_norms:
    evaluation.recompute_batch_norm(model, evaluation_dataset(
        *data.train, batch_size=config.eval_batch_size,
        seed=config.stream_seed("batch_norm"),
        num_classes=model.context_size,
      discrete=data.description.discrete))
  scores = test_log_likelihoods(model, data, config)
  report = {"run_dir": run_dir, "dataset": config.dataset,
            "test_examples": len(data.test[0]),
            "recomputed_batch_norm": bool(recompute_batch_norm)}
  report.update(summarize(scores))
  report.update(extremes(scores))
  report["paper"] = paper_result(config)
  if data.description.context_columns:
    report.update(_calibration(model, data, config, run_dir))
  _pictures(model, data, config, run_dir, num_samples)
  if model.image_shape is not None:
    _extremes_picture(report, data, run_dir)
  if export:
    check_finite_scores(scores)  # a model that scores NaN is not served
    report["saved_model"] = export_saved_model(
        model, run_dir, version, assets=run_assets(run_dir))
  write_json(os.path.join(run_dir, "evaluation.json"), report)
  text = _describe(report)
  write_file(os.path.join(run_dir, "evaluation.txt"), text + "\n")
  print(text)
  return report


def _calibration(model, data, config, run_dir: str) -> dict:
  """calibration.png and its figures, for a run conditioned on context
  columns (a posterior of its columns given the context): SBC ranks of
  CALIBRATION_ROWS test rows among CALIBRATION_SAMPLES samples each, and
  the expected coverage at COVERAGE_LEVELS."""
  x, context = data.test
  count = min(len(x), CALIBRATION_ROWS)
  x = next(iter(evaluation_dataset(  # discrete columns: one fixed draw
      x[:count], batch_size=count, seed=config.stream_seed("test"),
      discrete=data.description.discrete)))
  x = np.asarray(tf.nest.flatten(x)[0])
  context = context[:count]
  ranks, coverage = diagnostics.calibration(
      model, x, context, COVERAGE_LEVELS, CALIBRATION_SAMPLES,
      config.stream_seed("evaluation_samples"))
  pictures.calibration_figure(
      ranks, CALIBRATION_SAMPLES, COVERAGE_LEVELS, coverage,
      data.description.columns, os.path.join(run_dir, "calibration.png"),
      f"{data.description.name}: calibration on {count} test rows")
  return {"sbc_rank_p_values": dict(zip(
      data.description.columns, diagnostics.rank_uniformity(
          ranks, CALIBRATION_SAMPLES).astype(float).tolist())),
          "expected_coverage": dict(zip(
              [f"{level:g}" for level in COVERAGE_LEVELS],
              coverage.astype(float).tolist()))}


def extremes(scores: dict, count: int = EXTREMES) -> dict:
  """The `count` test points of lowest and of highest log-likelihood:
  {'worst_test_points': [{'index', 'log_likelihood'[, 'bits_per_dim']}],
  'best_test_points': [...]}, worst first / best first. A NaN score
  counts as the worst."""
  log_likelihood = scores["log_likelihood"]
  order = np.argsort(np.where(np.isnan(log_likelihood), -np.inf,
                              log_likelihood), kind="stable")
  count = min(count, len(order))

  def rows(indices):
    return [{"index": int(i), "log_likelihood": float(log_likelihood[i]),
             **({"bits_per_dim": float(scores["bits_per_dim"][i])}
                if "bits_per_dim" in scores else {})} for i in indices]

  return {"worst_test_points": rows(order[:count]),
          "best_test_points": rows(order[::-1][:count])}


def _extremes_picture(report: dict, data, run_dir: str) -> None:
  """extremes.png: the worst test images (top row), the best (bottom),
  each captioned with its test index and bits/dim."""
  points = report["worst_test_points"] + report["best_test_points"]
  images = data.test[0][[point["index"] for point in points]]
  grid = pictures.labelled_grid(
      pictures.enlarge(images), len(report["worst_test_points"]),
      captions=[f"#{point['index']}\n{point['bits_per_dim']:.2f}"
                for point in points])
  grid = pictures.titled(grid, "test images of lowest (top) and highest "
                         "(bottom) log-likelihood: index, bits/dim")
  pictures.save_png(grid, os.path.join(run_dir, "extremes.png"))


def _pictures(model, data, config, run_dir, count: int) -> None:
  log = os.path.join(run_dir, "training_log.csv")
  if os.path.isfile(log):
    try:
      pictures.training_curve(log, os.path.join(run_dir,
                                                "training_curve.png"),
                              f"{config.dataset}: NLL per epoch (logit "
                              "space for images)")
    except ValueError as error:  # a damaged log costs its picture only
      logging.warning("training_curve.png not drawn: %s", error)
  # The trainer's pictures use the "model" stream: these get their own.
  image = pictures.samples_picture(
      model, count, config.stream_seed("evaluation_samples"),
      f"{config.dataset}: samples of the evaluated model", *data.train)
  if data.description.kind == "table":
    x, context = data.test
    count = min(len(x), 2000)
    if context is not None:  # each test row's own context or label
      context = (context[:count].astype(np.float32)
                 if model.context_type == "features" else
                 tf.one_hot(context[:count], model.context_size))
    samples = model.sample(count, context,
                           seed=config.stream_seed("evaluation_samples"))
    pictures.corner_plot(x[:count],
                         floored_discrete(samples, data.description),
                         data.description.columns,
                         os.path.join(run_dir, "corner.png"),
                         f"{data.description.name}: test rows against "
                         "samples")
  if model.image_shape is None and model.event_size == 2:
    pictures.save_png(image, os.path.join(run_dir, "evaluation_density.png"))
    return
  pictures.save_png(image, os.path.join(run_dir, "evaluation_samples.png"))
  count = min(len(data.test[0]), 2000)
  x, labels = data.test
  x = next(iter(evaluation_dataset(
      x[:count], None if labels is None else labels[:count],
      batch_size=count, seed=config.stream_seed("test"),
      num_classes=model.context_size,
      discrete=data.description.discrete)))
  z, _ = model.to_base(*tf.nest.flatten(x))
  pictures.latent_figure(z.numpy(), os.path.join(run_dir, "latents.png"),
                         seed=config.stream_seed("model"))


def _describe(report: dict) -> str:
  lines = [f"{report['run_dir']}: {report['test_examples']} test examples"
           + (", batch norm recomputed on the training set"
              if report["recomputed_batch_norm"] else "")]
  nats = "nats per point"
  if "bits_per_dim" in report:
    nats = "nats per image, in logit space" + (
        " as in the paper's Table 2" if report.get("dataset") in
        TABLE_2_DATASETS else "")
  units = {"log_likelihood": nats, "conditional_log_likelihood": nats,
           "bits_per_dim": "bits per pixel value, in pixel space",
           "conditional_bits_per_dim": "bits per pixel value, in pixel space"}
  for name, unit in units.items():
    if name in report:
      lines.append(f"{name.replace('_', ' ')}: {report[name]:.4f} ± "
                   f"{report[name + '_2se']:.4f} {unit} (median "
                   f"{report[name + '_median']:.4f}; ± is 2 standard "
                   "errors)")
  for key, title in (("worst_test_points", "lowest log-likelihood"),
                     ("best_test_points", "highest log-likelihood")):
    lines.append(f"test points of {title} (index: nats"
                 + (", bits/dim" if "bits_per_dim" in report else "") + "): "
                 + "; ".join(
                     f"{p['index']}: {p['log_likelihood']:.4g}"
                     + (f", {p['bits_per_dim']:.4g}" if "bits_per_dim" in p
                        else "") for p in report[key]))
  paper = report["paper"]
  if paper and "differs" in paper:
    lines.append(f"paper, {paper['model']}: no figure shown, as this run "
                 "is not like for like: " + "; ".join(paper["differs"]))
  elif paper:
    lines.append(f"paper, {paper['model']}: log likelihood "
                 f"{paper['log_likelihood']} ± {paper['log_likelihood_2se']}"
                 + (f", bits/dim {paper['bits_per_dim']}"
                    if paper["bits_per_dim"] else ""))
  if "saved_model" in report:
    lines.append(f"SavedModel: {report['saved_model']}")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"evaluate: error: unexpected arguments {argv[1:]}")
  try:
    if not FLAGS.model_dir and FLAGS.dataset and FLAGS.dataset not in PRESETS:
      # a name, never a path: saved_models/<name> is the run evaluated
      raise ValueError(f"unknown dataset {FLAGS.dataset!r}; expected one "
                       f"of {sorted(PRESETS)}")
    run_dir = FLAGS.model_dir or (FLAGS.dataset and
                                  os.path.join("saved_models", FLAGS.dataset))
    if not run_dir:
      raise ValueError("give --model_dir (a run directory) or --dataset")
    if FLAGS.num_samples is not None and FLAGS.num_samples < 1:
      raise ValueError("num_samples must be a positive integer; got "
                       f"{FLAGS.num_samples}")
    if FLAGS.version is not None and FLAGS.version < 1:
      raise ValueError("version must be a positive integer; got "
                       f"{FLAGS.version}")
    if FLAGS.export and FLAGS.version is not None and os.path.exists(
        os.path.join(run_dir, str(FLAGS.version))):
      raise ValueError(f"SavedModel version {run_dir}/{FLAGS.version} "
                       "exists; choose another version")
    quiet_logs(FLAGS.verbose)
    with exit_on_signals("evaluate", "the files written so far are whole; "
                         "the same command evaluates again"):
      evaluate(run_dir, FLAGS.recompute_batch_norm, FLAGS.num_samples,
               FLAGS.export, FLAGS.version, FLAGS.data_dir, FLAGS.source)
  except (ValueError, DataError, OSError, RunError) as error:
    sys.exit(f"evaluate: error: {error}")
  except tf.errors.OpError as error:  # e.g. an export on a full disk
    sys.exit(f"evaluate: error: {op_error_line(error)}")


def run():
  """The `maf-evaluate` console command (`python -m trainers.evaluate`)."""
  define_evaluate_flags()
  show_in_help("trainers.flags")
  run_command(main, "evaluate")


if __name__ == "__main__":
  run()
