"""trainers.pictures: sample grids of images, and of 2-D and tabular
samples beside the data."""

import numpy as np
import pytest
import tensorflow as tf

from maf_tf import MAF, build_flow
from maf_tf.data import DatasetDescription
from maf_tf.pixel_flows import to_uint8
from trainers import pictures


def test_a_picture_of_image_samples_is_the_samples_in_a_grid():
  flow = build_flow(DatasetDescription("digits", "image", 64, (8, 8, 1), 3,
                                       0.05), conditional=True, num_layers=1,
                    hidden_units=[16])
  picture = pictures.samples_picture(flow, 6, seed=4)
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
