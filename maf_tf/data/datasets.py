"""Any dataset by name, as splits plus the description a model is built
from: the image datasets (maf_tf.data.sources), the 2-D toys
(maf_tf.data.toys) and the tabular sets (maf_tf.data.tabular: the MAF
paper's UCI and BSDS300 benchmarks, two bundled scikit-learn sets);
`describe_arrays` describes tabular data of your own."""

from typing import Optional

import numpy as np

from maf_tf.inputs import refuse_non_finite
from maf_tf.data.sources import Splits, load_splits
from maf_tf.data.specs import IMAGE_SPECS, DataError, DatasetDescription
from maf_tf.data.tabular import TABULAR_SIZES, load_tabular
from maf_tf.data.toys import TOYS, sample_toy

__all__ = ["DATASETS", "TOY_EVALUATION_SIZE", "load_dataset",
           "describe_arrays"]

DATASETS = (tuple(sorted(IMAGE_SPECS)) + tuple(sorted(TOYS))
            + tuple(sorted(TABULAR_SIZES)))
TOY_EVALUATION_SIZE = 10_000  # points in a toy's validation and test sets


def load_dataset(name: str, source: Optional[str] = None,
                 data_dir: Optional[str] = None,
                 validation_size: Optional[int] = None,
                 alpha: Optional[float] = None, toy_size: int = 50_000,
                 seed: int = 0) -> Splits:
  """Train / validation / test splits of a named dataset, described.

  Images come from `load_splits` (source, data_dir, validation_size; alpha
  overrides the dataset's logit constant). A toy draws toy_size training
  points from `seed` and TOY_EVALUATION_SIZE validation and test points
  from seed + 1 and seed + 2. A tabular set is read from data_dir (the
  paper's data/ folder or the set's own; the bundled sets need none) and
  split by its reference rule: source, validation_size and alpha do not
  apply to it.

  Raises:
    ValueError (DataError for images and tabular sets): an unknown name,
      an option that does not apply, bad or missing files; the message
      lists what was expected.
  """
  if name in TOYS:
    for option, value in (("source", source), ("data_dir", data_dir),
                          ("alpha", alpha),
                          ("validation_size", validation_size)):
      if value is not None:
        raise ValueError(f"{option} does not apply to the toy {name!r} (it "
                         f"is drawn, toy_size points); got {value!r}")
    arrays = [(sample_toy(name, size, seed + offset), None)
              for offset, size in ((0, toy_size),
                                   (1, TOY_EVALUATION_SIZE),
                                   (2, TOY_EVALUATION_SIZE))]
    return Splits(DatasetDescription(name, "toy", 2), *arrays)
  if name in TABULAR_SIZES:
    for option, value in (("source", source), ("alpha", alpha),
                          ("validation_size", validation_size)):
      if value is not None:
        raise DataError(f"{option} does not apply to the tabular set "
                        f"{name!r} (its splits and preprocessing are the "
                        f"reference code's); got {value!r}")
    return load_tabular(name, data_dir)
  if name not in IMAGE_SPECS:
    raise ValueError(f"unknown dataset {name!r}; expected one of "
                     f"{list(DATASETS)}")
  splits = load_splits(name, source, data_dir,
                       validation_size=validation_size)
  if alpha is not None:
    splits.description = DatasetDescription.of_images(splits.spec, alpha)
  return splits


def describe_arrays(name: str, x: np.ndarray,
                    labels: Optional[np.ndarray] = None
                    ) -> DatasetDescription:
  """The description of tabular data: real vectors x [N, D] (and integer
  labels [N] in 0..K-1, for a model conditioned on them). ValueError
  (one line) for a name that is a path, x that is not [N >= 1, D >= 1]
  real numbers, NaN or an infinity in x, or bad labels. Labels of up to
  10**9 are described; build_flow counts the weights of their context."""
  if not isinstance(name, str) or not name or any(
      c in name for c in "/\\") or name.startswith("."):
    raise ValueError(f"name must be a plain name (no path); got {name!r}")
  x = np.asarray(x)
  if x.ndim != 2 or x.shape[1] < 1 or not len(x):
    raise ValueError(f"x must have shape [N, D] with N, D >= 1; got "
                     f"{list(x.shape)}")
  if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(
      x.dtype, np.integer)):
    raise ValueError(f"x must hold real numbers; got dtype {x.dtype}")
  refuse_non_finite(x, "x")
  num_classes = 0
  if labels is not None:
    labels = np.asarray(labels)
    if labels.shape != x.shape[:1] or not np.issubdtype(
        labels.dtype, np.integer) or labels.min(initial=0) < 0:
      raise ValueError(f"labels must be {len(x)} integers >= 0, one per row "
                       f"of x; got shape {list(labels.shape)}, dtype "
                       f"{labels.dtype}")
    num_classes = int(labels.max(initial=-1)) + 1
  return DatasetDescription(name, "tabular", int(x.shape[1]),
                            num_classes=num_classes)
