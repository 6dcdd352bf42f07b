"""Is the input pipeline a bottleneck? Times it alone against a train step.

    python -m benchmarks.pipeline [--dataset=mnist] [--batches=300]

Feeds MNIST-shaped uint8 images (random values: the pipeline's cost does not
depend on them) through `training_dataset` and times batches/s, then times
one training step (Model.fit) of the seed MNIST preset's flow without
batch norm (a PixelMAF of 5 MADE layers of [512], built as the trainer
builds it) on the same batch size, and prints both.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from configs.build import build_model
from configs.presets import PRESETS
from maf_tf import FusedAdam
from maf_tf.data import DatasetDescription, image_spec, training_dataset


def time_pipeline(images, batch_size, batches):
  dataset = training_dataset(images, batch_size=batch_size, seed=0)
  iterator = iter(dataset)
  for _ in range(20):  # warm up
    next(iterator)
  start = time.perf_counter()
  for _ in range(batches):
    next(iterator)
  return batches / (time.perf_counter() - start)


def time_train_step(spec, batch_size, steps):
  """Steps/s of Model.fit with the trainer's train_step (clipping, weight
  decay, non-finite guard, steps per execution) on a batch held in
  memory; `steps` must be a multiple of the steps per execution."""
  config = PRESETS["mnist"].replace(batch_norm=None)
  flow = build_model(config, DatasetDescription.of_images(spec))
  event_size = spec.event_size
  per_call = config.steps_per_execution  # as the trainer
  flow.compile(FusedAdam(1e-4), clip_norm=5.0, weight_decay=1e-6,
               steps_per_execution=per_call)
  x = tf.data.Dataset.from_tensors(
      tf.random.uniform([batch_size, event_size])).repeat()
  flow.fit(x, steps_per_epoch=per_call, epochs=1, verbose=0)  # warm up
  start = time.perf_counter()
  flow.fit(x, steps_per_epoch=steps, epochs=1, verbose=0)
  return steps / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dataset", default="mnist")
  parser.add_argument("--batch_size", type=int, default=100)
  parser.add_argument("--batches", type=int, default=300)
  args = parser.parse_args()
  spec = image_spec(args.dataset)
  images = np.random.default_rng(0).integers(
      0, 256, (50_000,) + spec.shape, dtype=np.uint8)
  pipeline = time_pipeline(images, args.batch_size, args.batches)
  train = time_train_step(spec, args.batch_size, 50)
  print(f"{args.dataset}, batch {args.batch_size}: pipeline alone "
        f"{pipeline:.0f} batches/s; train step {train:.1f} steps/s; "
        f"the pipeline is {pipeline / train:.0f}x faster than training")


if __name__ == "__main__":
  main()
