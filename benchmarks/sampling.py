"""Seconds to draw exact samples: our fast sampler, our naive reference
and TFP's MaskedAutoregressiveFlow, at the same sizes, in one process.

    python -m benchmarks.sampling [--num_samples=100] [--layers=5]

Seed MNIST preset shapes without batch norm: D=784, one hidden layer of
512 (relu), natural order reversed between layers; all run inside
tf.function (ours also under XLA) and are timed after one warm-up call.
`python -m benchmarks.speed` gives the same figure for whole presets.
"""

import argparse

import tensorflow as tf

from benchmarks.flows import our_flow, tfp_flows
from benchmarks.timing import seconds
from configs.presets import PRESETS


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--num_samples", type=int, default=100)
  parser.add_argument("--layers", type=int, default=5)
  parser.add_argument("--event_size", type=int, default=784)
  args = parser.parse_args()
  n, d = args.num_samples, args.event_size
  config = PRESETS["mnist"].replace(batch_norm=None, num_layers=args.layers)
  ours = our_flow(config, d)
  _, reference = tfp_flows(config, d)
  reference.log_prob(tf.zeros([1, d]))  # builds the networks
  draws = {
      "fast": lambda n: ours.sample(n, seed=1),
      "fast_xla": lambda n: ours.sample(n, seed=1, jit_compile=True),
      "naive": lambda n: ours.sample(n, seed=1, sampler="naive"),
      "tfp": lambda n: reference.sample(n, seed=1)}
  graphs = {name: tf.function(draw) for name, draw in draws.items()}
  times = {name: seconds(lambda m, f=graph: f(tf.constant(m)),
                         warm_up=n, n=n)
           for name, graph in graphs.items()}
  print(f"{n} samples, D={d}, {args.layers} layers x [512]: " + ", ".join(
      f"{k} {v:.2f} s" for k, v in times.items()) +
        f"; tfp/fast = {times['tfp'] / times['fast']:.1f}x, "
        f"tfp/fast_xla = {times['tfp'] / times['fast_xla']:.1f}x, "
        f"naive/fast = {times['naive'] / times['fast']:.1f}x")


if __name__ == "__main__":
  main()
