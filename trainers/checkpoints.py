"""A run's tf.train checkpoints: the latest and the best epoch's, with the
early-stopping and guard state needed to resume exactly, read back
strictly (a damaged file is skipped with a warning, a model is never
left partly restored)."""

import glob
import os
import shutil
from typing import Optional

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from trainers.run_dir import RunError, write_json

__all__ = ["DAMAGED", "ResumableEarlyStopping", "RunCheckpoints",
           "checkpoint_problem", "model_variables", "restore_best",
           "restore_model"]


# How reading a damaged checkpoint fails (IndexError: "Read less bytes
# than requested"; AssertionError: assert_consumed on a partial file).
DAMAGED = (tf.errors.OpError, ValueError, IndexError, OSError,
           AssertionError)


def _first_line(error: Exception) -> str:
  return (str(error).strip().splitlines() or [type(error).__name__])[0]


def checkpoint_problem(path: str) -> Optional[str]:
  """None if checkpoint `path` reads back whole, else what is wrong with it
  (one line): every tensor is read, so a truncated or missing data file is
  found without restoring anything."""
  try:
    reader = tf.train.load_checkpoint(path)
    for key in reader.get_variable_to_shape_map():
      reader.get_tensor(key)
  except DAMAGED as error:
    return _first_line(error)
  return None


def _folder(run_dir: str, which: str) -> str:
  """run_dir/checkpoints/<which>: 'latest' or 'best'."""
  return os.path.join(run_dir, "checkpoints", which)


def _checkpoint_number(path: str) -> int:
  return int(path.rsplit("-", 1)[1])


def model_variables(model) -> dict:
  """Every weight of a Keras 3 model (trainable or not, e.g. batch-norm
  statistics) by path, as tf.train.Checkpoint can track them: a Keras 3
  model itself is not tracked by tf.train.Checkpoint. An ensemble's are
  prefixed by their member's index (members share their layers' names)."""
  if hasattr(model, "members"):
    return {f"member_{k}.{name}": value
            for k, member in enumerate(model.members)
            for name, value in model_variables(member).items()}
  return {v.path.replace("/", "."): v.value for v in model.weights}


def restore_model(variables: dict, path: str) -> None:
  """Restores every model variable (`model_variables`) from checkpoint
  `path`; ValueError naming the variables the checkpoint lacks or holds
  with another shape (for example after config.json was edited), or saying
  it is unreadable: a model is never left partly random unnoticed."""
  try:
    stored = tf.train.load_checkpoint(path).get_variable_to_shape_map()
  except DAMAGED as error:
    raise ValueError(f"checkpoint {path} is unreadable: "
                     f"{_first_line(error)}") from None
  wrong = []
  for name, variable in variables.items():
    # tf.train.Checkpoint escapes '.' in a dict key as '..' ('/' as '.S').
    key = name.replace(".", "..").replace("/", ".S")
    shape = stored.get(f"model/{key}/.ATTRIBUTES/VARIABLE_VALUE")
    if shape is None:
      wrong.append(f"{name} (missing)")
    elif list(shape) != variable.shape.as_list():
      wrong.append(f"{name} (shape {list(shape)}, model "
                   f"{variable.shape.as_list()})")
  if wrong:
    shown = ", ".join(wrong[:3]) + (f" and {len(wrong) - 3} more"
                                    if len(wrong) > 3 else "")
    raise ValueError(f"checkpoint {path} does not match the model of "
                     f"config.json: {shown}")
  try:
    tf.train.Checkpoint(model=variables).restore(path).expect_partial()
  except DAMAGED as error:
    raise ValueError(f"checkpoint {path} is unreadable: "
                     f"{_first_line(error)}") from None


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
  """keras EarlyStopping on val_nll whose state survives a restart."""

  def __init__(self, patience: int):
    super().__init__(monitor="val_nll", mode="min", patience=patience)
    self._resume_state = None

  def resume(self, best: float, best_epoch: int, wait: int) -> None:
    self._resume_state = (best, best_epoch, wait)

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    if self._resume_state and np.isfinite(self._resume_state[0]):
      self.best, self.best_epoch, self.wait = self._resume_state


class RunCheckpoints(keras.callbacks.Callback):
  """tf.train checkpoints of model, optimizer and run state.

  checkpoints/latest is written after every epoch, checkpoints/best when
  the validation NLL improves; state.json says the same for people.
  """

  def __init__(self, run_dir: str, model, optimizer,
               early_stopping: ResumableEarlyStopping, guard=None):
    super().__init__()
    self.run_dir = run_dir
    self.early_stopping = early_stopping
    self.guard = guard
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.best_nll = tf.Variable(np.inf, dtype=tf.float64, trainable=False)
    self.best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.skipped = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.model_variables = model_variables(model)
    self.checkpoint = tf.train.Checkpoint(
        model=self.model_variables, optimizer=optimizer, epoch=self.epoch,
        best_nll=self.best_nll, best_epoch=self.best_epoch, wait=self.wait,
        skipped=self.skipped)
    # Two of each: the older to fall back to if the newer cannot be read
    # back (a damaged file), with the best model its epoch names.
    self.latest = tf.train.CheckpointManager(
        self.checkpoint, _folder(run_dir, "latest"), max_to_keep=2)
    self.best = tf.train.CheckpointManager(
        self.checkpoint, _folder(run_dir, "best"), max_to_keep=2)

  def restore_latest(self) -> int:
    """Restores the newest intact checkpoint, if any; returns its epoch.

    The latest checkpoint comes first; one that does not read back whole
    (a full disk, a damaged file) is skipped with a warning naming it, and
    the run resumes from the next newest (the previous latest, or best) and
    redoes the epochs since. A checkpoint whose best epoch cannot be read
    back is no use either: with nothing left, RunError.
    """
    self._remove_half_written()
    broken = []
    for path in self._candidates():
      try:  # (a failed restore is overwritten by the next one's)
        self.checkpoint.restore(path).assert_consumed()
        problem = None
      except DAMAGED as error:
        problem = _first_line(error)
      if problem is None:
        best = int(self.best_epoch.numpy())
        best_path = os.path.join(self.best.directory, f"ckpt-{best}")
        if best and best_path != path and checkpoint_problem(best_path):
          problem = f"its best epoch's checkpoint {best_path} is unreadable"
      if not problem:
        if broken:
          logging.warning("resuming from %s (epoch %d) instead of the newer "
                          "%s", path, int(self.epoch.numpy()),
                          "; ".join(broken))
        self.early_stopping.resume(float(self.best_nll.numpy()),
                                   int(self.best_epoch.numpy()) - 1,
                                   int(self.wait.numpy()))
        if self.guard is not None:
          self.guard.total = int(self.skipped.numpy())
        return int(self.epoch.numpy())
      logging.warning("checkpoint %s cannot be used: %s", path, problem)
      broken.append(f"{path} ({problem})")
    if broken:
      raise RunError(f"no usable checkpoint in {self.run_dir}: "
                     f"{'; '.join(broken)}; pass --fresh to start again (the "
                     "old run is kept)")
    return 0

  def _candidates(self) -> list:
    """Checkpoints of latest/ and best/, newest epoch first (latest before
    best on a tie): those their managers list, and those on disk (the
    managers' state file may be the damaged part)."""
    found = []
    for rank, manager in enumerate((self.latest, self.best)):
      listed = set(manager.checkpoints) | {
          path[:-len(".index")] for path in
          glob.glob(os.path.join(manager.directory, "ckpt-*.index"))}
      found += [(_checkpoint_number(p), -rank, p) for p in listed]
    return [path for *_, path in sorted(found, reverse=True)]

  def _remove_half_written(self) -> None:
    """TensorFlow writes a checkpoint into ckpt-N_temp/ before it merges it:
    one left behind was cut off (a kill, a full disk) and is never read."""
    for manager in (self.latest, self.best):
      for path in glob.glob(os.path.join(manager.directory, "ckpt-*_temp")):
        logging.warning("removing %s, a checkpoint cut off while it was "
                        "written", path)
        shutil.rmtree(path, ignore_errors=True)

  def restore_best(self) -> None:
    """The model weights of the epoch with the best validation NLL."""
    if self.best.latest_checkpoint:
      restore_model(self.model_variables, self.best.latest_checkpoint)

  @property
  def stopped_early(self) -> bool:
    return int(self.wait.numpy()) >= self.early_stopping.patience

  def on_epoch_end(self, epoch, logs=None):
    if self.guard is not None and self.guard.failed:
      return  # keep the last good checkpoint as it is
    improved = self.early_stopping.wait == 0
    self.epoch.assign(epoch + 1)
    self.wait.assign(self.early_stopping.wait)
    if self.guard is not None:
      self.skipped.assign(self.guard.total)
    if improved:
      self.best_nll.assign(float(logs["val_nll"]))
      self.best_epoch.assign(epoch + 1)
      # best first: a latest that names this epoch as best must never
      # exist without it (a kill between the two saves then resumes from
      # the previous epoch and redoes this one, saving both).
      self.best.save(checkpoint_number=epoch + 1)
    self.latest.save(checkpoint_number=epoch + 1)
    state = {"epoch": epoch + 1, "best_epoch": int(self.best_epoch.numpy()),
             "best_val_nll": float(self.best_nll.numpy()),
             "epochs_without_improvement": int(self.wait.numpy()),
             "skipped_steps": int(self.skipped.numpy())}
    write_json(os.path.join(self.run_dir, "state.json"), state)


def restore_best(run_dir: str, model) -> str:
  """Restores the model weights of a run's best epoch (checkpoints/best);
  returns the checkpoint's path. ValueError if the run has none or it does
  not fit the model (see `restore_model`)."""
  best = tf.train.latest_checkpoint(_folder(run_dir, "best"))
  if best is None:
    raise ValueError(f"{run_dir} has no checkpoints/best to evaluate")
  restore_model(model_variables(model), best)
  return best
