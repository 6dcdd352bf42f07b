"""TFP bijectors built from maf_tf's Keras layers."""

from maf_tf.bijectors.batch_norm import BatchNormBijector, BatchNormLayer
from maf_tf.bijectors.coupling import CouplingBijector
from maf_tf.bijectors.logit import (LogitBijector, logits_to_pixels,
                                    pixels_to_logits)
from maf_tf.bijectors.maf import MAFBijector, made_to_data

__all__ = ["BatchNormBijector", "BatchNormLayer", "CouplingBijector",
           "LogitBijector",
           "MAFBijector", "logits_to_pixels", "pixels_to_logits",
           "made_to_data"]
