"""Latency of log_prob for small requests: the exported serving function
(masked kernels frozen, `maf_tf.export.ServingModule`) against the live
model (kernel x mask on every call), in one process.

    python -m benchmarks.serving [--preset=mnist] [--batches=1,10,100,1000]

Both run as tf.functions in float32 on the preset's flow (sizes and batch
norm from configs.presets, random weights); each figure is the fastest
call (`benchmarks.timing.rate`).
"""

import argparse

import tensorflow as tf

from benchmarks.flows import image_presets, our_flow, preset_config
from benchmarks.timing import rate
from maf_tf.export import ServingModule


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--preset", default="mnist", choices=image_presets())
  parser.add_argument("--batches", default="1,10,100,1000")
  args = parser.parse_args()
  try:
    batches = [int(b) for b in args.batches.split(",")]
  except ValueError:
    batches = []
  if not batches or min(batches) < 1:
    parser.error(f"--batches must be comma-separated positive integers; "
                 f"got {args.batches!r}")
  config, size = preset_config(args.preset)
  flow = our_flow(config, size)
  flow(tf.zeros([1, size]))
  served = ServingModule(flow).serving_functions["serving_default"]
  live = tf.function(flow.log_prob)
  print(f"{args.preset}: log_prob latency, ms per call (fastest call)")
  print("| batch | live model | served (frozen kernels) | speed-up |")
  print("|---|---|---|---|")
  for batch in batches:
    x = tf.random.uniform([batch, size])
    live_ms = 1000 * batch / rate(lambda x=x: live(x).numpy(), batch, 2.0)
    served_ms = 1000 * batch / rate(
        lambda x=x: served(x)["log_prob"].numpy(), batch, 2.0)
    print(f"| {batch} | {live_ms:.2f} | {served_ms:.2f} | "
          f"{live_ms / served_ms:.2f}x |")


if __name__ == "__main__":
  main()
