"""Trains a MAF: `python -m trainers.train --dataset=mnist`.

main(): flags -> config (preset + overrides, checked) -> data -> strategy
-> model inside strategy.scope() -> Model.fit with callbacks (checkpoints,
early stopping, non-finite guard, TensorBoard, CSV log) -> best weights ->
test scores -> results. Run `--helpfull` for every flag and its preset
values.
"""

import contextlib
import json
import os
import sys
import time

from absl import app, flags, logging
import keras
import tensorflow as tf

from configs.base import TrainConfig
from configs.checks import check_config
from configs.presets import PRESETS, preset
from maf_tf.data import DataError, evaluation_dataset, training_dataset
from maf_tf.data import steps_per_epoch as count_steps
from maf_tf.export import export_saved_model, next_version
from maf_tf.optimizers import FusedAdam
from maf_tf.evaluation import log_likelihoods
from maf_tf.metrics import summarize
from trainers import callbacks as run_callbacks
from trainers import common
from trainers.callbacks import RunError
from trainers.flags import config_from_flags, define_config_flags
from trainers.flags import define_run_flags, show_in_help
from trainers.run_dir import prepare_run_dir, write_file, write_json
from trainers.summaries import TensorBoardSummaries

FLAGS = flags.FLAGS
PROBE_SIZE = 500  # validation examples behind TensorBoard's histograms
define_run_flags()
define_config_flags()


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


def _is_chief(strategy) -> bool:
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  return resolver.task_type == "chief" or (
      resolver.task_type == "worker" and resolver.task_id == 0)


@contextlib.contextmanager
def _log_to_file(run_dir: str):
  """The run's log lines also go to run_dir/train.log while it lasts."""
  handler = logging.logging.FileHandler(os.path.join(run_dir, "train.log"))
  handler.setFormatter(logging.logging.Formatter(
      "%(asctime)s %(levelname)s %(message)s"))
  logger = logging.get_absl_logger()
  logger.addHandler(handler)
  try:
    yield
  finally:
    logger.removeHandler(handler)
    handler.close()


def train(name: str, config: TrainConfig, model_dir: str,
          strategy: tf.distribute.Strategy) -> dict:
  """One run; returns the results written to model_dir/results.json."""
  data = common.load_data(config)
  if config.batch_size > len(data.train[0]):
    raise ValueError(f"batch_size must be at most the {len(data.train[0])} "
                     f"training examples; got {config.batch_size}")
  chief = _is_chief(strategy)
  # Every worker saves (checkpointing is collective); only the chief's
  # directory is the run, the others write beside it.
  run_dir = model_dir if chief else (
      f"{model_dir}.worker-{strategy.cluster_resolver.task_id}")
  resumed, lock = prepare_run_dir(run_dir, config, FLAGS.fresh)
  with lock, _log_to_file(run_dir):  # the run is ours until it returns
    logging.info("%s run %s in %s (%d replicas)", "resuming" if resumed
                 else "starting", name, run_dir,
                 strategy.num_replicas_in_sync)
    return _train_in(run_dir, name, config, data, strategy, chief)


def _train_in(run_dir: str, name: str, config: TrainConfig, data,
              strategy: tf.distribute.Strategy, chief: bool) -> dict:
  keras.utils.set_random_seed(config.seed)
  image_data = data.image_shape is not None
  flips = config.flips and image_data
  steps = count_steps(len(data.train[0]), config.batch_size, flips)
  num_classes = data.num_classes if config.conditional else 0
  per_call = steps_per_execution(config.steps_per_execution, steps,
                                 strategy.num_replicas_in_sync)
  if per_call != config.steps_per_execution:
    logging.info("steps_per_execution %d: using %d (%d steps per epoch, %d "
                 "replicas)", config.steps_per_execution, per_call, steps,
                 strategy.num_replicas_in_sync)
  with strategy.scope():
    model = common.build_model(config, data)
    optimizer = make_optimizer(config, steps * config.epochs)
    model.compile(optimizer, clip_norm=config.clip_norm or None,
                  weight_decay=config.weight_decay,
                  steps_per_execution=per_call)
    optimizer.build(model.trainable_variables)

  guard = run_callbacks.NonFiniteGuard(config.max_bad_steps, steps)
  stopping = run_callbacks.ResumableEarlyStopping(config.patience)
  checkpoints = run_callbacks.RunCheckpoints(run_dir, model, optimizer,
                                             stopping, guard)
  initial_epoch = checkpoints.restore_latest()
  done = initial_epoch >= config.epochs or checkpoints.stopped_early
  finished = os.path.join(run_dir, "results.json")  # written last
  if done and os.path.isfile(finished):  # before anything else is set up
    logging.info("%s has finished already: nothing to do (results in %s)",
                 run_dir, finished)
    with open(finished) as stream:
      results = json.load(stream)
    if chief and _export_missing(results):  # a kill cut its export off
      checkpoints.restore_best()
      _export(model, run_dir, results, data.image_shape, num_classes)
    return results
  log_path = os.path.join(run_dir, "training_log.csv")
  _trim_training_log(log_path, initial_epoch)

  def draw(title: str):
    if data.image_shape is None:
      return common.toy_picture(model, data, config, title=title)
    return common.sample_picture(model, data, config.num_samples,
                                 config.seed, title)

  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  train_data = training_dataset(
      *data.train, batch_size=config.batch_size, seed=config.seed,
      num_classes=num_classes, flips=flips,
      start_epoch=initial_epoch).with_options(options)
  validation = evaluation_dataset(
      *data.validation, batch_size=config.eval_batch_size,
      seed=config.seed + 1, num_classes=num_classes).with_options(options)
  probe = tf.nest.map_structure(lambda t: t[:PROBE_SIZE],
                                next(iter(validation)))
  summaries = TensorBoardSummaries(run_dir, draw, config.sample_every, guard,
                                   config.dataset, probe, optimizer,
                                   FLAGS.summary_steps)

  start = time.time()
  if not done:
    terminal = sys.stdout.isatty()  # a progress bar; else log lines
    progress = run_callbacks.ProgressLog(
        config.epochs, steps, config.batch_size,
        0 if terminal else FLAGS.progress_seconds)
    model.fit(train_data, validation_data=validation, epochs=config.epochs,
              initial_epoch=initial_epoch, steps_per_epoch=steps,
              verbose=1 if terminal else 0,
              # The guard first (fit hides its bad_streak from the rest);
              # the log row before the checkpoint: a kill between the two
              # redoes the epoch, and _trim_training_log drops its row.
              callbacks=[
                  guard, stopping, progress,
                  keras.callbacks.CSVLogger(log_path, append=True),
                  checkpoints, summaries])
  seconds = time.time() - start
  if guard.failed:
    last = checkpoints.latest.latest_checkpoint
    raise RunError(
        f"stopped at step {guard.failed_step}: {guard.consecutive} "
        "consecutive steps with non-finite loss or gradients; "
        + (f"the last good checkpoint is {last}" if last else
           "no checkpoint was written (it failed in the first epoch)"))
  checkpoints.restore_best()
  epochs_run = int(checkpoints.epoch.numpy()) - initial_epoch
  results = _test_results(model, data, config, num_classes)
  results.update(
      dataset=config.dataset, preset=name, epochs=int(checkpoints.epoch.numpy()),
      best_epoch=int(checkpoints.best_epoch.numpy()),
      stopped_early=checkpoints.stopped_early,
      skipped_steps=int(checkpoints.skipped.numpy()),
      train_seconds=round(seconds, 1),
      train_samples_per_second=round(
          epochs_run * steps * config.batch_size / seconds, 1)
      if epochs_run and seconds > 0 else None,
      replicas=strategy.num_replicas_in_sync)
  summaries.write_samples(f"{config.dataset}: samples of the best model "
                          f"(epoch {int(checkpoints.best_epoch.numpy())})")
  if chief:  # named before it is written: a rerun finishes that export
    results["saved_model"] = os.path.join(run_dir,
                                          str(next_version(run_dir)))
  _write_results(run_dir, results)
  if chief:
    _export(model, run_dir, results, data.image_shape, num_classes)
  return results


def _export_missing(results: dict) -> bool:
  """Whether the export results.json names is not (completely) there."""
  path = results.get("saved_model")
  return bool(path) and not os.path.isfile(os.path.join(path,
                                                        "saved_model.pb"))


def _export(model, run_dir: str, results: dict, image_shape,
            num_classes: int) -> None:
  """Exports the model to the version results.json names, unless it is
  there already; if another export took that version meanwhile, to the
  next free one, and results.json says so."""
  if not _export_missing(results):
    return
  try:
    export_saved_model(model, run_dir,
                       int(os.path.basename(results["saved_model"])),
                       image_shape=image_shape, num_classes=num_classes)
  except ValueError:  # the version exists: not ours
    results["saved_model"] = export_saved_model(
        model, run_dir, image_shape=image_shape, num_classes=num_classes)
    _write_results(run_dir, results)


def _trim_training_log(path: str, epochs: int) -> None:
  """Keeps the rows of the first `epochs` epochs: a run resumed from an
  older checkpoint redoes the later ones and logs them again."""
  if not os.path.isfile(path):
    return
  with open(path, newline="") as stream:
    lines = stream.read().splitlines(keepends=True)
  kept = lines[:1] + [line for line in lines[1:]
                      if line.split(",", 1)[0].isdigit()
                      and int(line.split(",", 1)[0]) < epochs]
  if kept != lines:
    write_file(path, "".join(kept))


def _test_results(model, data, config, num_classes) -> dict:
  """Test-set scores in the paper's protocol (see maf_tf.evaluation)."""
  dataset = evaluation_dataset(*data.test, batch_size=config.eval_batch_size,
                               seed=config.seed + 2, num_classes=num_classes)
  return summarize(log_likelihoods(model, dataset, num_classes), "test_")


def _write_results(run_dir: str, results: dict) -> None:
  """results.txt, then results.json: the file that marks a finished run
  comes last."""
  lines = [f"{results['preset']}: {results['epochs']} epochs (best "
           f"{results['best_epoch']}), {results['train_seconds']} s"]
  images = "test_bits_per_dim" in results
  lines.append(f"test log-likelihood: {results['test_log_likelihood']:.2f} "
               f"± {results['test_log_likelihood_2se']:.2f} nats per "
               + ("image (logit space, as in the paper's Table 2)" if images
                  else "point")
               + f", median {results['test_log_likelihood_median']:.2f}; "
               "± is 2 standard errors")
  if images:
    lines.append(f"test bits/dim: {results['test_bits_per_dim']:.4f} ± "
                 f"{results['test_bits_per_dim_2se']:.4f} (pixel space)")
  if results.get("train_samples_per_second"):
    lines.append(f"training: {results['train_samples_per_second']:.0f} "
                 f"examples/s on {results['replicas']} replica(s)")
  write_file(os.path.join(run_dir, "results.txt"), "\n".join(lines) + "\n")
  write_json(os.path.join(run_dir, "results.json"), results)
  logging.info(" | ".join(lines))


def main(argv):
  if len(argv) > 1:
    sys.exit(f"train: error: unexpected arguments {argv[1:]}")
  common.quiet_logs(FLAGS.verbose)
  try:
    if FLAGS.auto and FLAGS.dataset:
      raise ValueError("give --dataset or --auto, not both")
    names = ["mnist", "cifar10"] if FLAGS.auto else [FLAGS.dataset]
    if names[0] is None:
      raise ValueError("--dataset is required (one of "
                       f"{', '.join(sorted(PRESETS))}), or --auto")
    runs = []
    for name in names:
      config = config_from_flags(preset(name))
      check_config(config)
      model_dir = FLAGS.model_dir or os.path.join("saved_models", name)
      if FLAGS.auto and FLAGS.model_dir:
        model_dir = os.path.join(FLAGS.model_dir, name)
      runs.append((name, config, model_dir))
    if FLAGS.summary_steps < 1:
      raise ValueError("summary_steps must be a positive integer; got "
                       f"{FLAGS.summary_steps}")
    if not FLAGS.progress_seconds >= 0:
      raise ValueError("progress_seconds must be >= 0; got "
                       f"{FLAGS.progress_seconds}")
    if FLAGS.num_cpu_devices < 1:
      raise ValueError("num_cpu_devices must be a positive integer; got "
                       f"{FLAGS.num_cpu_devices}")
    # Collective ops (multi-worker) must be set up before TF runs anything.
    common.split_cpu(FLAGS.num_cpu_devices)
    strategy = common.make_strategy(FLAGS.strategy)
    if FLAGS.deterministic:
      tf.config.experimental.enable_op_determinism()
    for name, config, model_dir in runs:
      train(name, config, model_dir, strategy)
  except (ValueError, DataError, RunError, OSError) as error:
    # OSError: a run directory that cannot be written (read-only, full).
    sys.exit(f"train: error: {error}")
  except tf.errors.OpError as error:  # e.g. a checkpoint on a full disk
    sys.exit(f"train: error: {common.op_error_line(error)}")


def run():
  """The `maf-train` console command (`python -m trainers.train`)."""
  show_in_help("trainers.flags")
  app.run(main)


if __name__ == "__main__":
  run()
