"""What train.py and evaluate.py share: strategy, data and model from a
config, and scoring a dataset."""

import dataclasses
import io
import logging
import os
import re
import warnings
from typing import Optional

import numpy as np
import tensorflow as tf

from configs.base import TrainConfig
from maf_tf import MAF, PixelMAF
from maf_tf.data import (IMAGE_SPECS, TOYS, load_splits,
                         sample_toy)
from maf_tf.pixel_flows import to_uint8
from trainers import pictures

__all__ = ["RunData", "load_data", "build_model", "make_strategy",
           "split_cpu", "sample_picture",
           "toy_picture", "op_error_line", "quiet_logs"]


def split_cpu(count: int) -> None:
  """Splits the CPU into `count` logical devices (before TF starts)."""
  if count > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def make_strategy(name: str) -> tf.distribute.Strategy:
  """'mirrored' (all local GPUs, else all logical CPUs), 'one_device', or
  'multi_worker' (MultiWorkerMirroredStrategy; TF_CONFIG must be set)."""
  if name == "multi_worker":
    if "TF_CONFIG" not in os.environ:
      raise ValueError("strategy multi_worker needs the TF_CONFIG "
                       "environment variable (cluster and task); it is unset")
    # Before anything else touches TF: collectives are set up at start-up.
    return tf.distribute.MultiWorkerMirroredStrategy()
  gpus = tf.config.list_logical_devices("GPU")
  if name == "one_device":
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else
                                           "/cpu:0")
  if name == "mirrored":
    devices = gpus or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in devices])
  raise ValueError(f"strategy must be mirrored, one_device or multi_worker; "
                   f"got {name!r}")


@dataclasses.dataclass
class RunData:
  """Arrays of one dataset: images uint8 [N, H, W, C] or toy floats [N, 2]."""
  train: tuple
  validation: tuple
  test: tuple
  event_size: int
  num_classes: int
  image_shape: Optional[tuple]  # None for 2-D toys
  alpha: Optional[float]


def load_data(config: TrainConfig) -> RunData:
  """The config's dataset split into train / validation / test."""
  if config.dataset in TOYS:
    arrays = [(sample_toy(config.dataset, size, config.seed + offset), None)
              for offset, size in ((0, config.toy_size), (1, 10_000),
                                   (2, 10_000))]
    return RunData(*arrays, event_size=2, num_classes=0, image_shape=None,
                   alpha=None)
  if config.dataset not in IMAGE_SPECS:
    raise ValueError(f"unknown dataset {config.dataset!r}; expected one of "
                     f"{sorted(IMAGE_SPECS) + sorted(TOYS)}")
  splits = load_splits(config.dataset, config.source, config.data_dir,
                       validation_size=config.validation_size)
  spec = splits.spec
  alpha = spec.alpha if config.alpha is None else config.alpha
  return RunData(splits.train, splits.validation, splits.test,
                 event_size=spec.event_size, num_classes=spec.num_classes,
                 image_shape=spec.shape, alpha=alpha)


def model_arguments(config: TrainConfig, event_size: int,
                    num_classes: int = 0) -> dict:
  """MAF's keyword arguments for a config (conditional: num_classes)."""
  return dict(
      event_size=event_size, num_layers=config.num_layers,
      hidden_units=config.hidden_units, activation=config.activation,
      hidden_degrees=config.hidden_degrees, ordering=config.ordering,
      batch_norm=config.batch_norm, base=config.base,
      num_components=config.num_components,
      context_size=num_classes if config.conditional else 0,
      log_scale_bound=config.log_scale_bound, affine=config.affine,
      initialization=config.initialization, seed=config.seed,
      matmul_dtype=config.matmul_dtype)


def build_model(config: TrainConfig, data: RunData) -> MAF:
  """A PixelMAF for images, a MAF for toys, as the config says."""
  kwargs = model_arguments(config, data.event_size, data.num_classes)
  if data.image_shape is None:
    return MAF(**kwargs)
  return PixelMAF(alpha=data.alpha, **kwargs)


def sample_picture(model, data: RunData, count: int, seed: int,
                   title: str = ""):
  """uint8 picture of `count` samples (one row per class if conditional),
  enlarged to be seen and titled."""
  context = None
  if model.context_size:
    labels = np.arange(count) % data.num_classes
    context = tf.one_hot(labels, data.num_classes)
  samples = model.sample(count, context, seed=seed)
  if data.image_shape is None:
    return samples.numpy()
  images = to_uint8(samples).numpy().reshape((count,) + data.image_shape)
  grid = pictures.image_grid(pictures.enlarge(images), columns=
                             data.num_classes if model.context_size else None)
  return pictures.titled(grid, title) if title else grid


def toy_picture(model, data, config, seed: Optional[int] = None,
                title: str = ""):
  """Data, learned density and samples of a 2-D toy as a uint8 image."""
  from PIL import Image
  axis = np.linspace(-4, 4, 200, dtype=np.float32)
  grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  density = np.exp(model.log_prob(grid).numpy()).reshape(200, 200)
  samples = model.sample(config.num_samples, seed=config.seed
                         if seed is None else seed).numpy()
  buffer = io.BytesIO()
  pictures.scatter_png([("data", data.test[0][:config.num_samples]),
                        ("learned density", density), ("samples", samples)],
                       buffer, title=title)
  return np.asarray(Image.open(buffer).convert("RGB"))


def op_error_line(error: tf.errors.OpError) -> str:
  """A TensorFlow op error (e.g. a write to a full disk) as one line,
  without the op's internal names."""
  text = (error.message.strip().splitlines() or [type(error).__name__])[0]
  text = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", text)
  return re.sub(r"\s*\[Op:\w+\]$", "", text)


_OWN = tuple(os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), package) for package in ("trainers",
                                                          "maf_tf",
                                                          "configs"))


def _own_or_serious(record: logging.LogRecord) -> bool:
  return record.levelno >= logging.ERROR or record.pathname.startswith(_OWN)


def quiet_logs(verbose: bool) -> None:
  """Unless verbose, the log shows this project's lines and other
  libraries' errors only (TensorFlow's and tfds's info and warnings, such
  as SavedModel fingerprints or tfds's dataset_info notes, are left out),
  and Keras's warning that a tf.data input is not shuffled by fit()."""
  if verbose:
    return
  logging.getLogger("absl").addFilter(_own_or_serious)
  logging.getLogger("tensorflow").setLevel(logging.ERROR)
  warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
