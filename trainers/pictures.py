"""PNG pictures of samples: image grids and 2-D scatter plots."""

import io
from typing import Optional, Sequence

import numpy as np

__all__ = ["image_grid", "save_png", "scatter_png", "png_bytes"]


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


def png_bytes(image: np.ndarray) -> bytes:
  from PIL import Image
  if image.shape[-1] == 1:
    image = image[..., 0]
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format="PNG")
  return buffer.getvalue()


def save_png(image: np.ndarray, path: str) -> None:
  with open(path, "wb") as stream:
    stream.write(png_bytes(image))


def scatter_png(panels: Sequence[tuple], path, limit: float = 4.0) -> None:
  """Side-by-side panels (title, points [N, 2] or density [H, W]) as a PNG
  file (a path or a binary stream)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4),
                              squeeze=False)
  for axis, (title, values) in zip(axes[0], panels):
    if values.ndim == 2 and values.shape[1] == 2:
      axis.scatter(values[:, 0], values[:, 1], s=2)
    else:
      axis.imshow(values, origin="lower",
                  extent=(-limit, limit, -limit, limit))
    axis.set_xlim(-limit, limit)
    axis.set_ylim(-limit, limit)
    axis.set_aspect("equal")
    axis.set_title(title)
  figure.tight_layout()
  figure.savefig(path, dpi=80, format="png")
  plt.close(figure)
