"""maf_tf: Masked Autoregressive Flow in TensorFlow, Keras 3 and TFP."""

from maf_tf import _version

from maf_tf.bijectors import (BatchNormBijector, BatchNormLayer,
                              LogitBijector, MAFBijector)
from maf_tf.distributions import GaussianMixture, StandardNormal
from maf_tf.flows import IAF, MAF
from maf_tf.made import MADE, MaskedDense
from maf_tf.optimizers import FusedAdam
from maf_tf.models import (MODELS, Gaussian, MADEMoG, PixelGaussian,
                           build_flow)
from maf_tf.nsf import NSF
from maf_tf.pixel_flows import PixelMAF, PixelNSF, PixelRealNVP
from maf_tf.real_nvp import RealNVP

__all__ = ["MAF", "IAF", "MADEMoG", "RealNVP", "NSF", "Gaussian", "PixelMAF",
           "PixelRealNVP", "PixelNSF", "PixelGaussian", "MODELS", "build_flow",
           "MADE", "MaskedDense", "MAFBijector", "BatchNormBijector",
           "BatchNormLayer", "LogitBijector", "StandardNormal",
           "GaussianMixture", "FusedAdam"]
__version__ = _version.version()
