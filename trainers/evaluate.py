"""Evaluates a trained run: `python -m trainers.evaluate --model_dir=DIR`.

Scores the test set in the paper's protocol (logit-space nats and pixel
bits/dim, mean ± 2 s.e.; conditional models by logsumexp over labels),
optionally after recomputing batch-norm statistics over the whole training
set, writes pictures and a summary beside the paper's number, and with
--export writes a SavedModel version for TF Serving into the run directory.
"""

import os
import sys

from absl import app, flags
import numpy as np
import tensorflow as tf

from configs.paper import paper_result
from maf_tf.data import DataError, evaluation_dataset
from maf_tf.evaluation import log_likelihoods
from maf_tf.export import export_saved_model
from maf_tf.metrics import summarize
from trainers import common, pictures
from trainers.callbacks import model_variables, restore_model
from trainers.flags import show_in_help
from trainers.run_dir import read_config, write_file, write_json

FLAGS = flags.FLAGS
EXTREMES = 8  # test points listed (and drawn) at each end
EVALUATION_SEED_OFFSET = 4  # samples drawn here differ from training's


def _define(kind: str, name: str, default, help_text: str) -> None:
  """Defines a flag unless trainers.train (imported in the same process,
  e.g. by tests) already did."""
  if name not in FLAGS:
    getattr(flags, f"DEFINE_{kind}")(name, default, help_text)


_define("string", "model_dir", None, "Run directory to evaluate.")
_define("string", "dataset", None, "Preset name: evaluates "
        "saved_models/<dataset> when --model_dir is not given.")
_define("string", "data_dir", None, "Override the run's data_dir.")
_define("string", "source", None, "Override the run's data source.")
_define("bool", "recompute_batch_norm", False, "Recompute batch-norm "
        "statistics over the whole training set first (the paper's "
        "protocol).")
_define("integer", "num_samples", 64, "Samples in the picture.")
_define("bool", "export", False, "Also export a SavedModel version.")
_define("integer", "version", None, "SavedModel version (default: next).")
_define("bool", "verbose", False, "Also show TensorFlow's and other "
        "libraries' info and warning log lines.")


def restore(run_dir: str):
  """(config, data, model with the best weights) of a run directory."""
  config = read_config(run_dir)
  changes = {k: getattr(FLAGS, k) for k in ("data_dir", "source")
             if getattr(FLAGS, k) is not None}
  config = config.replace(**changes)
  data = common.load_data(config)
  model = common.build_model(config, data)
  best = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints",
                                                 "best"))
  if best is None:
    raise ValueError(f"{run_dir} has no checkpoints/best to evaluate")
  restore_model(model_variables(model), best)
  return config, data, model


def evaluate(run_dir: str) -> dict:
  config, data, model = restore(run_dir)
  num_classes = data.num_classes if config.conditional else 0
  dataset = lambda arrays, seed: evaluation_dataset(  # noqa: E731
      *arrays, batch_size=config.eval_batch_size, seed=seed,
      num_classes=num_classes)
  if FLAGS.recompute_batch_norm and model.batch_norms:
    model.recompute_batch_norm(dataset(data.train, config.seed + 3))
  scores = log_likelihoods(model, dataset(data.test, config.seed + 2),
                           num_classes)
  report = {"run_dir": run_dir, "test_examples": len(data.test[0]),
            "recomputed_batch_norm": bool(FLAGS.recompute_batch_norm)}
  report.update(summarize(scores))
  report.update(extremes(scores))
  report["paper"] = paper_result(config)
  _pictures(model, data, config, run_dir)
  if data.image_shape is not None:
    _extremes_picture(report, data, run_dir)
  if FLAGS.export:
    report["saved_model"] = export_saved_model(
        model, run_dir, FLAGS.version, data.image_shape, num_classes)
  write_json(os.path.join(run_dir, "evaluation.json"), report)
  text = _describe(report)
  write_file(os.path.join(run_dir, "evaluation.txt"), text + "\n")
  print(text)
  return report


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
  """extremes.png: the worst test images (top row), the best (bottom)."""
  images = data.test[0]
  rows = [images[[p["index"] for p in report[key]]]
          for key in ("worst_test_points", "best_test_points")]
  grid = pictures.image_grid(pictures.enlarge(np.concatenate(rows)),
                             columns=len(rows[0]))
  grid = pictures.titled(grid, "test images of lowest (top) and highest "
                         "(bottom) log-likelihood")
  pictures.save_png(grid, os.path.join(run_dir, "extremes.png"))


def _pictures(model, data, config, run_dir) -> None:
  log = os.path.join(run_dir, "training_log.csv")
  if os.path.isfile(log):
    pictures.training_curve(log, os.path.join(run_dir, "training_curve.png"),
                            f"{config.dataset}: NLL per epoch (logit space "
                            "for images)")
  # The trainer's pictures use config.seed: these get their own draws.
  seed = config.seed + EVALUATION_SEED_OFFSET
  title = f"{config.dataset}: samples of the evaluated model"
  if data.image_shape is None:
    image = common.toy_picture(model, data, config, seed, title)
    pictures.save_png(image, os.path.join(run_dir, "evaluation_density.png"))
    return
  # None: trainers.train's flag of the same name is defined (its default
  # means "the run's own").
  count = FLAGS.num_samples or config.num_samples
  image = common.sample_picture(model, data, count, seed, title)
  pictures.save_png(image, os.path.join(run_dir, "evaluation_samples.png"))
  count = min(len(data.test[0]), 2000)
  x = next(iter(evaluation_dataset(data.test[0][:count], data.test[1][:count],
                                   batch_size=count, seed=config.seed + 2,
                                   num_classes=model.context_size)))
  z, _ = model.to_base(*tf.nest.flatten(x))
  pictures.latent_figure(z.numpy(), os.path.join(run_dir, "latents.png"),
                         seed=config.seed)


def _describe(report: dict) -> str:
  lines = [f"{report['run_dir']}: {report['test_examples']} test examples"
           + (", batch norm recomputed on the training set"
              if report["recomputed_batch_norm"] else "")]
  nats = ("nats per image, in logit space as in the paper's Table 2"
          if "bits_per_dim" in report else "nats per point")
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
  if paper:
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
    common.quiet_logs(FLAGS.verbose)
    evaluate(run_dir)
  except (ValueError, DataError, OSError) as error:
    sys.exit(f"evaluate: error: {error}")
  except tf.errors.OpError as error:  # e.g. an export on a full disk
    sys.exit(f"evaluate: error: {common.op_error_line(error)}")


def run():
  """The `maf-evaluate` console command (`python -m trainers.evaluate`)."""
  show_in_help(__name__)
  app.run(main)


if __name__ == "__main__":
  run()
