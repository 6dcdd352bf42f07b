"""What each dataset is: the image datasets' shape, classes, logit alpha
and splits, and the one description (`DatasetDescription`) of any dataset
(images, 2-D toys, tabular arrays) that a model is built from."""

import dataclasses
from typing import Optional, Tuple

from maf_tf.checks import check_alpha

__all__ = ["ImageSpec", "IMAGE_SPECS", "image_spec", "DataError",
           "DatasetDescription", "KINDS"]

KINDS = ("image", "toy", "tabular", "table")


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


@dataclasses.dataclass(frozen=True)
class DatasetDescription:
  """What a model needs to know about its data, the same for every kind.

  Attributes:
    name: dataset name, e.g. 'mnist' or 'two_moons'.
    kind: 'image' (8-bit pixels, modelled through the logit transform),
      'toy' (2-D points), 'tabular' (real vectors of a named set) or
      'table' (a table of your own, `maf_tf.data.tables`).
    event_size: D, the length of a flattened example.
    image_shape: (height, width, channels) of images, else None.
    num_classes: number of labels (0: unlabelled); a conditional model's
      context is one-hot of this size.
    alpha: the logit transform's constant for images, else None.
    columns: a table's column names, in the model's order.
    context_columns: the columns of a feature context (a model of the
      table is then conditioned on them).
    label_column: a table's label column (its context), if any.
    label_values: the label column's values in index order (label i is
      one-hot i), as strings.
    discrete: indices of integer-valued columns, dequantised (v + u).
    preprocessing: the bounds and standardisation a model of the data
      carries (`maf_tf.preprocessing`), or None.
  """
  name: str
  kind: str
  event_size: int
  image_shape: Optional[Tuple[int, int, int]] = None
  num_classes: int = 0
  alpha: Optional[float] = None
  columns: Optional[Tuple[str, ...]] = None
  context_columns: Tuple[str, ...] = ()
  label_column: Optional[str] = None
  label_values: Optional[Tuple[str, ...]] = None
  discrete: Tuple[int, ...] = ()
  preprocessing: Optional[dict] = None

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}")
    if (self.kind == "image") != (self.image_shape is not None):
      raise ValueError("image_shape is given for images and only for them")
    if self.alpha is not None:
      check_alpha(self.alpha)

  @classmethod
  def of_images(cls, spec: ImageSpec,
                alpha: Optional[float] = None) -> "DatasetDescription":
    """An image dataset, with its own alpha unless `alpha` is given."""
    return cls(spec.name, "image", spec.event_size, tuple(spec.shape),
               spec.num_classes, spec.alpha if alpha is None else alpha)

  @property
  def context_type(self) -> str:
    """'features' for a table with context columns, else 'labels'."""
    return "features" if self.context_columns else "labels"

  def context_size(self, conditional: bool) -> int:
    """The width of a model's context: the context columns' count for a
    table that has them (always conditional), else num_classes if
    conditional; DataError if conditional on a dataset without labels."""
    if self.context_columns:
      return len(self.context_columns)
    if conditional and not self.num_classes:
      raise DataError(f"a conditional model needs class labels, and "
                      f"{self.name} has none; train it without "
                      "--conditional")
    return self.num_classes if conditional else 0
