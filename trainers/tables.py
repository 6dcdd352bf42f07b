"""A --data run's table description, kept as columns.json in the run
directory: the column order and names, the context or label column (and
the labels' index order), bounds, discrete columns and the preprocessing
the model carries. The scorer, the sampler and the SavedModel read it;
nothing needs the training file again."""

import dataclasses
import json
import os
from typing import Optional

import numpy as np

from configs.base import TrainConfig
from configs.build import build_model
from maf_tf.data import DatasetDescription
from trainers.checkpoints import restore_best
from trainers.run_dir import read_config, remove_leftovers, write_json

__all__ = ["COLUMNS_FILE", "write_columns", "read_description",
           "restore_table_run", "csv_field", "floored_discrete"]

COLUMNS_FILE = "columns.json"


def write_columns(run_dir: str, description: DatasetDescription,
                  config: TrainConfig) -> None:
  """columns.json of a table run (whole or not at all)."""
  values = dataclasses.asdict(description)
  values["id_column"] = config.id_column
  values["bounds"] = {
      name: [low, high] for name, low, high in zip(
          description.columns, description.preprocessing["lower"],
          description.preprocessing["upper"])
      if low is not None or high is not None}
  values["discrete_columns"] = [description.columns[i]
                                for i in description.discrete]
  write_json(os.path.join(run_dir, COLUMNS_FILE), values)


def read_description(run_dir: str) -> DatasetDescription:
  """The table description of a run; ValueError if it is not a --data
  run or its columns.json does not read."""
  path = os.path.join(run_dir, COLUMNS_FILE)
  if not os.path.isfile(path):
    raise ValueError(f"{run_dir} holds no {COLUMNS_FILE}: not a run trained "
                     "on a table (--data)")
  try:
    with open(path) as stream:
      values = json.load(stream)
    fields = {f.name for f in dataclasses.fields(DatasetDescription)}
    values = {k: tuple(v) if isinstance(v, list) and k != "preprocessing"
              else v for k, v in values.items() if k in fields}
    return DatasetDescription(**values)
  except (ValueError, TypeError, KeyError) as error:
    raise ValueError(f"{path} is not a table description "
                     f"({type(error).__name__}: {error})") from None


def restore_table_run(run_dir: str, config: Optional[TrainConfig] = None):
  """(config, description, model with the best weights) of a --data run,
  without reading its training file."""
  config = config or read_config(run_dir)
  description = read_description(run_dir)
  model = build_model(config, description)
  restore_best(run_dir, model)
  return config, description, model


def check_out(out: str) -> None:
  """A command's --out: a new file in a folder that exists (nothing is
  overwritten), checked before any work; the temporary files a killed
  command left for it are removed."""
  if os.path.lexists(out):
    raise ValueError(f"{out} exists; choose another --out (nothing is "
                     "overwritten)")
  folder = os.path.dirname(os.path.abspath(out))
  if not os.path.isdir(folder):
    raise ValueError(f"--out {out}: the folder {folder} does not exist")
  remove_leftovers(folder, of=os.path.basename(out))  # of a killed command


def csv_field(value) -> str:
  """One CSV field: quoted when it holds a comma, a quote or a newline."""
  text = str(value)
  if any(c in text for c in ',"\n'):
    return '"' + text.replace('"', '""') + '"'
  return text


def floored_discrete(samples, description: DatasetDescription):
  """Samples [n, D] (float64) with the discrete columns floored back to
  the integers they were dequantised from."""
  samples = np.array(samples, dtype=np.float64)
  columns = list(description.discrete)
  samples[:, columns] = np.floor(samples[:, columns])
  return samples
