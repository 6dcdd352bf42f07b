"""Keras callbacks of a training run: the non-finite guard, progress
lines and the CSV log (checkpoints and early stopping are in
trainers.checkpoints, TensorBoard's in trainers.summaries)."""

import time

from absl import logging
import keras

from maf_tf.training import SkippedStepsWarning
from trainers.logs import plural

__all__ = ["NonFiniteGuard", "ProgressLog", "EpochCSVLogger"]


class NonFiniteGuard(SkippedStepsWarning):
  """Logs the steps skipped for NaN/Inf loss or gradients (train_step skips
  them) and stops the run after `max_bad_steps` in a row. (It replaces
  fit()'s end-of-epoch warning: it logs each skip as it is found.)

  It reads the train step's `skipped_steps` and `bad_streak` logs, so it is
  exact with compile(steps_per_execution=N): Keras calls it once per N
  steps, and the run stops at the end of the N steps in which the streak
  reached max_bad_steps.
  """

  def __init__(self, max_bad_steps: int, steps_per_epoch: int):
    super().__init__()
    self.max_bad_steps = max_bad_steps
    self.steps_per_epoch = steps_per_epoch
    self.total = 0
    self.consecutive = 0
    self.failed = False
    self.failed_step = None

  def on_epoch_begin(self, epoch, logs=None):
    self.epoch = epoch
    self.seen = 0

  def on_epoch_end(self, epoch, logs=None):
    pass

  def on_train_batch_end(self, batch, logs=None):
    count = int(round(float(logs.get("skipped_steps", 0.0))))
    if count <= self.seen:
      return
    new, self.seen = count - self.seen, count
    self.total += new
    self.consecutive = int(round(float(logs.get("bad_streak", new))))
    step = self.epoch * self.steps_per_epoch + batch + 1
    logging.warning("up to step %d (epoch %d): %s skipped for non-finite "
                    "loss or gradients (longest run this epoch %d, %d in "
                    "all)", step, self.epoch + 1, plural(new, "step"),
                    self.consecutive, self.total)
    if self.consecutive >= self.max_bad_steps:
      self.failed = True
      self.failed_step = step
      self.model.stop_training = True


class ProgressLog(keras.callbacks.Callback):
  """A log line per epoch (time, examples/s, train and validation NLL and
  bits/dim) and, within an epoch, one every `seconds` (0: none), so a log
  file, nohup or a cluster job shows progress as a terminal would."""

  def __init__(self, epochs: int, steps: int, batch_size: int,
               seconds: float):
    super().__init__()
    self.epochs, self.steps, self.batch_size = epochs, steps, batch_size
    self.seconds = seconds

  def on_epoch_begin(self, epoch, logs=None):
    self.epoch = epoch
    self.start = self.last = time.time()

  def on_train_batch_end(self, batch, logs=None):
    now = time.time()
    if not self.seconds or now - self.last < self.seconds:
      return
    self.last = now
    rate = (batch + 1) * self.batch_size / (now - self.start)
    logging.info("epoch %d/%d: step %d/%d, %.0f examples/s, train nll %.2f "
                 "so far", self.epoch + 1, self.epochs, batch + 1, self.steps,
                 rate, float((logs or {}).get("nll", float("nan"))))

  def on_epoch_end(self, epoch, logs=None):
    logs = logs or {}
    seconds = time.time() - self.start
    parts = [f"epoch {epoch + 1}/{self.epochs}: {seconds:.1f} s",
             f"{self.steps * self.batch_size / seconds:.0f} examples/s"]
    for label, prefix in (("train", ""), ("validation", "val_")):
      if f"{prefix}nll" in logs:
        text = f"{label} nll {float(logs[prefix + 'nll']):.2f}"
        if f"{prefix}bits_per_dim" in logs:
          text += f" ({float(logs[prefix + 'bits_per_dim']):.4f} bits/dim)"
        parts.append(text)
    skipped = int(round(float(logs.get("skipped_steps", 0))))
    if skipped:
      parts.append(f"{plural(skipped, 'step')} skipped")
    logging.info(", ".join(parts))


class EpochCSVLogger(keras.callbacks.CSVLogger):
  """Keras's CSVLogger with epochs counted from 1, as the log lines,
  results.json and TensorBoard's sample titles count them (Keras counts
  from 0)."""

  def on_epoch_end(self, epoch, logs=None):
    super().on_epoch_end(epoch + 1, logs)
