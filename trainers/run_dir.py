"""The run directory: config.json, resume or refuse, never overwrite."""

import dataclasses
import os
import time

from absl import logging

from configs.base import TrainConfig

__all__ = ["prepare_run_dir", "RESUMABLE_FIELDS"]

# Fields a resumed run may change: they do not alter what was trained.
RESUMABLE_FIELDS = {"epochs", "patience", "max_bad_steps", "sample_every",
                    "num_samples", "data_dir", "source", "eval_batch_size",
                    "steps_per_execution"}


def prepare_run_dir(run_dir: str, config: TrainConfig, fresh: bool) -> bool:
  """Creates or reuses `run_dir`; returns True when an earlier run resumes.

  A directory holding a run with the same config (up to RESUMABLE_FIELDS)
  resumes. A different config, or a non-empty directory that is not a run,
  is an error: nothing is overwritten. With fresh=True an earlier run is
  moved aside to <run_dir>.previous-<UTC time> first.

  Raises:
    ValueError: the directory holds something else, or another config.
  """
  config_path = os.path.join(run_dir, "config.json")
  resumed = False
  if os.path.exists(run_dir) and not os.path.isdir(run_dir):
    raise ValueError(f"model_dir {run_dir} is a file, not a directory")
  # A lone config.json.tmp is this function's own write, cut off before
  # its rename: the run never started, and the directory counts as empty.
  if os.path.isdir(run_dir) and set(os.listdir(run_dir)) - {
      "config.json.tmp"}:
    if not os.path.isfile(config_path):
      raise ValueError(f"model_dir {run_dir} is not empty and holds no "
                       "config.json: refusing to write into it")
    if fresh:
      kept = f"{run_dir}.previous-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
      os.rename(run_dir, kept)
      logging.info("earlier run moved to %s", kept)
    else:
      with open(config_path) as stream:
        old = TrainConfig.from_json(stream.read())
      changed = [f.name for f in dataclasses.fields(TrainConfig)
                 if f.name not in RESUMABLE_FIELDS
                 and getattr(old, f.name) != getattr(config, f.name)]
      if changed:
        raise ValueError(
            f"model_dir {run_dir} holds a run with a different "
            f"{', '.join(changed)}; pass --fresh to start afresh (the old "
            "run is kept) or choose another --model_dir")
      resumed = True
  os.makedirs(run_dir, exist_ok=True)
  with open(config_path + ".tmp", "w") as stream:
    stream.write(config.to_json())
  os.replace(config_path + ".tmp", config_path)
  return resumed
