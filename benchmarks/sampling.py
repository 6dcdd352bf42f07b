"""Seconds to draw exact samples: our fast sampler, our naive reference
and TFP's MaskedAutoregressiveFlow, at the same sizes, in one process.

    python -m benchmarks.sampling [--num_samples=100] [--layers=5]

Seed MNIST preset shapes: D=784, one hidden layer of 512 (relu), natural
order reversed between layers; all three run inside tf.function and are
timed after one warm-up call.
"""

import argparse
import time

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from maf_tf import MAF

tfb, tfd = tfp.bijectors, tfp.distributions


def tfp_flow(event_size, layers, hidden):
  bijectors = []
  for k in range(layers):
    network = tfb.AutoregressiveNetwork(params=2, event_shape=[event_size],
                                        hidden_units=[hidden],
                                        activation="relu")
    bijectors.append(tfb.MaskedAutoregressiveFlow(network))
    if k < layers - 1:
      bijectors.append(tfb.Permute(np.arange(event_size)[::-1]))
  base = tfd.Sample(tfd.Normal(0.0, 1.0), [event_size])
  return tfd.TransformedDistribution(base, tfb.Chain(bijectors))


def seconds(function, repeats=1):
  function()  # trace and warm up
  start = time.perf_counter()
  for _ in range(repeats):
    function()
  return (time.perf_counter() - start) / repeats


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--num_samples", type=int, default=100)
  parser.add_argument("--layers", type=int, default=5)
  parser.add_argument("--event_size", type=int, default=784)
  args = parser.parse_args()
  n, d = args.num_samples, args.event_size
  ours = MAF(event_size=d, num_layers=args.layers, hidden_units=[512])
  reference = tfp_flow(d, args.layers, 512)
  reference.log_prob(tf.zeros([1, d]))  # builds the networks
  fast = tf.function(lambda: ours.sample(n, seed=1))
  naive = tf.function(lambda: ours.sample(n, seed=1, sampler="naive"))
  theirs = tf.function(lambda: reference.sample(n, seed=1))
  times = {"fast": seconds(fast), "naive": seconds(naive),
           "tfp": seconds(theirs)}
  print(f"{n} samples, D={d}, {args.layers} layers x [512]: " + ", ".join(
      f"{k} {v:.2f} s" for k, v in times.items()) +
        f"; tfp/fast = {times['tfp'] / times['fast']:.1f}x, "
        f"naive/fast = {times['naive'] / times['fast']:.1f}x")


if __name__ == "__main__":
  main()
