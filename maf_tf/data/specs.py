"""What each image dataset is: shape, classes, logit alpha, splits."""

import dataclasses
from typing import Optional, Tuple

__all__ = ["ImageSpec", "IMAGE_SPECS", "image_spec", "DataError"]


class DataError(ValueError):
  """Bad or missing data; the message is one line naming what was expected."""


@dataclasses.dataclass(frozen=True)
class ImageSpec:
  """An 8-bit image dataset.

  Attributes:
    name: dataset name, e.g. 'mnist'.
    shape: (height, width, channels).
    num_classes: number of labels (size of a one-hot context).
    alpha: logit-transform constant: 1e-6 for MNIST, 0.05 for CIFAR-10
      (the MAF paper's reference code).
    validation_size: images taken from the end of the training set.
    tfds_name: name in tensorflow-datasets, or None.
    flips: whether horizontal flips may be added to the training set.
  """
  name: str
  shape: Tuple[int, int, int]
  num_classes: int
  alpha: float
  validation_size: int
  tfds_name: Optional[str] = None
  flips: bool = False

  @property
  def event_size(self) -> int:
    height, width, channels = self.shape
    return height * width * channels


IMAGE_SPECS = {
    "mnist": ImageSpec("mnist", (28, 28, 1), 10, 1e-6, 10_000, "mnist"),
    "fashion_mnist": ImageSpec("fashion_mnist", (28, 28, 1), 10, 1e-6,
                               10_000, "fashion_mnist"),
    "cifar10": ImageSpec("cifar10", (32, 32, 3), 10, 0.05, 5_000, "cifar10",
                         flips=True),
    # scikit-learn's bundled 8x8 digits (1797 images), offline.
    "digits": ImageSpec("digits", (8, 8, 1), 10, 0.05, 270),
}


def image_spec(name: str) -> ImageSpec:
  """The spec of a named image dataset; DataError if unknown."""
  if name not in IMAGE_SPECS:
    raise DataError(f"unknown image dataset {name!r}; expected one of "
                    f"{sorted(IMAGE_SPECS)}")
  return IMAGE_SPECS[name]
