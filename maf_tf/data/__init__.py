"""Data sources for maf_tf: toy densities (and, later, image datasets)."""

from maf_tf.data.toys import TOYS, sample_toy

__all__ = ["TOYS", "sample_toy"]
