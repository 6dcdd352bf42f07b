"""Training and density throughput: maf-tf against TFP's own MAF.

    python -m benchmarks.speed [--preset=mnist|mnist_paper|cifar10]

Builds, in one process, our MAF and TFP's tfb.MaskedAutoregressiveFlow +
tfb.AutoregressiveNetwork (relu) + tfb.Permute at the same sizes (no batch
norm in either), and prints training samples/s (batch 100, Adam) and
log_prob samples/s (batch 1000), the ratios ours/TFP, and the fraction of
the machine's dense float32 matmul throughput (measured here) that each
reaches, from the FLOPs per sample of the masked dense layers.
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from maf_tf import MAF

tfb, tfd = tfp.bijectors, tfp.distributions
PRESETS = {"mnist": (784, 5, [512]), "mnist_paper": (784, 5, [1024, 1024]),
           "cifar10": (3072, 10, [1024])}


def tfp_flow(size, layers, hidden):
  bijectors = []
  for k in range(layers):
    bijectors.append(tfb.MaskedAutoregressiveFlow(tfb.AutoregressiveNetwork(
        params=2, event_shape=[size], hidden_units=hidden,
        activation="relu")))
    if k < layers - 1:
      bijectors.append(tfb.Permute(np.arange(size)[::-1]))
  return tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(0.0, 1.0), [size]), tfb.Chain(bijectors))


def rate(function, batch, seconds=5.0):
  """Samples per second of function() over about `seconds`."""
  function()
  function()
  count, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    function()
    count += 1
  return count * batch / (time.perf_counter() - start)


def matmul_flops(seconds=3.0):
  a = tf.random.normal([1024, 1024])
  step = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
  return rate(lambda: step().numpy(), 2 * 1024**3, seconds)


def flops_per_sample(size, layers, hidden):
  """Multiply-adds x 2 of one density pass (dense, masks ignored)."""
  widths = [size] + hidden + [2 * size]
  return layers * 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def trainer(log_prob, variables, size):
  """One Adam step of TFP's flow on a batch of 100, as a tf.function."""
  optimizer = keras.optimizers.Adam(1e-4)
  x = tf.random.uniform([100, size])

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(log_prob(x))
    gradients = tape.gradient(loss, variables())
    optimizer.apply_gradients(zip(gradients, variables()))
    return loss

  return lambda: step().numpy()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--preset", default="mnist", choices=sorted(PRESETS))
  args = parser.parse_args()
  size, layers, hidden = PRESETS[args.preset]
  ours = MAF(event_size=size, num_layers=layers, hidden_units=hidden)
  theirs = tfp_flow(size, layers, hidden)
  theirs.log_prob(tf.zeros([1, size]))
  ours.compile(keras.optimizers.Adam(1e-4))
  data = tf.data.Dataset.from_tensors(tf.random.uniform([100, size])).repeat()
  ours_train = lambda: ours.fit(  # noqa: E731  (20 steps of 100 per call)
      data, steps_per_epoch=20, epochs=1, verbose=0)
  big = tf.random.uniform([1000, size])
  ours_density = tf.function(lambda: ours.log_prob(big))
  theirs_density = tf.function(lambda: theirs.log_prob(big))
  results = {
      "train": (rate(ours_train, 2000),
                rate(trainer(theirs.log_prob,
                             lambda: theirs.trainable_variables, size),
                     100)),
      "log_prob": (rate(lambda: ours_density().numpy(), 1000),
                   rate(lambda: theirs_density().numpy(), 1000)),
  }
  peak = matmul_flops()
  per_sample = flops_per_sample(size, layers, hidden)
  print(f"{args.preset} (D={size}, {layers} layers x {hidden}); dense "
        f"matmul {peak / 1e9:.0f} GFLOP/s")
  for name, (mine, reference) in results.items():
    cost = per_sample * (3 if name == "train" else 1)
    print(f"{name:9s} ours {mine:8.0f}/s  TFP {reference:8.0f}/s  "
          f"ours/TFP {mine / reference:5.2f}x  of peak: ours "
          f"{mine * cost / peak:5.1%}, TFP {reference * cost / peak:5.1%}")


if __name__ == "__main__":
  main()
