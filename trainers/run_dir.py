"""The run directory: config.json, resume or refuse, never overwrite; one
training process at a time; every file written whole or not at all."""

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from typing import Optional, Union

from absl import logging

from configs.base import TrainConfig
from configs.checks import check_config

__all__ = ["RunError", "prepare_run_dir", "RESUMABLE_FIELDS", "write_file",
           "written_whole",
           "write_json", "read_config", "lock_run_dir", "remove_leftovers",
           "refuse_links"]

# Fields a resumed run may change: they do not alter what was trained.
RESUMABLE_FIELDS = {"epochs", "patience", "max_bad_steps", "sample_every",
                    "num_samples", "data_dir", "source", "eval_batch_size",
                    "steps_per_execution"}


LOCK = ".lock"
# What a run opens in place (appends to, or writes inside) rather than
# replacing whole with write_file: a symbolic link there would lead its
# writes out of the run directory, so the run refuses it.
OPENED_IN_PLACE = (LOCK, "train.log", "training_log.csv", "checkpoints",
                   "tensorboard")
# What a run directory may hold before its run started: this module's own
# files, left by a process killed before it wrote config.json.
_NOT_A_RUN_YET = {LOCK}


class RunError(RuntimeError):
  """A run that cannot go on; the message is one line."""


@contextlib.contextmanager
def written_whole(path: str, mode: str = "wb"):
  """A stream that becomes `path` whole or not at all: a temporary file
  beside it, flushed to disk and renamed over it when the block ends (a
  kill, a full disk or an exception leaves the old file or none, never
  half a file)."""
  folder, name = os.path.split(os.path.abspath(path))
  handle, temporary = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.",
                                       suffix=".tmp", dir=folder)
  try:
    os.chmod(temporary, 0o666 & ~_umask())  # as open() would create it
    with os.fdopen(handle, mode) as stream:
      yield stream
      stream.flush()
      os.fsync(stream.fileno())
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise


def write_file(path: str, data: Union[str, bytes]) -> None:
  """Writes `path` whole or not at all (`written_whole`)."""
  with written_whole(path) as stream:
    stream.write(data.encode() if isinstance(data, str) else data)


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


# .<name>.<pid>.<random>.tmp (write_file), .export-<pid>-<random> (export)
_LEFTOVER = re.compile(r"^\..+\.(\d+)\.\w+\.tmp$|^\.export-(\d+)-\w+$")


def remove_leftovers(run_dir: str, of: Optional[str] = None) -> None:
  """Removes what killed processes left half-written in run_dir: temporary
  files of write_file and staging directories of export_saved_model, both
  named after the process that made them, when that process is gone; with
  `of`, only the temporary files of the file of that name (a command's
  --out, in a folder of the user's)."""
  for name in os.listdir(run_dir):
    if of is not None and not name.startswith(f".{of}."):
      continue
    match = _LEFTOVER.match(name)
    pid = match and int(match.group(1) or match.group(2))
    if not pid or pid == os.getpid() or _alive(pid):
      continue
    path = os.path.join(run_dir, name)
    logging.warning("removing %s, left half-written by process %s", path,
                    pid)
    if os.path.isdir(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      os.remove(path)


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # someone else's process
  return True


def write_json(path: str, values: dict) -> None:
  write_file(path, json.dumps(values, indent=2, sort_keys=True))


def _temporaries(run_dir: str) -> set:
  return {n for n in os.listdir(run_dir) if n.startswith(".")
          and (n.endswith(".tmp") or n.startswith(".export-"))}


def refuse_links(run_dir: str) -> None:
  """ValueError if something a run opens in place (OPENED_IN_PLACE) is a
  symbolic link: a run writes only inside its own directory."""
  for name in OPENED_IN_PLACE:
    path = os.path.join(run_dir, name)
    if os.path.islink(path):
      raise _link_error(path)


def _link_error(path: str) -> ValueError:
  return ValueError(f"{path} is a symbolic link; a run writes only inside "
                    "its own directory: remove the link")


def lock_run_dir(run_dir: str):
  """An exclusive lock on `run_dir` (created if missing) for as long as the
  returned file stays open: a second training process on the same run is
  refused. The kernel releases it when the process ends, however it ends.

  Raises:
    ValueError: another process holds the run.
  """
  os.makedirs(run_dir, exist_ok=True)
  refuse_links(run_dir)
  try:  # O_NOFOLLOW: never through a link put there after the check
    handle = os.open(os.path.join(run_dir, LOCK), os.O_RDWR | os.O_CREAT
                     | os.O_APPEND | os.O_NOFOLLOW, 0o666)
  except OSError as error:
    if error.errno != errno.ELOOP:
      raise
    raise _link_error(os.path.join(run_dir, LOCK)) from None
  stream = os.fdopen(handle, "a+")
  try:
    fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except OSError as error:
    stream.seek(0)
    owner = stream.read().strip() or "unknown"
    stream.close()
    if error.errno in (errno.EAGAIN, errno.EACCES):
      raise ValueError(f"model_dir {run_dir} is in use by another training "
                       f"process (pid {owner}); wait for it or choose "
                       "another --model_dir") from None
    raise
  stream.truncate(0)
  stream.write(str(os.getpid()))
  stream.flush()
  return stream


def prepare_run_dir(run_dir: str, config: TrainConfig, fresh: bool):
  """Creates or reuses `run_dir` and locks it; returns (resumed, lock):
  resumed is True when an earlier run resumes, and the run is this
  process's until `lock` is closed.

  A directory holding a run with the same config (up to RESUMABLE_FIELDS)
  resumes. A different config, or a non-empty directory that is not a run,
  is an error: nothing is overwritten. With fresh=True an earlier run is
  moved aside to <run_dir>.previous-<UTC time> first.

  Raises:
    ValueError: the directory holds something else, or another config, or
      another process is using it.
  """
  if os.path.exists(run_dir) and not os.path.isdir(run_dir):
    raise ValueError(f"model_dir {run_dir} is a file, not a directory")
  existed = os.path.isdir(run_dir)
  had_lock = os.path.exists(os.path.join(run_dir, LOCK))
  lock = lock_run_dir(run_dir)
  try:
    resumed = _check_run_dir(run_dir, config, fresh, existed)
    if fresh and resumed is None:  # moved aside: a new, empty run_dir
      lock.close()
      lock = lock_run_dir(run_dir)
    remove_leftovers(run_dir)
    write_file(os.path.join(run_dir, "config.json"), config.to_json())
  except BaseException:  # leave the directory as it was
    lock.close()
    if not had_lock and os.path.exists(os.path.join(run_dir, LOCK)):
      os.remove(os.path.join(run_dir, LOCK))
    if not existed and not os.listdir(run_dir):
      os.rmdir(run_dir)
    raise
  return bool(resumed), lock


def read_config(run_dir: str) -> TrainConfig:
  """The TrainConfig of run_dir/config.json.

  Raises:
    ValueError: there is none, it is not a config this version reads, or
      a value fails configs.checks (e.g. a model too large to allocate).
  """
  path = os.path.join(run_dir, "config.json")
  if not os.path.isfile(path):
    raise ValueError(f"{run_dir} holds no config.json: not a run directory")
  try:
    with open(path) as stream:
      config = TrainConfig.from_json(stream.read())
  except (ValueError, TypeError, KeyError, AttributeError) as error:
    raise ValueError(f"{path} is not a run config ({type(error).__name__}: "
                     f"{error})") from None
  try:  # an edited file is checked as flags are, before any allocation
    check_config(config, files=False)
  except ValueError as error:
    raise ValueError(f"{path}: {error}") from None
  return config


def _check_run_dir(run_dir: str, config: TrainConfig, fresh: bool,
                   existed: bool):
  """False: a new run; True: the same run resumes; None: moved aside."""
  config_path = os.path.join(run_dir, "config.json")
  held = set(os.listdir(run_dir)) - _NOT_A_RUN_YET - _temporaries(run_dir)
  if not existed or not held:
    return False
  if not os.path.isfile(config_path):
    raise ValueError(f"model_dir {run_dir} is not empty and holds no "
                     "config.json: refusing to write into it")
  if fresh:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    kept = f"{run_dir}.previous-{stamp}"
    os.rename(run_dir, kept)
    logging.info("earlier run moved to %s", kept)
    os.makedirs(run_dir)
    return None
  old = read_config(run_dir)
  changed = [f.name for f in dataclasses.fields(TrainConfig)
             if f.name not in RESUMABLE_FIELDS
             and getattr(old, f.name) != getattr(config, f.name)]
  if changed:
    raise ValueError(
        f"model_dir {run_dir} holds a run with a different "
        f"{', '.join(changed)}; pass --fresh to start afresh (the old "
        "run is kept) or choose another --model_dir")
  return True
