"""One dataset description from the data to the model, the model keeping
what it needs."""

import numpy as np
import pytest
import tensorflow as tf

from configs.build import build_model, load_data
from configs.presets import PRESETS
from maf_tf import IAF, MAF, PixelMAF, build_flow
from maf_tf.data import (DatasetDescription, describe_arrays, image_spec,
                         load_dataset)
from maf_tf.made import MaskedDense, frozen_kernels, masked_kernel_copies
from trainers import pictures


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


def test_models_are_built_from_the_description_and_keep_it():
  data = load_data(PRESETS["digits"].replace(conditional=True))
  flow = build_model(PRESETS["digits"].replace(conditional=True),
                     data.description)
  assert isinstance(flow, PixelMAF)
  assert (flow.event_size, flow.image_shape, flow.context_size,
          flow.alpha) == (64, (8, 8, 1), 10, 0.05)
  restored = PixelMAF.from_config(flow.get_config())
  assert restored.image_shape == (8, 8, 1)
  toy = build_flow(DatasetDescription("two_moons", "toy", 2), num_layers=1,
                   hidden_units=[4])
  assert type(toy) is MAF and toy.image_shape is None


def test_frozen_kernels_are_the_layers_own_state_for_the_block():
  flow = MAF(event_size=3, num_layers=1, hidden_units=[5])
  layer = flow.mades[0].hidden[0]
  copies = masked_kernel_copies(flow)
  assert set(copies) == {l for l in flow._flatten_layers()
                         if isinstance(l, MaskedDense)}
  with frozen_kernels(copies):
    assert layer.masked_kernel() is copies[layer]
  assert layer.masked_kernel() is not copies[layer]
  np.testing.assert_array_equal(layer.masked_kernel(), copies[layer])
  assert len(flow.weights) == len(MAF(event_size=3, num_layers=1,
                                      hidden_units=[5]).weights)


def test_iaf_checks_the_sampler_it_does_not_need():
  flow = IAF(event_size=2, num_layers=1, hidden_units=[4])
  assert flow.sample(2, seed=1, sampler="naive").shape == (2, 2)
  with pytest.raises(ValueError, match="sampler must be one of 'fast', 'naive'"):
    flow.sample(2, sampler="quick")


def test_a_picture_of_image_samples_is_the_samples_in_a_grid():
  flow = build_flow(DatasetDescription("digits", "image", 64, (8, 8, 1), 3,
                                       0.05), conditional=True, num_layers=1,
                    hidden_units=[16])
  picture = pictures.samples_picture(flow, 6, seed=4)
  from maf_tf.pixel_flows import to_uint8
  samples = flow.sample(6, tf.one_hot(np.arange(6) % 3, 3), seed=4)
  images = to_uint8(samples).numpy().reshape(6, 8, 8, 1)
  cell = pictures.MIN_CELL  # 8x8 pixels enlarged 7 times
  assert picture.shape == (2 * (cell + 1) + 1, 3 * (cell + 1) + 1, 1)
  for index, image in enumerate(images):  # one column per label
    row, column = divmod(index, 3)
    top, left = 1 + row * (cell + 1), 1 + column * (cell + 1)
    np.testing.assert_array_equal(
        picture[top:top + cell:7, left:left + cell:7], image)


def assert_panels_drawn(picture, count):
  """Each of `count` side-by-side panels draws something: more colours
  than the white page and the axes."""
  panels = np.array_split(picture[40:-20], count, axis=1)
  assert all(len(np.unique(panel.reshape(-1, 3), axis=0)) > 20
             for panel in panels)


def test_a_picture_of_2d_samples_shows_data_density_and_samples():
  flow = build_flow(DatasetDescription("two_moons", "toy", 2), num_layers=1,
                    hidden_units=[4])
  points = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
  picture = pictures.samples_picture(flow, 50, seed=1, title="moons",
                                     points=points)
  assert picture.ndim == 3 and picture.shape[1] > 2 * picture.shape[0]
  assert_panels_drawn(picture, 3)
  with pytest.raises(ValueError, match="event size 3 needs data points"):
    pictures.samples_picture(MAF(event_size=3, num_layers=1,
                                 hidden_units=[4]), 5, seed=1)


def test_a_picture_of_tabular_samples_is_marginals_of_data_and_samples():
  flow = MAF(event_size=9, num_layers=1, hidden_units=[4], context_size=3)
  points = np.random.default_rng(0).normal(size=(100, 9)).astype(np.float32)
  picture = pictures.samples_picture(flow, 60, seed=1, title="wine",
                                     points=points)
  # Six panels side by side (dimensions 0-4 and the last).
  assert picture.ndim == 3 and picture.shape[1] > 4 * picture.shape[0]
  assert_panels_drawn(picture, 6)
