"""Image datasets from tensorflow-datasets or offline files, in the paper's
splits.

`load_splits(name, source, data_dir)` returns train / validation / test as
uint8 arrays. The validation set is the end of the training set (MNIST:
last 10k of 60k; CIFAR-10: last 5k of 50k, i.e. the last 10% of the
training batches), so the splits are deterministic.

Sources:
  'tfds'         tensorflow-datasets (mnist, fashion_mnist, cifar10);
                 data_dir may hold a prepared tfds directory.
  'idx'          the four IDX files of MNIST / Fashion-MNIST in data_dir.
  'cifar_binary' the CIFAR-10 binary batches in data_dir.
  'numpy'        a .npz (or directory of .npy) with x_train, y_train,
                 x_test, y_test.
  'sklearn'      scikit-learn's bundled 8x8 digits (dataset 'digits'):
                 real images with no download at all.
"""

import dataclasses
import os
import socket
from typing import Dict, Optional, Tuple

import numpy as np

from maf_tf.data import files
from maf_tf.data.specs import (DataError, DatasetDescription, ImageSpec,
                               image_spec)

__all__ = ["Splits", "SOURCES", "load_splits", "default_source"]

Arrays = Tuple[np.ndarray, np.ndarray]
SOURCES = ("tfds", "idx", "cifar_binary", "numpy", "sklearn")
TFDS_HOST = ("storage.googleapis.com", 443)
OFFLINE_HINT = (  # in flags, which `make run` passes as ARGS="..."
    "offline, train --dataset=digits (scikit-learn's, no download; make "
    "run DATASET=digits), or point --data_dir (Python: data_dir=) at the "
    "dataset's files: the four IDX *-ubyte[.gz] files (MNIST, "
    "Fashion-MNIST), CIFAR-10's data_batch_*.bin, or an .npz; e.g. "
    "--dataset=fashion_mnist --data_dir=/usr/share/datasets/fashion-mnist "
    "(Debian's dataset-fashion-mnist)")


@dataclasses.dataclass
class Splits:
  """Train / validation / test arrays (x, labels) of one dataset and its
  description: images uint8 [N, H, W, C] with int64 labels [N]; 2-D toys
  float32 [N, 2] with labels None."""
  description: DatasetDescription
  train: Arrays
  validation: Arrays
  test: Arrays

  @property
  def spec(self) -> ImageSpec:
    """The image dataset's spec (DataError for other kinds)."""
    return image_spec(self.description.name)


def default_source(name: str, data_dir: Optional[str] = None) -> str:
  """'sklearn' for digits; else the source whose files data_dir holds
  (IDX, CIFAR-10 binary or NumPy), or 'tfds'."""
  if name == "digits":
    return "sklearn"
  if data_dir and os.path.isfile(data_dir) and data_dir.endswith(".npz"):
    return "numpy"
  if not data_dir or not os.path.isdir(data_dir):
    return "tfds"
  names = set(os.listdir(data_dir))
  nested = os.path.join(data_dir, "cifar-10-batches-bin")
  if os.path.isdir(nested):
    names |= set(os.listdir(nested))
  if any(n.endswith(("-ubyte", "-ubyte.gz")) for n in names):
    return "idx"
  if "test_batch.bin" in names:
    return "cifar_binary"
  if any(n.endswith((".npz", ".npy")) for n in names):
    return "numpy"
  return "tfds"


def load_splits(name: str, source: Optional[str] = None,
                data_dir: Optional[str] = None, download: bool = True,
                validation_size: Optional[int] = None) -> Splits:
  """The paper's train / validation / test split of an image dataset.

  Args:
    name: 'mnist', 'fashion_mnist', 'cifar10' or 'digits'.
    source: one of SOURCES; default: the one whose files data_dir holds,
      else 'tfds' ('sklearn' for digits).
    data_dir: directory (or .npz file) for the offline sources; tfds
      data_dir for 'tfds'.
    download: whether tfds may download a dataset it has not prepared.
    validation_size: images at the end of the training set kept for
      validation (default: the dataset's, e.g. 10000 for MNIST).

  Raises:
    DataError: unknown dataset or source, missing or corrupt files, no
      network for a tfds download, images that do not match the dataset.
  """
  spec = image_spec(name)
  source = source or default_source(name, data_dir)
  raw = _read(spec, source, data_dir, download)
  size = spec.validation_size if validation_size is None else validation_size
  images, labels = raw["train"]
  if not 0 < size < len(images):
    raise DataError(f"{name}: a validation set of {size} needs more than "
                    f"{size} training images; got {len(images)}")
  cut = len(images) - size
  return Splits(DatasetDescription.of_images(spec),
                (images[:cut], labels[:cut]),
                (images[cut:], labels[cut:]), raw["test"])


def _read(spec: ImageSpec, source: str, data_dir: Optional[str],
          download: bool) -> Dict[str, Arrays]:
  if source not in SOURCES:
    raise DataError(f"unknown data source {source!r}; expected one of "
                    f"{list(SOURCES)}")
  if source == "sklearn":
    if spec.name != "digits":
      raise DataError(f"source 'sklearn' provides only the dataset 'digits'; "
                      f"got {spec.name!r}")
    return _sklearn_digits(spec)
  if spec.name == "digits":
    raise DataError("the dataset 'digits' comes only from source 'sklearn'; "
                    f"got {source!r}")
  if source == "tfds":
    return _tfds(spec, data_dir, download)
  if data_dir is None:
    raise DataError(f"source {source!r} needs a data_dir; got none")
  if source == "idx":
    if spec.name not in ("mnist", "fashion_mnist"):
      raise DataError(f"IDX files hold mnist or fashion_mnist; got "
                      f"{spec.name!r}")
    return files.read_idx_dataset(data_dir, spec)
  if source == "cifar_binary":
    if spec.name != "cifar10":
      raise DataError(f"CIFAR binary files hold cifar10; got {spec.name!r}")
    return files.read_cifar10_binary(data_dir, spec)
  return files.read_numpy_dataset(data_dir, spec)


def _sklearn_digits(spec: ImageSpec) -> Dict[str, Arrays]:
  """scikit-learn's 8x8 digits (values 0..16) scaled to 0..255, in a fixed
  shuffled order: the last 270 are the test set."""
  from sklearn.datasets import load_digits  # only this source needs it
  digits = load_digits()
  images = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)
  order = np.random.default_rng(0).permutation(len(images))
  images, labels = images[order], digits.target[order]
  test = len(images) - 270
  return {"train": files.check_images(images[:test], labels[:test], spec,
                                      "digits"),
          "test": files.check_images(images[test:], labels[test:], spec,
                                     "digits")}


def can_reach_tfds_host(timeout: float = 5.0) -> bool:
  """Whether the tfds download host answers (fails fast with no network)."""
  try:
    socket.create_connection(TFDS_HOST, timeout=timeout).close()
    return True
  except OSError:
    return False


def _tfds(spec: ImageSpec, data_dir: Optional[str],
          download: bool) -> Dict[str, Arrays]:
  import tensorflow_datasets as tfds  # slow to import; only this source
  builder = tfds.builder(spec.tfds_name, data_dir=data_dir)
  if not builder.is_prepared():
    if not download:
      raise DataError(f"{spec.name} is not prepared in tfds data_dir "
                      f"{data_dir or tfds.core.constants.DATA_DIR!r} and "
                      f"download is off; {OFFLINE_HINT}")
    if not can_reach_tfds_host():
      raise DataError(f"tensorflow-datasets cannot download {spec.name}: no "
                      f"network ({TFDS_HOST[0]} unreachable); {OFFLINE_HINT}")
    builder.download_and_prepare()
  splits = {}
  for split in ("train", "test"):
    batches = tfds.as_numpy(builder.as_dataset(
        split=split, as_supervised=True, shuffle_files=False,
        batch_size=10_000))
    images, labels = zip(*batches)
    splits[split] = files.check_images(np.concatenate(images),
                                       np.concatenate(labels), spec,
                                       f"tfds {spec.name} {split}")
  return splits
