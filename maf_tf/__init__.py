"""maf_tf: Masked Autoregressive Flow in TensorFlow, Keras 3 and TFP."""

from maf_tf.bijectors import (BatchNormBijector, BatchNormLayer,
                              LogitBijector, MAFBijector)
from maf_tf.distributions import GaussianMixture, StandardNormal
from maf_tf.flows import IAF, MAF
from maf_tf.made import MADE, MaskedDense
from maf_tf.optimizers import FusedAdam
from maf_tf.pixel_flows import PixelMAF, build_flow

__all__ = ["MAF", "IAF", "PixelMAF", "build_flow", "MADE", "MaskedDense", "MAFBijector",
           "BatchNormBijector", "BatchNormLayer", "LogitBijector", "StandardNormal",
           "GaussianMixture", "FusedAdam"]
__version__ = "0.1.0"
