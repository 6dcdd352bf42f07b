"""TensorBoard logs of a training run, all on one axis: the global
training step (the optimizer's iteration count, which a resumed run
restores).

  train/       nll, bits_per_dim (images), grad_norm and learning_rate at
               each multiple of `every_steps` (the epoch's running means so
               far; at the first call after it with several steps per
               execution) and at each epoch's end; skipped_steps_total at
               each epoch's end;
               every `sample_every` epochs, and for the best model at the
               end, a titled sample picture and histograms of the latent
               z of a fixed validation batch and of each MADE's
               log-scales on it (made_k/log_scale)
  validation/  nll and bits_per_dim at each epoch's end, beside train's in
               the same charts

samples.png in the run directory is the latest picture.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from trainers import pictures

__all__ = ["TensorBoardSummaries"]

SCALARS = ("nll", "bits_per_dim", "grad_norm")


class TensorBoardSummaries(keras.callbacks.Callback):
  """The run's TensorBoard logs (see the module docstring)."""

  def __init__(self, run_dir: str, draw, sample_every: int, guard,
               name: str, probe, optimizer, every_steps: int = 100):
    super().__init__()
    self.optimizer = optimizer  # its iterations: the step (also outside fit)
    self.run_dir = run_dir
    self.draw = draw  # (title) -> uint8 image [H, W, C]
    self.sample_every = sample_every
    self.guard = guard
    self.name = name
    self.probe = probe  # a validation batch: x, or (x, context)
    self.every_steps = every_steps
    folder = os.path.join(run_dir, "tensorboard")
    self.train = tf.summary.create_file_writer(os.path.join(folder, "train"))
    self.validation = tf.summary.create_file_writer(
        os.path.join(folder, "validation"))
    self.last = None
    self.histogram_step = None

  def _step(self) -> int:
    return int(self.optimizer.iterations.numpy())

  def _learning_rate(self) -> float:
    rate = self.optimizer.learning_rate
    if callable(rate):
      rate = rate(self.optimizer.iterations)
    return float(np.asarray(rate))

  def _train_scalars(self, logs, step: int) -> None:
    with self.train.as_default(step=step):
      for name in SCALARS:
        if name in logs:
          tf.summary.scalar(name, float(logs[name]))
      tf.summary.scalar("learning_rate", self._learning_rate())

  def on_train_begin(self, logs=None):
    self.last = self._step()

  def on_train_batch_end(self, batch, logs=None):
    step = self._step()  # Keras calls this once per steps_per_execution
    if step // self.every_steps > self.last // self.every_steps:
      self.last = step
      self._train_scalars(logs or {}, step)

  def on_epoch_end(self, epoch, logs=None):
    logs, step = logs or {}, self._step()
    if self.last != step:  # (written already at a step that ends an epoch)
      self._train_scalars(logs, step)
    self.last = step
    with self.train.as_default(step=step):
      tf.summary.scalar("skipped_steps_total", self.guard.total)
    with self.validation.as_default(step=step):
      for name in SCALARS[:2]:
        if f"val_{name}" in logs:
          tf.summary.scalar(name, float(logs[f"val_{name}"]))
    if (epoch + 1) % self.sample_every == 0:
      self.write_samples(f"{self.name}: samples after epoch {epoch + 1}")
    self.train.flush()
    self.validation.flush()

  def _histograms(self, step: int) -> None:
    self.histogram_step = step
    x, context = (self.probe if isinstance(self.probe, tuple)
                  else (self.probe, None))
    members = getattr(self.model, "members", None)
    flows = ({"": self.model} if members is None else
             {f"member_{k}/": member for k, member in enumerate(members)})
    with self.train.as_default(step=step):
      for prefix, flow in flows.items():
        z, _ = flow.to_base(x, context)
        tf.summary.histogram(f"{prefix}latent_z", z)
        for k, log_scale in enumerate(flow.made_log_scales(x, context)):
          tf.summary.histogram(f"{prefix}made_{k}/log_scale", log_scale)

  def write_samples(self, title: str) -> None:
    """A sample picture and the probe's histograms, at the current step:
    every sample_every epochs, and for the best model at the end (so a
    short run has them too)."""
    if self.histogram_step != self._step():  # not twice at one step
      self._histograms(self._step())
    image = self.draw(title)
    pictures.save_png(image, os.path.join(self.run_dir, "samples.png"))
    with self.train.as_default(step=self._step()):
      tf.summary.image("samples", image[None])
    self.train.flush()
