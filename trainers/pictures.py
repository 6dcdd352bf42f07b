"""PNG pictures: image grids and 2-D scatter plots, and a model's samples
drawn as one of them (`samples_picture`)."""

import io
import os
from typing import Optional, Sequence

import numpy as np

from trainers.run_dir import write_file

__all__ = ["image_grid", "labelled_grid", "save_png", "scatter_png",
           "png_bytes", "latent_figure", "training_curve", "titled",
           "samples_picture", "corner_plot", "MIN_CELL", "LINE"]

MIN_CELL = 56  # pixels: small images are enlarged to at least this
FONT_SIZE = 13  # pixels, Pillow's FreeType font: readable in TensorBoard
LINE = FONT_SIZE + 5  # the height of a band of text


def image_grid(images: np.ndarray, columns: Optional[int] = None,
               padding: int = 1) -> np.ndarray:
  """uint8 images [N, H, W, C] tiled into one uint8 image [rows*H, cols*W, C]
  with `padding` pixels of white between them."""
  count, height, width, channels = images.shape
  columns = columns or int(np.ceil(np.sqrt(count)))
  rows = int(np.ceil(count / columns))
  grid = np.full((rows * (height + padding) + padding,
                  columns * (width + padding) + padding, channels), 255,
                 dtype=np.uint8)
  for index, image in enumerate(images):
    row, column = divmod(index, columns)
    top = padding + row * (height + padding)
    left = padding + column * (width + padding)
    grid[top:top + height, left:left + width] = image
  return grid


def enlarge(images: np.ndarray, size: int = MIN_CELL) -> np.ndarray:
  """uint8 images [N, H, W, C] repeated pixel by pixel by the smallest
  integer factor that makes them at least `size` pixels high (8x8 digits
  become 56x56; 28x28 images 56x56; 32x32 ones 64x64)."""
  factor = max(1, -(-size // images.shape[1]))
  return images.repeat(factor, axis=1).repeat(factor, axis=2)


def _font():
  from PIL import ImageFont
  return ImageFont.load_default(size=FONT_SIZE)  # a scalable font


def _text_width(font, text: str) -> int:
  return max(int(np.ceil(font.getlength(line))) for line in
             text.split("\n"))


def titled(image: np.ndarray, title: str) -> np.ndarray:
  """uint8 image [H, W, C] as RGB with `title` written in a white band
  above it (widened to fit the text)."""
  from PIL import Image, ImageDraw
  font = _font()
  width = max(image.shape[1], 8 + _text_width(font, title))
  canvas = Image.new("RGB", (width, image.shape[0] + LINE), "white")
  picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  canvas.paste(picture.convert("RGB"), (0, LINE))
  ImageDraw.Draw(canvas).text((4, 2), title, fill="black", font=font)
  return np.asarray(canvas)


def labelled_grid(images: np.ndarray, columns: int,
                  captions: Sequence[str] = (),
                  headers: Sequence[str] = ()) -> np.ndarray:
  """uint8 images [N, H, W, C] tiled as image_grid tiles them, as one RGB
  image, with each image's caption (lines split at newlines) in a band
  under it and a header over each column (cells widened to fit)."""
  from PIL import Image, ImageDraw
  font = _font()
  count, height, width, _ = images.shape
  lines = max((caption.count("\n") + 1 for caption in captions), default=0)
  cell_width = max([width] + [_text_width(font, text) + 4
                              for text in (*captions, *headers)])
  cells = np.full((count, height + lines * LINE, cell_width, 3), 255,
                  np.uint8)
  left = (cell_width - width) // 2
  cells[:, :height, left:left + width] = images  # (grey to RGB)
  top = LINE if headers else 0
  grid = image_grid(cells, columns)
  canvas = Image.new("RGB", (grid.shape[1], grid.shape[0] + top), "white")
  canvas.paste(Image.fromarray(grid), (0, top))
  draw = ImageDraw.Draw(canvas)
  centres = [1 + column * (cell_width + 1) + cell_width // 2
             for column in range(columns)]
  for centre, header in zip(centres, headers):
    draw.text((centre, 2), header, fill="black", font=font, anchor="ma")
  for index, caption in enumerate(captions):
    row, column = divmod(index, columns)
    draw.multiline_text(
        (centres[column], top + 1 + row * (cells.shape[1] + 1) + height + 2),
        caption, fill="black", font=font, anchor="ma", align="center")
  return np.asarray(canvas)


def png_bytes(image: np.ndarray) -> bytes:
  from PIL import Image
  if image.shape[-1] == 1:
    image = image[..., 0]
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format="PNG")
  return buffer.getvalue()


def save_png(image: np.ndarray, path: str) -> None:
  write_file(path, png_bytes(image))


def _save_figure(figure, path, dpi: int) -> None:
  """A matplotlib figure as PNG to a stream, or to a path atomically."""
  import matplotlib.pyplot as plt
  if isinstance(path, (str, bytes, os.PathLike)):
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format="png")
    write_file(path, buffer.getvalue())
  else:
    figure.savefig(path, dpi=dpi, format="png")
  plt.close(figure)


def scatter_png(panels: Sequence[tuple], path, limit: float = 4.0,
                title: str = "") -> None:
  """Side-by-side panels (title, points [N, 2] or density [H, W]) under an
  overall `title`, as a PNG file (a path or a binary stream)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4),
                              squeeze=False)
  for axis, (name, values) in zip(axes[0], panels):
    if values.ndim == 2 and values.shape[1] == 2:
      axis.scatter(values[:, 0], values[:, 1], s=2)
    else:
      axis.imshow(values, origin="lower",
                  extent=(-limit, limit, -limit, limit))
    axis.set_xlim(-limit, limit)
    axis.set_ylim(-limit, limit)
    axis.set_aspect("equal")
    axis.set_title(name)
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  _save_figure(figure, path, dpi=80)


def latent_figure(z: np.ndarray, path: str, seed: int = 0,
                  count: int = 6) -> None:
  """Histograms of random latent dimensions against N(0, 1) (top row) and
  scatter plots of random pairs of dimensions (bottom row)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  rng = np.random.default_rng(seed)
  dims = z.shape[1]
  figure, axes = plt.subplots(2, count, figsize=(2.5 * count, 5))
  grid = np.linspace(-4, 4, 200)
  normal = np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi)
  for axis, d in zip(axes[0], rng.choice(dims, count, replace=dims < count)):
    axis.hist(z[:, d], bins=50, range=(-4, 4), density=True, alpha=0.6)
    axis.plot(grid, normal, color="C3", label="N(0, 1)")
    axis.set_title(f"z[{d}]")
  axes[0][0].legend(fontsize="small")
  for axis in axes[1]:
    i, j = rng.choice(dims, 2, replace=dims < 2)
    axis.scatter(z[:, i], z[:, j], s=1, alpha=0.5)
    axis.set_xlim(-4, 4)
    axis.set_ylim(-4, 4)
    axis.set_title(f"z[{i}] vs z[{j}]")
  figure.tight_layout()
  _save_figure(figure, path, dpi=70)


def training_curve(csv_path: str, path: str, title: str = "") -> bool:
  """Training and validation NLL per epoch from a run's training_log.csv
  (Keras CSVLogger) as a PNG; False (and no file) if the log has no rows.
  The y-axis spans the 1st to 99th percentile of the finite values, so
  one outlying epoch does not flatten the rest of the curve."""
  import csv
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from matplotlib.ticker import MaxNLocator
  try:
    with open(csv_path, newline="", encoding="utf-8") as stream:
      rows = list(csv.DictReader(stream))
    if not rows:
      return False
    epochs = [int(row["epoch"]) for row in rows]  # from 1
    curves = {label: np.array([float(row.get(key) or "nan")
                               for row in rows])
              for label, key in (("train", "nll"),
                                 ("validation", "val_nll"))}
  except (ValueError, KeyError, TypeError) as error:
    raise ValueError(f"{csv_path} is not a training log (expected Keras "
                     "CSVLogger's rows: an epoch number, then nll, "
                     f"val_nll, ...; {type(error).__name__}: "
                     f"{str(error)[:80]})") from None
  figure, axis = plt.subplots(figsize=(6, 4))
  for label, values in curves.items():
    axis.plot(epochs, values, label=label)
  finite = np.concatenate([v[np.isfinite(v)] for v in curves.values()])
  if finite.size:
    low, high = np.percentile(finite, [1, 99])
    margin = 0.05 * (high - low) or 1.0
    axis.set_ylim(low - margin, high + margin)
  axis.xaxis.set_major_locator(MaxNLocator(integer=True))
  axis.set_xlabel("epoch")
  axis.set_ylabel("negative log-likelihood (nats)")
  axis.set_title(title)
  axis.legend()
  figure.tight_layout()
  _save_figure(figure, path, dpi=80)
  return True


def samples_picture(model, count: int, seed: int, title: str = "",
                    points: Optional[np.ndarray] = None,
                    context: Optional[np.ndarray] = None) -> np.ndarray:
  """A model's samples as a uint8 picture [H, W, 3 or 1], titled; a model
  conditioned on features draws one sample at each data point's
  `context`.

  Images (a model with an image_shape): a grid of `count` samples,
  enlarged; for a conditional model one labelled column per label and
  `count` rounded up to whole rows. 2-D points: the
  data `points` (the first `count`), the learned density on [-4, 4]^2 and
  `count` samples, side by side. Other real vectors: histograms of a few
  dimensions, data `points` against `count` samples (labels in turn for a
  conditional model).
  """
  import tensorflow as tf
  from maf_tf.pixel_flows import to_uint8
  if model.image_shape is None:
    return _points_picture(model, count, seed, title, points, context)
  classes = model.context_size
  context = None
  if classes:
    count = -(-count // classes) * classes
    context = tf.one_hot(np.arange(count) % classes, classes)
  samples = model.sample(count, context, seed=seed)
  images = enlarge(to_uint8(samples).numpy().reshape(
      (count,) + model.image_shape))
  grid = (labelled_grid(images, classes, headers=[
      f"label {label}" for label in range(classes)]) if classes
          else image_grid(images))
  return titled(grid, title) if title else grid


def _points_picture(model, count, seed, title, points,
                    context=None) -> np.ndarray:
  """2-D points: data, learned density, samples. Other real vectors:
  marginal histograms of data against samples (`_marginals_png`)."""
  import tensorflow as tf
  from PIL import Image
  if points is None:
    raise ValueError("a picture of samples of a model of event size "
                     f"{model.event_size} needs data points; got None")
  if model.context_type == "features":  # the data points' own contexts
    if context is None:
      raise ValueError("a picture of samples of a model conditioned on "
                       "features needs the data points' contexts; got None")
    count = min(count, len(points))
    points, context = points[:count], np.asarray(context[:count])
  elif model.context_size:  # labels in turn, as the image grids do
    context = tf.one_hot(np.arange(count) % model.context_size,
                         model.context_size)
  else:
    context = None
  samples = model.sample(count, context, seed=seed).numpy()
  buffer = io.BytesIO()
  if model.event_size == 2 and not model.context_size:
    axis = np.linspace(-4, 4, 200, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    density = np.exp(model.log_prob(grid).numpy()).reshape(200, 200)
    scatter_png([("data", points[:count]), ("learned density", density),
                 ("samples", samples)], buffer, title=title)
  else:
    _marginals_png(points, samples, buffer, title)
  return np.asarray(Image.open(buffer).convert("RGB"))


def corner_plot(points: np.ndarray, samples: np.ndarray, columns, path,
                title: str = "", limit: int = 8) -> None:
  """A corner plot of a table: marginal histograms on the diagonal, and
  below it pairwise scatters of data (blue) against samples (orange),
  for the first `limit` columns, on the data's 0.5-99.5 percentile
  range, with the column names."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  size = min(limit, points.shape[1])
  low, high = np.percentile(points[:, :size], [0.5, 99.5], axis=0)
  margin = np.where(high > low, 0.1 * (high - low), 1.0)
  low, high = low - margin, high + margin
  figure, axes = plt.subplots(size, size, figsize=(1.9 * size + 1,
                                                   1.9 * size + 1),
                              squeeze=False)
  for i in range(size):
    for j in range(size):
      axis = axes[i][j]
      if j > i:
        axis.axis("off")
        continue
      if i == j:
        bins = np.linspace(low[i], high[i], 30)
        axis.hist(points[:, i], bins=bins, density=True, alpha=0.5,
                  label="data")
        axis.hist(np.clip(samples[:, i], low[i], high[i]), bins=bins,
                  density=True, alpha=0.5, label="samples")
      else:
        axis.scatter(points[:, j], points[:, i], s=2, alpha=0.4)
        axis.scatter(samples[:, j], samples[:, i], s=2, alpha=0.4)
        axis.set_xlim(low[j], high[j])
        axis.set_ylim(low[i], high[i])
      axis.tick_params(labelsize=6)
      if i == size - 1:
        axis.set_xlabel(str(columns[j]), fontsize=8)
      if j == 0 and i > 0:
        axis.set_ylabel(str(columns[i]), fontsize=8)
  axes[0][0].legend(fontsize=6)
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  _save_figure(figure, path, dpi=70)


def _marginals_png(points: np.ndarray, samples: np.ndarray, path,
                   title: str = "", count: int = 6) -> None:
  """Histograms of the first `count` dimensions (and the last, if D is
  larger): data against samples, on the data's 0.5-99.5 percentile range."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  dims = list(range(min(count, points.shape[1])))
  if points.shape[1] > count:
    dims[-1] = points.shape[1] - 1
  figure, axes = plt.subplots(1, len(dims), figsize=(2.5 * len(dims), 2.8),
                              squeeze=False)
  for axis, d in zip(axes[0], dims):
    low, high = np.percentile(points[:, d], [0.5, 99.5])
    margin = 0.1 * (high - low) or 1.0
    bins = np.linspace(low - margin, high + margin, 40)
    axis.hist(points[:, d], bins=bins, density=True, alpha=0.5,
              label="data")
    axis.hist(np.clip(samples[:, d], bins[0], bins[-1]), bins=bins,
              density=True, alpha=0.5, label="samples")
    axis.set_title(f"x[{d}]")
  axes[0][0].legend(fontsize="small")
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  _save_figure(figure, path, dpi=70)


def calibration_figure(ranks: np.ndarray, num_samples: int, levels,
                       coverage, columns, path, title: str = "",
                       limit: int = 8, bins: int = 10) -> None:
  """A posterior's calibration on held-out rows: for the first `limit`
  parameters a histogram of SBC ranks (0..num_samples, in `bins` bins)
  with the band 99% of uniform ranks' bins fall in, and the expected
  coverage against the diagonal (above it: under-confident, below:
  over-confident)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  size = min(limit, ranks.shape[1])
  figure, axes = plt.subplots(1, size + 1, figsize=(2.4 * (size + 1), 2.6),
                              squeeze=False)
  count = len(ranks)
  expected = count / bins
  spread = 2.576 * np.sqrt(count * (1 / bins) * (1 - 1 / bins))
  for j in range(size):
    axis = axes[0][j]
    axis.axhspan(max(expected - spread, 0), expected + spread,
                 color="0.85", label="99% of uniform")
    axis.hist(ranks[:, j], bins=np.linspace(0, num_samples + 1, bins + 1),
              color="tab:blue")
    axis.set_title(str(columns[j]), fontsize=8)
    axis.set_xlabel("rank", fontsize=7)
    axis.tick_params(labelsize=6)
  axes[0][0].legend(fontsize=6)
  axis = axes[0][size]
  axis.plot([0, 1], [0, 1], color="0.5", linestyle="--")
  axis.plot(levels, coverage, marker="o", markersize=3)
  axis.set_xlabel("credibility level", fontsize=7)
  axis.set_ylabel("expected coverage", fontsize=7)
  axis.tick_params(labelsize=6)
  if title:
    figure.suptitle(title, fontsize=9)
  figure.tight_layout()
  _save_figure(figure, path, dpi=70)
