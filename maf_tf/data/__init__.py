"""Data for maf_tf: image datasets (tfds and offline files), the tf.data
pipeline, and 2-D toy densities."""

from maf_tf.data.pipeline import (evaluation_dataset, steps_per_epoch,
                                  training_dataset)
from maf_tf.data.sources import SOURCES, Splits, load_splits
from maf_tf.data.specs import IMAGE_SPECS, DataError, ImageSpec, image_spec
from maf_tf.data.toys import TOYS, sample_toy

__all__ = ["DataError", "IMAGE_SPECS", "ImageSpec", "SOURCES", "Splits",
           "TOYS", "evaluation_dataset", "image_spec", "load_splits",
           "sample_toy", "steps_per_epoch", "training_dataset"]
