"""Image sources, splits and the tf.data pipeline, on files the tests write
in the official layouts (and tfds mock data)."""

import gzip
import io
import os
import re
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from maf_tf import PixelMAF, build_flow
from maf_tf.data import (DataError, DatasetDescription, describe_arrays,
                         evaluation_dataset, image_spec, load_dataset,
                         load_splits, steps_per_epoch, training_dataset)
from maf_tf.data import files, sources

RNG = np.random.default_rng(0)


def write_idx(path, array, compress):
  """An IDX file exactly as published: magic, big-endian dims, bytes."""
  magic = 0x00000800 | array.ndim
  payload = magic.to_bytes(4, "big") + b"".join(
      d.to_bytes(4, "big") for d in array.shape) + array.tobytes()
  with (gzip.open if compress else open)(path, "wb") as stream:
    stream.write(payload)


@pytest.fixture
def idx_dir(tmp_path):
  """A tiny MNIST in IDX files: 30 training and 8 test images."""
  arrays = {}
  for prefix, count in (("train", 30), ("t10k", 8)):
    images = RNG.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 10, count, dtype=np.uint8)
    write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images, True)
    write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels, False)
    arrays[prefix] = (images, labels)
  return tmp_path, arrays


def write_cifar_batches(directory, counts, rng=RNG):
  """CIFAR-10 binary batches: per record a label byte, then R, G, B planes."""
  os.makedirs(directory, exist_ok=True)
  names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
  records = {}
  for name, count in zip(names, counts):
    record = rng.integers(0, 256, (count, 3073), dtype=np.uint8)
    record[:, 0] %= 10
    record.tofile(os.path.join(directory, name))
    records[name] = record
  return records


def test_idx_files_read_back_exactly(idx_dir):
  directory, arrays = idx_dir
  raw = files.read_idx_dataset(str(directory), image_spec("mnist"))
  np.testing.assert_array_equal(raw["train"][0][..., 0], arrays["train"][0])
  np.testing.assert_array_equal(raw["test"][1], arrays["t10k"][1])
  assert raw["train"][0].shape == (30, 28, 28, 1)


@pytest.mark.parametrize("files_of, offered_as", [
    ("fashion_mnist", "mnist"), ("mnist", "fashion_mnist")])
def test_idx_files_of_the_other_dataset_are_refused(tmp_path, files_of,
                                                    offered_as):
  """The published files' first labels tell MNIST from Fashion-MNIST."""
  for prefix, head in zip(("train", "t10k"),
                          files.IDX_FINGERPRINTS[files_of]):
    labels = np.array(head + (1, 2), np.uint8)
    write_idx(tmp_path / f"{prefix}-images-idx3-ubyte",
              np.zeros((12, 28, 28), np.uint8), False)
    write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels, False)
  with pytest.raises(DataError, match=f"--dataset={files_of}$"):
    files.read_idx_dataset(str(tmp_path), image_spec(offered_as))
  assert len(files.read_idx_dataset(str(tmp_path), image_spec(files_of))[
      "train"][0]) == 12


def test_idx_splits_take_validation_from_the_end(idx_dir):
  directory, arrays = idx_dir
  splits = load_splits("mnist", "idx", str(directory), validation_size=10)
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [20, 10, 8]
  np.testing.assert_array_equal(splits.validation[0][..., 0],
                                arrays["train"][0][20:])


def test_cifar_binary_records_become_hwc_images(tmp_path):
  records = write_cifar_batches(tmp_path / "cifar-10-batches-bin",
                                [4, 4, 4, 4, 4, 3])
  splits = load_splits("cifar10", "cifar_binary", str(tmp_path),
                       validation_size=2)
  first = records["data_batch_1.bin"][0]
  image = splits.train[0][0]
  assert image.shape == (32, 32, 3)
  # Pixel (row 1, column 2): offset 32 + 2 in each of the R, G, B planes.
  assert list(image[1, 2]) == [first[1 + 34], first[1 + 1024 + 34],
                               first[1 + 2048 + 34]]
  assert splits.train[1][0] == first[0]
  assert [len(s[1]) for s in (splits.train, splits.validation,
                              splits.test)] == [18, 2, 3]


@pytest.mark.parametrize("labels, message", [
    (np.array([0.0, np.nan, 2.0]), "got float64 with NaN or infinite values"),
    (np.array([0.0, 1.5, 2.0]), "got float64 with fractions"),
    (np.array(["0", "1", "2"]), "got dtype <U1"),
    (np.array([True, False, True]), "got dtype bool")])
def test_labels_that_are_not_integers_are_refused(tmp_path, labels, message):
  archive = tmp_path / "mnist.npz"
  np.savez(archive, x_train=np.zeros((3, 28, 28), np.uint8), y_train=labels,
           x_test=np.zeros((3, 28, 28), np.uint8), y_test=np.arange(3))
  with pytest.raises(DataError, match="labels must be integers 0..9; "
                     + re.escape(message)):
    load_splits("mnist", "numpy", str(archive), validation_size=1)
  # Whole numbers stored as floats are labels.
  np.savez(archive, x_train=np.zeros((3, 28, 28), np.uint8),
           y_train=np.array([0.0, 9.0, 2.0]),
           x_test=np.zeros((3, 28, 28), np.uint8), y_test=np.arange(3))
  splits = load_splits("mnist", "numpy", str(archive), validation_size=1)
  assert splits.train[1].dtype == np.int64


def test_paper_split_sizes_for_full_sized_files(tmp_path):
  mnist = tmp_path / "mnist.npz"
  np.savez(mnist, x_train=np.zeros((60000, 28, 28), np.uint8),
           y_train=np.zeros(60000, np.uint8),
           x_test=np.zeros((10000, 28, 28), np.uint8),
           y_test=np.zeros(10000, np.uint8))
  splits = load_splits("mnist", "numpy", str(mnist))
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [50000, 10000, 10000]
  write_cifar_batches(tmp_path / "cifar", [10000] * 6)
  splits = load_splits("cifar10", "cifar_binary", str(tmp_path / "cifar"))
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [45000, 5000, 10000]
  assert steps_per_epoch(45000, 100, flips=True) == 900


def test_numpy_directory_of_npy_files(tmp_path):
  for split, count in (("train", 12), ("test", 5)):
    np.save(tmp_path / f"x_{split}.npy",
            RNG.integers(0, 256, (count, 28, 28, 1), dtype=np.uint8))
    np.save(tmp_path / f"y_{split}.npy", np.arange(count) % 10)
  splits = load_splits("fashion_mnist", "numpy", str(tmp_path),
                       validation_size=2)
  assert len(splits.train[0]) == 10 and len(splits.test[0]) == 5


def _forged_npy(shape) -> bytes:
  """A .npy header claiming `shape` (uint8) followed by 10 bytes."""
  stream = io.BytesIO()
  np.lib.format.write_array_header_1_0(
      stream, {"descr": "|u1", "fortran_order": False, "shape": shape})
  return stream.getvalue() + bytes(10)


def test_forged_numpy_headers_are_one_line_errors(tmp_path):
  archive = tmp_path / "mnist.npz"
  with zipfile.ZipFile(archive, "w") as zipped:
    zipped.writestr("x_train.npy", _forged_npy((10**6, 1000, 1000)))
    for key in ("y_train", "x_test", "y_test"):
      buffer = io.BytesIO()
      np.save(buffer, np.zeros(3, np.uint8))
      zipped.writestr(f"{key}.npy", buffer.getvalue())
  with pytest.raises(DataError, match=r"x_train\.npy claims shape "
                     r"\(1000000, 1000, 1000\) \(1000000000000 bytes\)"):
    load_splits("mnist", "numpy", str(archive))
  folder = tmp_path / "arrays"
  folder.mkdir()
  (folder / "x_train.npy").write_bytes(_forged_npy((10**6, 1000, 1000)))
  with pytest.raises(DataError, match=r"cannot read .*x_train\.npy as \.npy"):
    load_splits("mnist", "numpy", str(folder))


def test_an_npz_member_that_is_not_needed_is_never_read(tmp_path):
  """Only x_train, y_train, x_test and y_test are opened: an extra member
  (here a header claiming 10^12 bytes) is not even looked at."""
  archive = tmp_path / "mnist.npz"
  with zipfile.ZipFile(archive, "w") as zipped:
    zipped.writestr("junk.npy", _forged_npy((10**6, 1000, 1000)))
    for key, array in (("x_train", np.zeros((3, 28, 28), np.uint8)),
                       ("y_train", np.arange(3)),
                       ("x_test", np.zeros((2, 28, 28), np.uint8)),
                       ("y_test", np.arange(2))):
      buffer = io.BytesIO()
      np.save(buffer, array)
      zipped.writestr(f"{key}.npy", buffer.getvalue())
  splits = load_splits("mnist", "numpy", str(archive), validation_size=1)
  assert len(splits.test[0]) == 2


def test_idx_dimensions_whose_product_is_2_to_the_64_do_not_wrap(tmp_path):
  path = tmp_path / "train-images-idx3-ubyte"
  path.write_bytes((0x00000803).to_bytes(4, "big") + b"".join(
      d.to_bytes(4, "big") for d in (2**22, 2**21, 2**21)))
  with pytest.raises(DataError, match=r"claims shape \(4194304, 2097152, "
                     r"2097152\) \(18446744073709551616 bytes\)"):
    files.read_idx(str(path), 3)


def test_sklearn_digits_are_real_8_bit_images():
  splits = load_splits("digits")
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [1257, 270, 270]
  assert splits.train[0].shape[1:] == (8, 8, 1)
  assert splits.train[0].dtype == np.uint8 and splits.train[0].max() == 255
  assert set(np.unique(splits.test[1])) == set(range(10))


def test_tfds_source_on_mock_data(monkeypatch, tmp_path):
  import tensorflow_datasets as tfds
  monkeypatch.setattr(sources, "can_reach_tfds_host", lambda: True)
  with tfds.testing.mock_data(num_examples=24):
    splits = load_splits("mnist", "tfds", str(tmp_path), validation_size=4)
  assert [len(s[0]) for s in (splits.train, splits.validation,
                              splits.test)] == [20, 4, 24]
  assert splits.train[0].shape[1:] == (28, 28, 1)
  assert splits.train[0].dtype == np.uint8


def test_tfds_without_network_fails_fast_naming_offline_options(monkeypatch,
                                                                tmp_path):
  monkeypatch.setattr(sources, "can_reach_tfds_host", lambda: False)
  with pytest.raises(DataError, match="no network.*offline, train "
                     "--dataset=digits .*make run DATASET=digits.*point "
                     "--data_dir .*--dataset=fashion_mnist --data_dir=") \
      as info:
    load_splits("cifar10", "tfds", str(tmp_path))
  assert "\n" not in str(info.value)


def test_the_source_is_found_from_the_files_in_data_dir(idx_dir, tmp_path):
  assert sources.default_source("mnist", str(idx_dir[0])) == "idx"
  write_cifar_batches(tmp_path / "cifar" / "cifar-10-batches-bin", [3] * 6)
  assert sources.default_source("cifar10", str(tmp_path / "cifar")) == "cifar_binary"
  np.savez(tmp_path / "mnist.npz", x=np.zeros(1))
  assert sources.default_source("mnist", str(tmp_path / "mnist.npz")) == "numpy"
  (tmp_path / "arrays").mkdir()
  np.save(tmp_path / "arrays" / "x_train.npy", np.zeros(1))
  assert sources.default_source("mnist", str(tmp_path / "arrays")) == "numpy"
  (tmp_path / "tfds").mkdir()
  assert sources.default_source("mnist", str(tmp_path / "tfds")) == "tfds"
  assert sources.default_source("mnist") == "tfds"
  assert sources.default_source("digits", str(idx_dir[0])) == "sklearn"
  splits = load_splits("mnist", data_dir=str(idx_dir[0]), validation_size=10)
  assert splits.train[0].shape[1:] == (28, 28, 1)


def _truncate(path):
  data = open(path, "rb").read()
  open(path, "wb").write(data[:len(data) - 7])


@pytest.mark.parametrize("damage, message", [
    (lambda d: d / "absent", r"does not exist"),
    (lambda d: (os.remove(d / "t10k-labels-idx1-ubyte"), d)[1],
     r"missing file t10k-labels-idx1-ubyte\[\.gz\]"),
    (lambda d: (_truncate(d / "t10k-labels-idx1-ubyte"), d)[1],
     r"truncated or too long: .* expected 16"),
    (lambda d: (write_idx(d / "train-images-idx3-ubyte.gz",
                          np.zeros((3, 28, 28), np.int32).view(np.uint8)
                          .reshape(3, 28, 112), True), d)[1],
     r"do not match mnist; expected \[N, 28, 28, 1\]"),
    (lambda d: (open(d / "t10k-labels-idx1-ubyte", "r+b").write(b"\0\0\x08\x03"),
                d)[1], r"magic number 0x00000803; expected 0x00000801"),
])
def test_bad_files_give_one_line_errors(idx_dir, damage, message):
  directory = damage(idx_dir[0])
  with pytest.raises(DataError, match=message) as info:
    load_splits("mnist", "idx", str(directory), validation_size=10)
  assert "\n" not in str(info.value)


def test_idx_headers_are_checked_before_the_data_is_read(tmp_path):
  huge = tmp_path / "huge-idx3-ubyte.gz"
  with gzip.open(huge, "wb") as stream:  # claims 10^12 bytes, holds none
    stream.write((0x803).to_bytes(4, "big") + (10**6).to_bytes(4, "big")
                 + (1000).to_bytes(4, "big") + (1000).to_bytes(4, "big"))
  with pytest.raises(DataError, match=r"claims shape \(1000000, 1000, 1000\)"
                     r" \(1000000000000 bytes\), more than the"):
    files.read_idx(str(huge), 3)
  bomb = tmp_path / "bomb-idx3-ubyte.gz"
  with gzip.open(bomb, "wb") as stream:  # 2 images, then 200 MB of zeros
    stream.write((0x803).to_bytes(4, "big") + (2).to_bytes(4, "big")
                 + (28).to_bytes(4, "big") + (28).to_bytes(4, "big"))
    zeros = bytes(1 << 20)
    for _ in range(200):
      stream.write(zeros)
  assert bomb.stat().st_size < 1 << 20
  with pytest.raises(DataError, match=r"truncated or too long: 1585\+ bytes, "
                     r"expected 1584 for shape \(2, 28, 28\)"):
    files.read_idx(str(bomb), 3)


def test_truncated_cifar_batch(tmp_path):
  write_cifar_batches(tmp_path, [3] * 6)
  _truncate(tmp_path / "test_batch.bin")
  with pytest.raises(DataError, match="not a multiple of the 3073-byte"):
    load_splits("cifar10", "cifar_binary", str(tmp_path), validation_size=2)


@pytest.mark.parametrize("args, message", [
    (("svhn",), r"unknown image dataset 'svhn'; expected one of"),
    (("mnist", "torrent"), r"unknown data source 'torrent'; expected one of"),
    (("mnist", "idx"), r"source 'idx' needs a data_dir"),
    (("cifar10", "idx", "/tmp"), r"IDX files hold mnist or fashion_mnist"),
    (("mnist", "sklearn"), r"provides only the dataset 'digits'"),
])
def test_bad_names_give_one_line_errors(args, message):
  with pytest.raises(DataError, match=message):
    load_splits(*args)


def _batches(dataset, count):
  return [tuple(t.numpy() for t in tf.nest.flatten(b))
          for b in dataset.take(count)]


def test_training_stream_is_seeded_dequantised_and_resumable():
  images = RNG.integers(0, 256, (10, 4, 4, 1), dtype=np.uint8)
  labels = np.arange(10) % 3
  make = lambda **kw: training_dataset(  # noqa: E731
      images, labels, batch_size=4, seed=7, num_classes=3, **kw)
  stream = _batches(make(), 6)  # 2 steps per epoch: three epochs
  again = _batches(make(), 6)
  for a, b in zip(stream, again):
    np.testing.assert_array_equal(a[0], b[0])
  x, context = stream[0]
  assert x.shape == (4, 16) and context.shape == (4, 3)
  # Each x is its image's value plus noise in [0, 1), over 256.
  source = [np.flatnonzero(np.all(np.floor(row * 256) == images.reshape(
      10, 16), axis=1)) for row in x]
  assert all(len(s) == 1 for s in source)
  np.testing.assert_array_equal(context.argmax(1),
                                labels[[s[0] for s in source]])
  # Epochs differ in order and noise; resuming mid-run continues exactly.
  assert not np.array_equal(stream[0][0], stream[2][0])
  resumed = _batches(make(start_epoch=1, skip_steps=1), 3)
  for a, b in zip(resumed, stream[3:]):
    np.testing.assert_array_equal(a[0], b[0])
  assert not np.array_equal(_batches(training_dataset(
      images, batch_size=4, seed=8), 1)[0][0], stream[0][0])


def test_flips_double_the_training_set_with_mirrored_images():
  images = RNG.integers(0, 256, (6, 2, 3, 1), dtype=np.uint8)
  batch = _batches(training_dataset(images, batch_size=12, seed=0,
                                    flips=True), 1)[0][0]
  values = np.floor(batch * 256).astype(np.uint8).reshape(12, 2, 3, 1)
  expected = np.concatenate([images, images[:, :, ::-1]])
  assert sorted(map(bytes, values)) == sorted(map(bytes, expected))


def test_evaluation_noise_is_fixed_whatever_the_batch_size():
  images = RNG.integers(0, 256, (7, 3, 3, 1), dtype=np.uint8)
  whole = np.concatenate([b[0] for b in _batches(
      evaluation_dataset(images, batch_size=7, seed=1), 1)])
  pieces = np.concatenate([b[0] for b in _batches(
      evaluation_dataset(images, batch_size=3, seed=1), 3)])
  np.testing.assert_array_equal(whole, pieces)
  np.testing.assert_array_equal(np.floor(whole * 256),
                                images.reshape(7, 9))


def test_an_evaluation_batch_never_exceeds_the_data():
  """--eval_batch_size=10**8 used to allocate a batch of 10^8 rows."""
  images = RNG.integers(0, 256, (7, 3, 3, 1), dtype=np.uint8)
  dataset = evaluation_dataset(images, batch_size=10**8, seed=1)
  assert dataset.element_spec.shape.as_list() == [None, 9]
  assert [b[0].shape for b in _batches(dataset, 2)] == [(7, 9)]


def test_float_data_passes_through_unchanged():
  points = RNG.normal(size=(8, 2)).astype(np.float32)
  batch = _batches(evaluation_dataset(points, batch_size=8, seed=0), 1)[0][0]
  np.testing.assert_array_equal(batch, points)
  with pytest.raises(DataError, match="larger than the 8 training"):
    training_dataset(points, batch_size=9, seed=0)


def test_images_toys_and_tables_are_described_alike():
  digits = load_dataset("digits")
  assert digits.description == DatasetDescription(
      "digits", "image", 64, (8, 8, 1), 10, 0.05)
  assert digits.train[0].shape[1:] == (8, 8, 1)
  assert load_dataset("digits", alpha=0.01).description.alpha == 0.01
  moons = load_dataset("two_moons", toy_size=100, seed=3)
  assert moons.description == DatasetDescription("two_moons", "toy", 2)
  assert [len(split[0]) for split in (moons.train, moons.validation,
                                      moons.test)] == [100, 10_000, 10_000]
  table = describe_arrays("wine", np.zeros((5, 13)), np.array([0, 2, 1, 0, 2]))
  assert (table.kind, table.event_size, table.num_classes) == ("tabular", 13, 3)
  assert table.context_size(conditional=True) == 3
  assert table.context_size(conditional=False) == 0


@pytest.mark.parametrize("call, message", [
    (lambda: load_dataset("imagenet"), "unknown dataset 'imagenet'; expected "
     "one of .*'mnist'.*'two_moons'"),
    (lambda: DatasetDescription("x", "audio", 3), "kind must be one of"),
    (lambda: DatasetDescription("x", "toy", 2, (1, 2, 1)),
     "image_shape is given for images and only for them"),
    (lambda: DatasetDescription.of_images(image_spec("mnist"), 0.5),
     r"alpha must be in \(0, 0.5\)"),
    (lambda: describe_arrays("x", np.zeros(3)), r"shape \[N, D\]"),
    (lambda: describe_arrays("x", np.zeros((3, 2)), np.array([0.5, 1, 2])),
     "labels must be 3 integers >= 0, one per row of x"),
    (lambda: describe_arrays("x", np.zeros((3, 2)), np.array([0, -1, 2])),
     "labels must be 3 integers >= 0"),
    (lambda: PixelMAF(event_size=6, alpha=0.05, image_shape=(2, 2, 1)),
     r"image_shape must be \(height, width, channels\) with 6 values"),
])
def test_bad_descriptions_name_what_was_expected(call, message):
  with pytest.raises(ValueError, match=message):
    call()


@pytest.mark.parametrize("call, message", [
    (lambda: describe_arrays("p", np.array([[1.0, np.nan]])),
     r"x holds NaN or infinite values in 1 of 1 rows"),
    (lambda: describe_arrays("p", np.array([["a", "b"]])),
     "x must hold real numbers; got dtype <U1"),
    (lambda: describe_arrays("p", np.zeros((0, 2))),
     r"x must have shape \[N, D\] with N, D >= 1; got \[0, 2\]"),
    (lambda: describe_arrays("../x", np.zeros((2, 2))),
     "name must be a plain name"),
    (lambda: load_dataset("two_moons", data_dir="/tmp"),
     "data_dir does not apply to the toy 'two_moons'"),
    (lambda: build_flow(None), "build_flow needs a maf_tf.data."
     "DatasetDescription"),
])
def test_describing_data_refuses_what_no_model_can_fit(call, message):
  """Each was accepted: NaN, strings and empty arrays described, a toy's
  data_dir ignored, build_flow(None) an AttributeError."""
  with pytest.raises((ValueError, TypeError), match=message):
    call()
