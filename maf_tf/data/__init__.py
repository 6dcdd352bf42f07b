"""Data for maf_tf: image datasets (tfds and offline files), the tf.data
pipeline, 2-D toy densities, the tabular benchmarks (UCI, BSDS300),
tables of your own (`load_table`), and the one description of a dataset
(`DatasetDescription`) that models are built from."""

from maf_tf.data.datasets import DATASETS, describe_arrays, load_dataset
from maf_tf.data.pipeline import (evaluation_dataset, steps_per_epoch,
                                  training_dataset)
from maf_tf.data.sources import SOURCES, Splits, load_splits
from maf_tf.data.specs import (IMAGE_SPECS, DataError, DatasetDescription,
                               ImageSpec, image_spec)
from maf_tf.data.tabular import TABULAR_SIZES, load_tabular
from maf_tf.data.tables import load_table
from maf_tf.data.toys import TOYS, sample_toy

__all__ = ["DATASETS", "DataError", "DatasetDescription", "IMAGE_SPECS",
           "ImageSpec", "SOURCES", "Splits", "TABULAR_SIZES", "TOYS",
           "describe_arrays", "evaluation_dataset", "image_spec",
           "load_dataset", "load_splits", "load_table", "load_tabular",
           "sample_toy", "steps_per_epoch", "training_dataset"]
