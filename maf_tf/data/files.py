"""Readers of the published offline formats; nothing is ever unpickled.

  * IDX (MNIST, Fashion-MNIST): train-images-idx3-ubyte[.gz],
    train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
    t10k-labels-idx1-ubyte[.gz]. Big-endian header: magic 0x00000803
    (images) or 0x00000801 (labels), then one uint32 per dimension.
  * CIFAR-10 binary: data_batch_1.bin .. data_batch_5.bin, test_batch.bin;
    records of 1 label byte + 3072 bytes (R, G, B planes of 32x32).
  * NumPy: <dataset>.npz with x_train, y_train, x_test, y_test (the
    keras.datasets layout), or the four arrays as x_train.npy, ... .

Every reader returns {'train': (images, labels), 'test': (images, labels)}
with uint8 images [N, H, W, C] and int64 labels [N].
"""

import gzip
import math
import os
import zipfile
from typing import Dict, Tuple

import numpy as np

from maf_tf.data.specs import DataError, ImageSpec

__all__ = ["read_idx", "read_idx_dataset", "read_cifar10_binary",
           "read_numpy_dataset", "load_array", "check_images"]

Arrays = Tuple[np.ndarray, np.ndarray]
IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # by number of dimensions
NPZ_MEMBERS = ("x_train", "y_train", "x_test", "y_test")
CIFAR_RECORD = 1 + 32 * 32 * 3
MAX_IDX_BYTES = 1 << 30  # the published MNIST training images are 47 MB
MAX_ARRAY_BYTES = 1 << 32  # one array of a .npz (CIFAR-10's: 150 MB)


def _require_dir(directory: str) -> None:
  if not directory or not os.path.isdir(directory):
    raise DataError(f"data directory {directory!r} does not exist")


def _find(directory: str, name: str) -> str:
  for candidate in (name, name + ".gz"):
    path = os.path.join(directory, candidate)
    if os.path.isfile(path):
      return path
  raise DataError(f"missing file {name}[.gz] in {directory}")


def read_idx(path: str, ndim: int,
             max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
  """An IDX file of unsigned bytes with `ndim` dimensions (gzip or not).

  The header is checked before the data is read, and no more than the
  header announces (plus one byte, to tell a file that is too long) is
  ever read or decompressed: a header claiming more than `max_bytes`, or
  a gzip file that inflates past its header's size, is an error, not a
  memory blow-up.
  """
  opener = gzip.open if path.endswith(".gz") else open
  header = 4 + 4 * ndim
  try:
    with opener(path, "rb") as stream:
      head = stream.read(header)
      if len(head) < header:
        raise DataError(f"{path} is truncated: {len(head)} bytes, expected "
                        f"an IDX header of {header}")
      magic = int.from_bytes(head[:4], "big")
      if magic != IDX_MAGIC[ndim]:
        raise DataError(f"{path} has IDX magic number 0x{magic:08x}; "
                        f"expected 0x{IDX_MAGIC[ndim]:08x}")
      shape = tuple(int.from_bytes(head[4 + 4 * i:8 + 4 * i], "big")
                    for i in range(ndim))
      size = math.prod(shape)  # Python ints: 2^64 does not wrap to 0
      if size > max_bytes:
        raise DataError(f"{path} claims shape {shape} ({size} bytes), more "
                        f"than the {max_bytes} an IDX file may hold")
      data = stream.read(size + 1)
  except (OSError, EOFError) as error:
    raise DataError(f"cannot read {path}: {error}") from None
  if len(data) != size:
    raise DataError(f"{path} is truncated or too long: "
                    f"{header + len(data)}{'+' if len(data) > size else ''} "
                    f"bytes, expected {header + size} for shape {shape}")
  return np.frombuffer(data, np.uint8).reshape(shape)


# The first ten train and test labels of the published IDX files: the two
# datasets share a format, so these tell one from the other.
IDX_FINGERPRINTS = {
    "mnist": ((5, 0, 4, 1, 9, 2, 1, 3, 1, 4), (7, 2, 1, 0, 4, 1, 4, 9, 5, 9)),
    "fashion_mnist": ((9, 0, 0, 3, 0, 2, 7, 2, 5, 5),
                      (9, 2, 1, 1, 6, 1, 4, 6, 5, 7)),
}


def read_idx_dataset(directory: str, spec: ImageSpec) -> Dict[str, Arrays]:
  """MNIST or Fashion-MNIST from the four IDX files in `directory`;
  DataError if they are the published files of the other one."""
  _require_dir(directory)
  splits = {}
  for split, prefix in (("train", "train"), ("test", "t10k")):
    images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"), 3)
    labels = read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte"), 1)
    splits[split] = check_images(images, labels, spec, f"{prefix} IDX files")
  heads = tuple(tuple(int(v) for v in splits[split][1][:10])
                for split in ("train", "test"))
  for name, fingerprint in IDX_FINGERPRINTS.items():
    if name != spec.name and heads == fingerprint:
      raise DataError(f"the IDX files in {directory} are {name}'s (their "
                      f"labels begin as {name}'s do), not {spec.name}'s; "
                      f"train them with --dataset={name}")
  return splits


def read_cifar10_binary(directory: str, spec: ImageSpec) -> Dict[str, Arrays]:
  """CIFAR-10 from the binary version (`directory` or its
  cifar-10-batches-bin subdirectory)."""
  _require_dir(directory)
  nested = os.path.join(directory, "cifar-10-batches-bin")
  if os.path.isdir(nested):
    directory = nested
  files = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)],
           "test": ["test_batch.bin"]}
  splits = {}
  for split, names in files.items():
    records = []
    for name in names:
      path = _find(directory, name)
      with open(path, "rb") as stream:
        data = stream.read()
      if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DataError(f"{path} is truncated: {len(data)} bytes is not a "
                        f"multiple of the {CIFAR_RECORD}-byte record")
      records.append(np.frombuffer(data, np.uint8).reshape(-1, CIFAR_RECORD))
    records = np.concatenate(records)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    splits[split] = check_images(images, records[:, 0], spec,
                                 f"CIFAR-10 {split} batches")
  return splits


def read_numpy_dataset(path: str, spec: ImageSpec) -> Dict[str, Arrays]:
  """x_train, y_train, x_test, y_test from a .npz file, a directory holding
  <dataset>.npz, or a directory of the four .npy files."""
  if os.path.isdir(path):
    archive = os.path.join(path, f"{spec.name}.npz")
    if os.path.isfile(archive):
      path = archive
    else:
      arrays = {key: load_array(_find(path, key + ".npy"))
                for key in ("x_train", "y_train", "x_test", "y_test")}
      return _numpy_splits(arrays, spec, path)
  if not os.path.isfile(path):
    raise DataError(f"no .npz file or directory at {path!r}")
  check_npz_headers(path)
  try:
    with np.load(path, allow_pickle=False) as archive:
      missing = set(NPZ_MEMBERS) - set(archive)
      if missing:
        raise DataError(f"{path} lacks arrays {sorted(missing)}; expected "
                        "x_train, y_train, x_test, y_test")
      arrays = {key: archive[key] for key in NPZ_MEMBERS}  # no other
  except (OSError, ValueError) as error:
    if isinstance(error, DataError):
      raise
    raise DataError(f"cannot read {path} as .npz: {error}") from None
  return _numpy_splits(arrays, spec, path)


def load_array(path: str) -> np.ndarray:
  """A .npy file, mapped before it is copied: a header that claims more
  data than the file holds fails to map instead of allocating its claim."""
  try:
    return np.array(np.load(path, mmap_mode="r", allow_pickle=False))
  except (OSError, ValueError) as error:
    raise DataError(f"cannot read {path} as .npy: {error}") from None


def check_npz_headers(path: str, members=NPZ_MEMBERS,
                      limit: int = MAX_ARRAY_BYTES) -> None:
  """Reads only the .npy header of each array read from a .npz (those
  named in `members`, default the four of NPZ_MEMBERS; None: all) and
  checks that it claims no more bytes than its member holds (at most
  `limit`), so a forged header is a DataError, not an allocation of its
  claim."""
  try:
    with zipfile.ZipFile(path) as archive:
      for info in archive.infolist():
        if members is not None and info.filename not in {
            f"{key}.npy" for key in members}:
          continue  # never read
        with archive.open(info) as member:
          version = np.lib.format.read_magic(member)
          read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
          shape, _, dtype = read(member)
        claimed = math.prod(shape) * dtype.itemsize  # no wraparound
        if claimed > min(info.file_size, limit):
          raise DataError(f"{path}: {info.filename} claims shape "
                          f"{tuple(shape)} ({claimed} bytes) but holds "
                          f"{info.file_size} bytes")
  except (OSError, ValueError, zipfile.BadZipFile) as error:
    if isinstance(error, DataError):
      raise
    raise DataError(f"cannot read {path} as .npz: {error}") from None


def _numpy_splits(arrays, spec, where) -> Dict[str, Arrays]:
  return {split: check_images(arrays[f"x_{split}"], arrays[f"y_{split}"],
                              spec, f"{split} arrays of {where}")
          for split in ("train", "test")}


def _check_integral(labels: np.ndarray, expected: str) -> None:
  """DataError unless labels are integers: an integer dtype, or floats
  that are all finite whole numbers (no NaN, no fractions, no strings)."""
  if np.issubdtype(labels.dtype, np.integer) and labels.dtype != np.bool_:
    return
  if np.issubdtype(labels.dtype, np.floating):
    finite = np.isfinite(labels)
    if finite.all() and (labels == np.round(labels)).all():
      return
    raise DataError(f"{expected}; got {labels.dtype} with "
                    + ("NaN or infinite values" if not finite.all()
                       else "fractions"))
  raise DataError(f"{expected}; got dtype {labels.dtype}")


def check_images(images: np.ndarray, labels: np.ndarray, spec: ImageSpec,
                 what: str) -> Arrays:
  """Images as uint8 [N, H, W, C] matching `spec`, labels as int64 [N]."""
  images = np.asarray(images)
  labels = np.asarray(labels).reshape(-1)
  height, width, channels = spec.shape
  if images.ndim == 3 and channels == 1:
    images = images[..., None]
  if images.ndim != 4 or images.shape[1:] != spec.shape:
    raise DataError(f"{what}: images of shape {list(images.shape)} do not "
                    f"match {spec.name}; expected [N, {height}, {width}, "
                    f"{channels}]")
  if images.dtype != np.uint8:
    if not np.issubdtype(images.dtype, np.integer) or images.size and (
        images.min() < 0 or images.max() > 255):
      raise DataError(f"{what}: images must be 8-bit integers 0..255; got "
                      f"dtype {images.dtype}")
    images = images.astype(np.uint8)
  if len(labels) != len(images):
    raise DataError(f"{what}: {len(labels)} labels for {len(images)} images")
  _check_integral(labels, f"{what}: labels must be integers 0.."
                  f"{spec.num_classes - 1}")
  if labels.size and (labels.min() < 0 or labels.max() >= spec.num_classes):
    raise DataError(f"{what}: labels must be in 0..{spec.num_classes - 1}; "
                    f"got {labels.min()}..{labels.max()}")
  return images, labels.astype(np.int64)
