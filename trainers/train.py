"""Trains a MAF: `python -m trainers.train --dataset=mnist`.

train(): data -> run directory (resumed or new, locked) -> a TrainingRun,
whose methods are the steps: model compiled inside strategy.scope() ->
Model.fit with callbacks (checkpoints, early stopping, non-finite guard,
TensorBoard, CSV log) -> best weights -> test scores -> results.json ->
SavedModel. main() turns the flags into a config (preset + overrides,
checked), a strategy and RunOptions. Run `--helpfull` for every flag
and its preset values.
"""

import dataclasses
import math
import os
import sys
import time
from typing import Optional

from absl import flags, logging
import keras
import tensorflow as tf

from configs.base import TrainConfig
from configs.build import build_model, load_data
from configs.checks import check_config, check_cost
from configs.presets import PRESETS, preset, table_preset
from maf_tf.data import DataError, Splits, evaluation_dataset
from maf_tf.data import steps_per_epoch as count_steps
from maf_tf.data import training_dataset
from maf_tf.checks import check_positive_int
from maf_tf.metrics import summarize
from maf_tf.optimizers import FusedAdam
from trainers import pictures, results as run_results
from trainers.callbacks import EpochCSVLogger, NonFiniteGuard, ProgressLog
from trainers.checkpoints import ResumableEarlyStopping, RunCheckpoints
from trainers.flags import config_from_flags, define_train_flags
from trainers.flags import given_config_flags
from trainers.flags import run_command, show_in_help
from trainers.logs import log_to_file, op_error_line, plural, quiet_logs
from trainers.run_dir import RunError, prepare_run_dir
from trainers.signals import exit_on_signals
from trainers.strategy import is_chief, make_strategy, split_cpu
from trainers.summaries import TensorBoardSummaries
from trainers.tables import write_columns

FLAGS = flags.FLAGS
PROBE_SIZE = 500  # validation examples behind TensorBoard's histograms


@dataclasses.dataclass(frozen=True)
class RunOptions:
  """How a run goes, not what it trains (the flags of the same names).
  A bad value is refused here, in one line, from Python as from flags."""
  fresh: bool = False            # start again; the old run is kept aside
  summary_steps: int = 100       # steps between within-epoch scalars
  progress_seconds: float = 60.0  # between progress lines (0: none)

  def __post_init__(self):
    check_positive_int("summary_steps", self.summary_steps)
    if isinstance(self.progress_seconds, bool) or not isinstance(
        self.progress_seconds, (int, float)) or not \
        0 <= self.progress_seconds < math.inf:
      raise ValueError("progress_seconds must be a finite number >= 0; got "
                       f"{self.progress_seconds!r}")


def make_optimizer(config: TrainConfig, total_steps: int):
  rate = config.learning_rate
  if config.cosine_decay:
    rate = keras.optimizers.schedules.CosineDecay(rate, total_steps)
  return FusedAdam(rate)


def steps_per_execution(requested: int, steps: int, replicas: int = 1) -> int:
  """The largest divisor of an epoch's `steps` that is <= `requested`;
  1 with more than one replica.

  Keras runs whole executions of N steps, and the training stream is
  endless, so an N that does not divide the epoch would shift every later
  epoch's batches (and break resuming). With several replicas, Keras 3.15's
  loop over N > 1 steps fails under MirroredStrategy ("You must feed a
  value for placeholder tensor ...", even for a keras.Sequential), so
  there it is 1.
  """
  if replicas > 1:
    return 1
  return max(n for n in range(1, min(requested, steps) + 1) if steps % n == 0)


def train(name: str, config: TrainConfig, model_dir: str,
          strategy: tf.distribute.Strategy,
          options: RunOptions = RunOptions(),
          data: Optional[Splits] = None) -> dict:
  """One run; returns the results written to model_dir/results.json.
  `data`: the config's data if loaded already (else loaded here)."""
  data = data or load_data(config)
  check_cost(config, data.description.event_size,  # (labels if needed)
             data.description.context_size(config.conditional),
             data.description.name)
  if config.batch_size > len(data.train[0]):
    raise ValueError(f"batch_size must be at most the {len(data.train[0])} "
                     f"training examples; got {config.batch_size}")
  chief = is_chief(strategy)
  # Every worker saves (checkpointing is collective); only the chief's
  # directory is the run, the others write beside it.
  run_dir = model_dir if chief else (
      f"{model_dir}.worker-{strategy.cluster_resolver.task_id}")
  resumed, lock = prepare_run_dir(run_dir, config, options.fresh)
  with lock, log_to_file(run_dir):  # the run is ours until it returns
    if data.description.kind == "table":
      write_columns(run_dir, data.description, config)
    logging.info("%s run %s in %s (%s)", "resuming" if resumed
                 else "starting", name, run_dir,
                 plural(strategy.num_replicas_in_sync, "replica"))
    return TrainingRun(name, config, data, run_dir, strategy,
                       options).run()


class TrainingRun:
  """One run in a prepared, locked run directory. Building it compiles
  the model and restores the latest checkpoint; run() does the rest, one
  method per step: fit, then the best weights' test scores, pictures,
  results.json and SavedModel."""

  def __init__(self, name: str, config: TrainConfig, data: Splits,
               run_dir: str, strategy: tf.distribute.Strategy,
               options: RunOptions):
    self.name, self.config, self.data = name, config, data
    self.run_dir, self.strategy, self.options = run_dir, strategy, options
    self.chief = is_chief(strategy)
    keras.utils.set_random_seed(config.stream_seed("model"))
    self.flips = config.flips and data.description.kind == "image"
    self.steps = count_steps(len(data.train[0]), config.batch_size,
                             self.flips)
    self.model, self.optimizer = _compiled_model(config, data, strategy,
                                                 self.steps)
    self.guard = NonFiniteGuard(config.max_bad_steps, self.steps)
    self.checkpoints = RunCheckpoints(
        run_dir, self.model, self.optimizer,
        ResumableEarlyStopping(config.patience), self.guard)
    self.initial_epoch = self.checkpoints.restore_latest()

  def run(self) -> dict:
    done = (self.initial_epoch >= self.config.epochs
            or self.checkpoints.stopped_early)
    finished = run_results.finished_results(self.run_dir)
    if done and finished is not None:  # before anything else is set up
      return self.finished_again(finished)
    validation = _distributed(evaluation_dataset(
        *self.data.validation, batch_size=self.config.eval_batch_size,
        seed=self.config.stream_seed("validation"),
        num_classes=self.model.context_size,
        discrete=self.data.description.discrete))
    summaries = self.summaries(validation)
    start = time.time()
    if not done:
      self.fit(validation, summaries)
    seconds = time.time() - start
    if self.guard.failed:
      raise self.guard_error()
    return self.finish(summaries, seconds)

  def summaries(self, validation: tf.data.Dataset) -> TensorBoardSummaries:
    """TensorBoard's callback: scalars, histograms of a validation probe,
    and sample pictures."""
    config = self.config
    probe = tf.nest.map_structure(lambda t: t[:PROBE_SIZE],
                                  next(iter(validation)))
    draw = lambda title: pictures.samples_picture(  # noqa: E731
        self.model, config.num_samples, config.stream_seed("model"), title,
        *self.data.train)
    summaries = TensorBoardSummaries(
        self.run_dir, draw, config.sample_every, self.guard, config.dataset,
        probe, self.optimizer, self.options.summary_steps)
    # fit() sets it too; a run that resumes finished (stopped early, killed
    # before its results) writes the final histograms without a fit
    summaries.set_model(self.model)
    return summaries

  def fit(self, validation: tf.data.Dataset,
          summaries: TensorBoardSummaries) -> None:
    config, checkpoints = self.config, self.checkpoints
    log_path = os.path.join(self.run_dir, "training_log.csv")
    run_results.trim_training_log(log_path, self.initial_epoch)
    train_data = _distributed(training_dataset(
        *self.data.train, batch_size=config.batch_size,
        seed=config.stream_seed("model"),
        num_classes=self.model.context_size, flips=self.flips,
        discrete=self.data.description.discrete,
        start_epoch=self.initial_epoch))
    terminal = sys.stdout.isatty()  # a progress bar; else log lines
    progress = ProgressLog(config.epochs, self.steps, config.batch_size,
                           0 if terminal else self.options.progress_seconds)
    self.model.fit(
        train_data, validation_data=validation, epochs=config.epochs,
        initial_epoch=self.initial_epoch, steps_per_epoch=self.steps,
        verbose=1 if terminal else 0,
        # The guard first (fit hides its bad_streak from the rest); the
        # log row before the checkpoint: a kill between the two redoes
        # the epoch, and trim_training_log drops its row.
        callbacks=[checkpoints.guard, checkpoints.early_stopping, progress,
                   EpochCSVLogger(log_path, append=True),
                   checkpoints, summaries])

  def finish(self, summaries: TensorBoardSummaries, seconds: float) -> dict:
    """The best weights' test scores, samples, results.json and export."""
    self.checkpoints.restore_best()
    scores = run_results.test_log_likelihoods(self.model, self.data,
                                              self.config)
    figures = self.figures(seconds)
    run_results.check_trained(figures["epochs"] * self.steps,
                              figures["skipped_steps"], figures["best_epoch"])
    run_results.check_finite_scores(scores)
    results = summarize(scores, "test_")
    results.update(figures)
    summaries.write_samples(
        f"{self.config.dataset}: samples of the best model (epoch "
        f"{results['best_epoch']})")
    if self.chief:
      run_results.name_export(self.run_dir, results)
    run_results.write_results(self.run_dir, results)
    if self.chief:
      run_results.export_run(self.model, self.run_dir, results)
    return results

  def finished_again(self, results: dict) -> dict:
    """A rerun of a finished run: nothing to do but an export a kill cut
    off."""
    logging.info("%s has finished already: nothing to do (results in %s)",
                 self.run_dir, os.path.join(self.run_dir, "results.json"))
    if self.chief and run_results.export_missing(self.run_dir, results):
      self.checkpoints.restore_best()
      run_results.export_run(self.model, self.run_dir, results)
    return results

  def guard_error(self) -> RunError:
    last = self.checkpoints.latest.latest_checkpoint
    return RunError(
        f"stopped at step {self.guard.failed_step}: {self.guard.consecutive}"
        " consecutive steps with non-finite loss or gradients; "
        + (f"the last good checkpoint is {last}" if last else
           "no checkpoint was written (it failed in the first epoch)"))

  def figures(self, seconds: float) -> dict:
    """What results.json says about the run itself."""
    checkpoints, config = self.checkpoints, self.config
    epochs = int(checkpoints.epoch.numpy())
    epochs_run = epochs - self.initial_epoch
    return dict(
        dataset=config.dataset, preset=self.name, epochs=epochs,
        best_epoch=int(checkpoints.best_epoch.numpy()),
        stopped_early=checkpoints.stopped_early,
        skipped_steps=int(checkpoints.skipped.numpy()),
        train_seconds=round(seconds, 1),
        train_samples_per_second=round(
            epochs_run * self.steps * config.batch_size / seconds, 1)
        if epochs_run and seconds > 0 else None,
        replicas=self.strategy.num_replicas_in_sync)


def _compiled_model(config: TrainConfig, data: Splits,
                    strategy: tf.distribute.Strategy, steps: int):
  """(model, optimizer) built and compiled inside the strategy's scope."""
  per_call = steps_per_execution(config.steps_per_execution, steps,
                                 strategy.num_replicas_in_sync)
  if per_call != config.steps_per_execution:
    logging.info("steps_per_execution %d: using %d (%d steps per epoch, "
                 "%s)", config.steps_per_execution, per_call, steps,
                 plural(strategy.num_replicas_in_sync, "replica"))
  with strategy.scope():
    model = build_model(config, data.description)
    optimizer = make_optimizer(config, steps * config.epochs)
    model.compile(optimizer, clip_norm=config.clip_norm or None,
                  weight_decay=config.weight_decay,
                  steps_per_execution=per_call)
    optimizer.build(model.trainable_variables)
  return model, optimizer


def _distributed(dataset: tf.data.Dataset) -> tf.data.Dataset:
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  return dataset.with_options(options)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"train: error: unexpected arguments {argv[1:]}")
  quiet_logs(FLAGS.verbose)
  try:
    names = _presets(FLAGS.dataset, FLAGS.data, FLAGS.auto)
    runs = []
    for name in names:
      given = given_config_flags()
      config = config_from_flags(preset(name, FLAGS.model or "maf"))
      check_config(config, given=given)
      data = None
      if config.data is not None:
        data = load_data(config)
        rows = len(data.train[0])
        if FLAGS.model is None:
          # the table's size picks its preset (configs.presets.table_preset)
          name, model = table_preset(rows, bool(config.context_columns))
          config = config_from_flags(preset(name, model))
          check_config(config, given=given)
        if "batch_size" not in given:
          # a table of fewer training rows than the preset's batch
          config = config.replace(batch_size=min(config.batch_size, rows))
      model_dir = FLAGS.model_dir or os.path.join("saved_models", (
          table_name(config.data) if config.data else name))
      if FLAGS.auto and FLAGS.model_dir:
        model_dir = os.path.join(FLAGS.model_dir, name)
      runs.append((name, config, model_dir, data))
    options = RunOptions(FLAGS.fresh, FLAGS.summary_steps,
                         FLAGS.progress_seconds)
    if not 1 <= FLAGS.num_cpu_devices <= MAX_CPU_DEVICES:
      # (1000 logical devices hung in an AddN shape error, never exiting)
      raise ValueError(f"num_cpu_devices must be an integer in 1.."
                       f"{MAX_CPU_DEVICES}; got {FLAGS.num_cpu_devices}")
    # Collective ops (multi-worker) must be set up before TF runs anything.
    split_cpu(FLAGS.num_cpu_devices)
    strategy = make_strategy(FLAGS.strategy)
    if FLAGS.deterministic:
      tf.config.experimental.enable_op_determinism()
    with exit_on_signals("train", "the same command resumes the run from "
                         "its last finished epoch"):
      for name, config, model_dir, data in runs:
        results = train(name, config, model_dir, strategy, options, data)
        print(where_things_are(model_dir, results))
  except (ValueError, DataError, RunError, OSError) as error:
    # OSError: a run directory that cannot be written (read-only, full).
    sys.exit(f"train: error: {error}")
  except tf.errors.OpError as error:  # e.g. a checkpoint on a full disk
    sys.exit(f"train: error: {op_error_line(error)}")


def where_things_are(run_dir: str, results: dict) -> str:
  """The lines a finished run ends with: where its outputs are, and the
  commands that come next."""
  pictures = [name for name in ("samples.png",)
              if os.path.isfile(os.path.join(run_dir, name))]
  lines = [f"run directory: {run_dir} (results.json, train.log, "
           "training_log.csv" + "".join(f", {p}" for p in pictures) + ")"]
  if "saved_model" in results:
    lines.append(f"SavedModel for TF Serving: {results['saved_model']}")
  lines.append(f"evaluate: python -m trainers.evaluate --model_dir={run_dir}")
  if os.path.isfile(os.path.join(run_dir, "columns.json")):
    lines.append(f"score rows: python -m trainers.score --model_dir="
                 f"{run_dir} --data=FILE --out=scores.csv")
  lines.append(f"TensorBoard: tensorboard --logdir="
               f"{os.path.join(run_dir, 'tensorboard')}")
  return "\n".join(lines)


def _presets(dataset, data, auto: bool) -> list:
  """The presets a command line trains: --dataset's, 'table' for --data,
  or mnist and cifar10 for --auto; ValueError in one line otherwise."""
  if sum(map(bool, (dataset, data, auto))) > 1:
    raise ValueError("give one of --dataset, --data or --auto")
  if data:
    return ["table"]
  if auto:
    return ["mnist", "cifar10"]
  datasets = ", ".join(sorted(name for name, config in PRESETS.items()
                              if config.dataset != "table"))
  if not dataset:
    raise ValueError("give --data=FILE (a table of your own: .csv, .npy, "
                     f"...) or --dataset=NAME (one of {datasets})")
  if dataset not in PRESETS:
    raise ValueError(f"unknown dataset {dataset!r}; expected one of "
                     f"{datasets}, or --data=FILE to train on a file of "
                     "your own")
  if PRESETS[dataset].dataset == "table":
    raise ValueError(f"{dataset!r} is the preset of a table of your own, "
                     "which --data=FILE picks by the table's size and "
                     "context columns; give --data=FILE")
  return [dataset]


def table_name(path: str) -> str:
  """A table run's name: its file's name without the extension."""
  return os.path.splitext(os.path.basename(path))[0] or "table"


MAX_CPU_DEVICES = 64  # logical CPU devices a run may split the host into


def run():
  """The `maf-train` console command (`python -m trainers.train`)."""
  define_train_flags()
  show_in_help("trainers.flags")
  run_command(main, "train")


if __name__ == "__main__":
  run()
