"""What a finished run leaves: test scores, results.txt and results.json
(written last: it marks the run finished), its SavedModel, and a
training log that matches its checkpoints."""

import json
import os
from typing import Optional

import numpy as np

from absl import logging

from configs.base import TrainConfig
from configs.paper import TABLE_2_DATASETS
from maf_tf.data import Splits, evaluation_dataset
from maf_tf.evaluation import log_likelihoods
from maf_tf.export import export_saved_model, next_version
from trainers.logs import plural
from trainers.run_dir import RunError, write_file, write_json

__all__ = ["run_assets", "test_log_likelihoods", "finished_results",
           "check_trained", "check_finite_scores", "write_results",
           "name_export", "export_missing", "export_run",
           "trim_training_log"]


def test_log_likelihoods(model, data: Splits, config: TrainConfig) -> dict:
  """Per-example test-set scores in the paper's protocol (see
  maf_tf.evaluation), each test image with its own fixed noise."""
  dataset = evaluation_dataset(
      *data.test, batch_size=config.eval_batch_size,
      seed=config.stream_seed("test"),
      num_classes=model.context_size,
      discrete=data.description.discrete)
  return log_likelihoods(model, dataset)


def finished_results(run_dir: str) -> Optional[dict]:
  """results.json of a finished run, or None; ValueError (one line, naming
  the file) if it does not read as a JSON object."""
  path = os.path.join(run_dir, "results.json")
  if not os.path.isfile(path):
    return None
  try:
    with open(path, encoding="utf-8") as stream:
      results = json.load(stream)
  except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
    results = error
  if not isinstance(results, dict):
    raise ValueError(f"{path} is not a run's results (expected the JSON "
                     f"object a finished run writes; {str(results)[:80]}); "
                     "move it aside to finish the run again")
  return results


def check_trained(trained_steps: int, skipped_steps: int,
                  best_epoch: int) -> None:
  """A run that learned nothing is not finished: RunError (one line) if
  every training step was skipped or no epoch had a finite validation
  score."""
  if trained_steps and skipped_steps >= trained_steps:
    raise RunError(f"every one of the {trained_steps} training steps was "
                   "skipped (non-finite loss or gradients), so nothing was "
                   "trained; check the data for NaN or extreme values, or "
                   "lower --learning_rate. Nothing was exported")
  if trained_steps and not best_epoch:
    raise RunError("no epoch had a finite validation log-likelihood; "
                   "check the validation rows for values the training rows "
                   "do not cover. Nothing was exported")


def check_finite_scores(scores: dict) -> None:
  """RunError (one line) if a test score is NaN or ±inf: such a model is
  neither exported nor its run marked finished."""
  for name, values in scores.items():
    bad = ~np.isfinite(values)
    if bad.any():
      raise RunError(
          f"{int(bad.sum())} of {len(values)} test examples have a "
          f"non-finite {name} (first: test row {int(np.argmax(bad))}, "
          f"{values[np.argmax(bad)]}), so the test mean is not a number; "
          "the model is not exported and the run is not marked finished")


def write_results(run_dir: str, results: dict) -> None:
  """results.txt, then results.json: the file that marks a finished run
  comes last."""
  lines = [f"{results['preset']}: {plural(results['epochs'], 'epoch')} "
           f"(best {results['best_epoch']}), {results['train_seconds']} s"]
  images = "test_bits_per_dim" in results
  unit = "point"
  if images:
    unit = "image (logit space" + (
        ", as in the paper's Table 2)"
        if results.get("dataset") in TABLE_2_DATASETS else ")")
  lines.append(f"test log-likelihood: {results['test_log_likelihood']:.2f} "
               f"± {results['test_log_likelihood_2se']:.2f} nats per {unit}"
               + f", median {results['test_log_likelihood_median']:.2f}; "
               "± is 2 standard errors")
  if images:
    lines.append(f"test bits/dim: {results['test_bits_per_dim']:.4f} ± "
                 f"{results['test_bits_per_dim_2se']:.4f} (pixel space)")
  if results.get("train_samples_per_second"):
    lines.append(f"training: {results['train_samples_per_second']:.0f} "
                 f"examples/s on {plural(results['replicas'], 'replica')}")
  write_file(os.path.join(run_dir, "results.txt"), "\n".join(lines) + "\n")
  write_json(os.path.join(run_dir, "results.json"), results)
  logging.info(" | ".join(lines))


def name_export(run_dir: str, results: dict) -> None:
  """Names the SavedModel version the run exports to, before it is
  written: a rerun of a run killed meanwhile finishes that export. The
  version (relative to the run) is what counts: a run moved or addressed
  by another path finds its export there (saved_model, the path, is for
  people)."""
  version = next_version(run_dir)
  results["saved_model_version"] = version
  results["saved_model"] = os.path.join(run_dir, str(version))


def _export_version(results: dict) -> Optional[int]:
  if "saved_model_version" in results:
    return int(results["saved_model_version"])
  path = results.get("saved_model")  # results.json of earlier runs
  return int(os.path.basename(os.path.normpath(path))) if path else None


def export_missing(run_dir: str, results: dict) -> bool:
  """Whether the export results.json names is not (completely) in
  run_dir."""
  version = _export_version(results)
  return version is not None and not os.path.isfile(
      os.path.join(run_dir, str(version), "saved_model.pb"))


def export_run(model, run_dir: str, results: dict) -> None:
  """Exports the model to the version results.json names, unless it is
  there already; if another export took that version meanwhile, to the
  next free one, and results.json says so."""
  if not export_missing(run_dir, results):
    return
  assets = run_assets(run_dir)
  try:
    export_saved_model(model, run_dir, _export_version(results),
                       assets=assets)
  except ValueError:  # the version exists: not ours
    results["saved_model"] = export_saved_model(model, run_dir,
                                                assets=assets)
    results["saved_model_version"] = int(os.path.basename(
        results["saved_model"]))
    write_results(run_dir, results)


def run_assets(run_dir: str) -> list:
  """The run's files a SavedModel carries in assets/: a table run's
  columns.json (its column order, labels and bounds)."""
  path = os.path.join(run_dir, "columns.json")
  return [path] if os.path.isfile(path) else []


def trim_training_log(path: str, epochs: int) -> None:
  """Keeps the rows of the first `epochs` epochs (counted from 1): a run
  resumed from an older checkpoint redoes the later ones and logs them
  again."""
  if not os.path.isfile(path):
    return
  with open(path, newline="") as stream:
    lines = stream.read().splitlines(keepends=True)
  kept = lines[:1] + [line for line in lines[1:]
                      if line.split(",", 1)[0].isdigit()
                      and int(line.split(",", 1)[0]) <= epochs]
  if kept != lines:
    write_file(path, "".join(kept))
