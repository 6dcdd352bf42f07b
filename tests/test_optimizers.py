"""FusedAdam against keras.optimizers.Adam."""

import keras
import numpy as np
import tensorflow as tf

from maf_tf import MAF
from maf_tf.optimizers import FusedAdam


def _updates(optimizer, gradients):
  variable = keras.Variable(np.linspace(-1.0, 1.0, 12).reshape(3, 4),
                            dtype="float32")
  for gradient in gradients:
    optimizer.apply_gradients([(tf.constant(gradient), variable)])
  return variable.numpy()


def test_fused_adam_makes_adams_updates():
  rng = np.random.default_rng(0)
  gradients = rng.normal(size=(6, 3, 4)).astype(np.float32)
  schedule = keras.optimizers.schedules.CosineDecay(1e-2, 6)
  fused = _updates(FusedAdam(schedule), gradients)
  plain = _updates(keras.optimizers.Adam(schedule), gradients)
  np.testing.assert_allclose(fused, plain, rtol=1e-6, atol=1e-7)
  assert not np.allclose(fused, _updates(FusedAdam(schedule), []))


def test_fused_adam_trains_a_flow_like_adam():
  def train(optimizer):
    flow = MAF(event_size=6, num_layers=2, hidden_units=[16],
               batch_norm="between", seed=3)
    flow.compile(optimizer, clip_norm=5.0)
    x = tf.random.stateless_normal([64, 6], seed=[1, 2])
    history = flow.fit(x, batch_size=16, epochs=5, verbose=0, shuffle=False)
    return history.history["nll"]

  # Not identical: weights whose gradient is rounding noise (the biases of
  # the first output, which sees no input) move by +-lr either way.
  np.testing.assert_allclose(train(FusedAdam(1e-2)),
                             train(keras.optimizers.Adam(1e-2)), rtol=1e-3)


def test_fused_adam_round_trips_its_config():
  optimizer = FusedAdam(3e-4, beta_2=0.99)
  again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
  assert isinstance(again, FusedAdam) and again.beta_2 == 0.99
