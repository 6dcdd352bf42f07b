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
  picture = pictures.samples_picture(flow, 5, seed=4)  # 2 whole rows: 6
  samples = flow.sample(6, tf.one_hot(np.arange(6) % 3, 3), seed=4)
  images = to_uint8(samples).numpy().reshape(6, 8, 8, 1)
  cell, header = pictures.MIN_CELL, pictures.LINE  # 8x8 enlarged 7 times
  assert picture.shape == (header + 2 * (cell + 1) + 1, 3 * (cell + 1) + 1,
                           3)
  for index, image in enumerate(images):  # one column per label
    row, column = divmod(index, 3)
    top, left = header + 1 + row * (cell + 1), 1 + column * (cell + 1)
    for channel in range(3):
      np.testing.assert_array_equal(
          picture[top:top + cell:7, left:left + cell:7, channel:channel + 1],
          image)
  assert (picture[:header] < 128).any()  # the column labels


def test_an_unconditional_picture_of_image_samples_has_no_labels():
  flow = build_flow(DatasetDescription("digits", "image", 64, (8, 8, 1), 0,
                                       0.05), num_layers=1, hidden_units=[8])
  cell = pictures.MIN_CELL
  picture = pictures.samples_picture(flow, 4, seed=4)
  assert picture.shape == (2 * (cell + 1) + 1, 2 * (cell + 1) + 1, 1)


def test_a_labelled_grid_widens_cells_to_fit_captions_and_headers():
  images = np.zeros((3, 10, 10, 1), np.uint8)
  caption = "#12345\n-1234.56 nats"
  grid = pictures.labelled_grid(images, 2, captions=[caption] * 3,
                                headers=["left", "right"])
  text_width = pictures._text_width(pictures._font(), caption)
  cell_width = (grid.shape[1] - 1) // 2 - 1
  assert cell_width >= text_width > 10
  line = pictures.LINE  # a header band, then two rows of image + 2 lines
  assert grid.shape[0] == line + 2 * (10 + 2 * line + 1) + 1
  left = 1 + (cell_width - 10) // 2
  assert (grid[line + 1:line + 11, left:left + 10] == 0).all()
  below = grid[line + 12:line + 10 + 2 * line, 1:1 + cell_width]
  assert (below < 128).any()  # the caption is drawn
  assert (grid[line + 2 * line + 12:, cell_width + 2:] == 255).all()


def test_a_title_is_drawn_in_a_band_wide_enough_for_it():
  title = "fashion_mnist: samples of the best model (epoch 12)"
  picture = pictures.titled(np.zeros((20, 30, 1), np.uint8), title)
  assert picture.shape[0] == 20 + pictures.LINE
  assert picture.shape[1] >= pictures._text_width(pictures._font(), title)
  assert (picture[:pictures.LINE, -3:] == 255).all()  # not cut off
  band = picture[:pictures.LINE] < 128
  columns = np.flatnonzero(band.any(axis=(0, 2)))
  assert columns[-1] - columns[0] > 0.8 * picture.shape[1] - 16


def capture_figure(monkeypatch):
  """Replaces the PNG writer with one that keeps the figure's axes."""
  captured = []
  monkeypatch.setattr(pictures, "_save_figure",
                      lambda figure, path, dpi: captured.extend(figure.axes))
  return captured


def test_a_training_curve_has_whole_epochs_and_counts_from_1(tmp_path,
                                                            monkeypatch):
  axes = capture_figure(monkeypatch)
  log = tmp_path / "training_log.csv"
  log.write_text("epoch,nll,val_nll\n1,5.0,5.5\n2,4.0,4.6\n3,3.5,4.4\n")
  assert pictures.training_curve(str(log), str(tmp_path / "curve.png"))
  (axis,) = axes
  ticks = [t for t in axis.get_xticks() if 1 <= t <= 3]
  assert ticks == [1, 2, 3]
  assert list(axis.lines[0].get_xdata()) == [1, 2, 3]


def test_a_latent_figure_names_its_normal_curve(tmp_path, monkeypatch):
  axes = capture_figure(monkeypatch)
  z = np.random.default_rng(0).normal(size=(500, 4))
  pictures.latent_figure(z, str(tmp_path / "latents.png"), count=3)
  labels = [text.get_text() for text in axes[0].get_legend().get_texts()]
  assert labels == ["N(0, 1)"]


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
  flow = MAF(event_size=9, num_layers=1, hidden_units=[4], context_size=3,
             context_type="labels")
  points = np.random.default_rng(0).normal(size=(100, 9)).astype(np.float32)
  picture = pictures.samples_picture(flow, 60, seed=1, title="wine",
                                     points=points)
  # Six panels side by side (dimensions 0-4 and the last).
  assert picture.ndim == 3 and picture.shape[1] > 4 * picture.shape[0]
  assert_panels_drawn(picture, 6)
