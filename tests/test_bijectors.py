"""Generic bijector contract, driven by one registry of named constructors.

A new bijector is tested by adding one line to BIJECTORS. Every entry is a
float64 bijector on R^3 with non-trivial weights.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from helpers import random_flow, randomize
from maf_tf import (IAF, MAF, MADE, NSF, BatchNormBijector, BatchNormLayer,
                    LogitBijector, MAFBijector, PixelMAF, PixelNSF,
                    PixelRealNVP, RealNVP)
from maf_tf.transformers import Spline
from maf_tf.real_nvp import Coupling, CouplingBijector

tfb = tfp.bijectors
D, BATCH = 3, 6
CONTEXT = tf.constant(np.random.default_rng(9).normal(size=(BATCH, 2)))


def _made(**kwargs):
  made = MADE(D, kwargs.pop("hidden_units", [10]), dtype="float64", seed=1,
              **kwargs)
  made.build()
  randomize(made, seed=2)
  return made


def _batch_norm():
  layer = BatchNormLayer(D, dtype="float64")
  layer.build()
  randomize(layer, seed=3)
  return BatchNormBijector(layer)


def _coupling(context_size=0):
  layer = Coupling(D, [10], context_size=context_size, seed=1,
                   dtype="float64")
  layer.build()
  randomize(layer, seed=2)
  return layer


def _flow(cls=MAF, context=None, **kwargs):
  return random_flow(cls, weights_seed=4, event_size=D, num_layers=3,
                     hidden_units=[10], context_size=0 if context is None
                     else 2, **kwargs).bijector(context)


BIJECTORS = {
    "maf": lambda: MAFBijector(_made()),
    "maf_tanh_two_hidden_random": lambda: MAFBijector(_made(
        hidden_units=[10, 8], activation="tanh", hidden_degrees="random",
        order="random")),
    "maf_conditional": lambda: MAFBijector(_made(context_size=2), CONTEXT),
    "iaf": lambda: tfb.Invert(MAFBijector(_made(order="reversed"))),
    "batch_norm": _batch_norm,
    "flow_chain": lambda: _flow(),
    "flow_chain_batch_norm_conditional": lambda: _flow(
        context=CONTEXT, batch_norm="after_each", ordering="random"),
    "iaf_chain_batch_norm": lambda: _flow(IAF, batch_norm="between"),
    "logit_mnist": lambda: LogitBijector(1e-6, dtype=tf.float64),
    "logit_cifar10": lambda: LogitBijector(0.05, dtype=tf.float64),
    "pixel_flow_chain": lambda: _flow(PixelMAF, alpha=0.05,
                                      batch_norm="between"),
    "coupling": lambda: CouplingBijector(_coupling()),
    "coupling_conditional": lambda: CouplingBijector(_coupling(2), CONTEXT),
    "real_nvp_chain_batch_norm_conditional": lambda: _flow(
        RealNVP, context=CONTEXT, batch_norm="after_each"),
    "pixel_real_nvp_chain": lambda: _flow(PixelRealNVP, alpha=0.05),
    # bound 1.5: about one point in seven lies in the linear tails
    "nsf": lambda: MAFBijector(_made(num_params=3 * 4 - 1),
                               transformer=Spline(4, 1.5)),
    "nsf_conditional_random": lambda: MAFBijector(_made(
        num_params=3 * 8 - 1, context_size=2, hidden_degrees="random",
        order="random"), CONTEXT, Spline(8, 1.5)),
    "nsf_chain_batch_norm_conditional": lambda: _flow(
        NSF, context=CONTEXT, batch_norm="after_each", bins=4, bound=1.5),
    "pixel_nsf_chain": lambda: _flow(PixelNSF, alpha=0.05, bins=4,
                                     bound=1.5),
}
# Where the data (inverse-direction inputs) live, when not all of R^D.
UNIT_CUBE = {"logit_mnist", "logit_cifar10", "pixel_flow_chain",
             "pixel_real_nvp_chain", "pixel_nsf_chain"}


def _points(seed, unit_cube=False):
  rng = np.random.default_rng(seed)
  if unit_cube:
    return tf.constant(rng.uniform(0.01, 0.99, size=(BATCH, D)))
  return tf.constant(rng.normal(size=(BATCH, D)))


@pytest.fixture(params=sorted(BIJECTORS))
def bijector(request):
  instance = BIJECTORS[request.param]()
  instance.test_unit_cube = request.param in UNIT_CUBE
  return instance


def test_forward_and_inverse_are_each_others_inverse(bijector):
  z, x = _points(0), _points(1, bijector.test_unit_cube)
  np.testing.assert_allclose(bijector.inverse(bijector.forward(z)), z,
                             atol=1e-6)
  np.testing.assert_allclose(bijector.forward(bijector.inverse(x)), x,
                             atol=1e-6)


def test_forward_log_det_is_minus_inverse_log_det(bijector):
  z = _points(2)
  x = bijector.forward(z)
  np.testing.assert_allclose(
      bijector.forward_log_det_jacobian(z, event_ndims=1),
      -bijector.inverse_log_det_jacobian(tf.identity(x), event_ndims=1),
      atol=1e-6)


@pytest.mark.parametrize("direction", ["forward", "inverse"])
def test_log_det_equals_autodiff_jacobian(bijector, direction):
  points = _points(3, direction == "inverse" and bijector.test_unit_cube)
  transform = getattr(bijector, direction)
  with tf.GradientTape() as tape:
    tape.watch(points)
    outputs = transform(points)
  jacobian = tape.batch_jacobian(outputs, points).numpy()
  expected = np.linalg.slogdet(jacobian)[1]
  log_det = getattr(bijector, f"{direction}_log_det_jacobian")(
      tf.identity(points), event_ndims=1)
  np.testing.assert_allclose(np.broadcast_to(log_det, expected.shape),
                             expected, atol=1e-6)
