"""Speed and memory of maf-tf against TFP's own MAF, printed as a table.

    python -m benchmarks.speed [--presets=mnist,mnist_paper,cifar10]

For each preset (sizes, degrees and batch norm from configs.presets), one
child process per system builds the flow and measures, after a warm-up:
  * training samples/s at batch 100 (ours: Model.fit with our train step
    and the trainer's steps_per_execution;
    TFP: a tf.function looping as many Adam steps on -mean log_prob),
  * log_prob samples/s at batch 1000,
  * seconds to draw 100 exact samples (ours: the fast sampler, plain and
    under XLA; TFP: TransformedDistribution.sample),
  * peak resident memory after training and at the end (ru_maxrss).
Rates are those of the fastest timed call (see `rate`; training: 20 steps
per call, ours through fit, TFP in one tf.function). The systems run
round-robin for --rounds rounds (the machine's load drifts, so each keeps
its best round); sampling is timed in the first round only.
Systems: ours (float32), ours with bfloat16 matmuls, and TFP's
tfb.MaskedAutoregressiveFlow + tfb.AutoregressiveNetwork (relu) +
tfb.Permute (+ tfb.BatchNormalization where ours has batch norm), same sizes.
Every process measures the machine's dense float32 matmul throughput (the
best is used); the table gives ratios ours/TFP and the fraction of that
peak reached, from the FLOPs per sample of the dense (unmasked-size)
matmuls. Output: a Markdown table, ready for the README.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

SYSTEMS = ("ours", "ours_bf16", "tfp")


def rate(function, batch, seconds=5.0, min_calls=3):
  """Samples per second of function() (`batch` samples per call): the
  fastest of its timed calls over at least `seconds` and `min_calls` calls,
  after two warm-up calls. On a shared machine noise only adds time, so the
  fastest call is the least disturbed one."""
  function()
  function()
  best, calls, start = 0.0, 0, time.perf_counter()
  while calls < min_calls or time.perf_counter() - start < seconds:
    begin = time.perf_counter()
    function()
    best = max(best, batch / (time.perf_counter() - begin))
    calls += 1
  return best


def seconds(function, warm_up=100, n=100):
  """Seconds of function(n), after a warm-up call function(warm_up)
  (XLA compiles per shape; TFP's graph takes any n, and its warm-up at 100
  would cost minutes on CIFAR-10)."""
  function(warm_up)
  start = time.perf_counter()
  function(n)
  return time.perf_counter() - start


def peak_mb():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def preset_config(preset):
  """(TrainConfig, event size D) of a preset."""
  from configs.presets import PRESETS  # pylint: disable=import-outside-toplevel
  from maf_tf.data.specs import IMAGE_SPECS  # pylint: disable=import-outside-toplevel
  config = PRESETS[preset]
  return config, IMAGE_SPECS[config.dataset].event_size


def our_flow(config, size, matmul_dtype=None, seed=0):
  """This project's MAF with a preset's model configuration."""
  from maf_tf import MAF  # pylint: disable=import-outside-toplevel
  from trainers.common import model_arguments  # pylint: disable=import-outside-toplevel
  return MAF(**model_arguments(config.replace(matmul_dtype=matmul_dtype,
                                              seed=seed), size))


def image_presets():
  """The presets of image datasets, which these benchmarks accept."""
  from configs.presets import PRESETS  # pylint: disable=import-outside-toplevel
  from maf_tf.data.specs import IMAGE_SPECS  # pylint: disable=import-outside-toplevel
  return sorted(p for p, c in PRESETS.items() if c.dataset in IMAGE_SPECS)


def flops_per_sample(config, size):
  """2 x multiply-adds of one density pass (masks ignored)."""
  widths = [size, *config.hidden_units, 2 * size]
  return config.num_layers * 2 * sum(
      a * b for a, b in zip(widths[:-1], widths[1:]))


def tfp_flows(config, size):
  """(training, inference) TransformedDistributions sharing every weight."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
  tfb, tfd = tfp.bijectors, tfp.distributions
  with_norm = {"between": range(config.num_layers - 1),
               "after_each": range(config.num_layers), None: ()}
  norms = {k: tfb.BatchNormalization() for k in with_norm[config.batch_norm]}
  mafs = [tfb.MaskedAutoregressiveFlow(tfb.AutoregressiveNetwork(
      params=2, event_shape=[size], hidden_units=list(config.hidden_units),
      activation="relu", hidden_degrees="random" if
      config.hidden_degrees == "random" else "equal"))
          for _ in range(config.num_layers)]

  def flow(training):
    steps = []  # data -> base, as our MAF; Chain applies inverses in order
    for k in range(config.num_layers):
      if k:
        steps.append(tfb.Permute(np.arange(size)[::-1]))
      steps.append(mafs[k])
      if k in norms:
        steps.append(tfb.BatchNormalization(norms[k].batchnorm,
                                            training=training))
    return tfd.TransformedDistribution(
        tfd.Sample(tfd.Normal(0.0, 1.0), [size]), tfb.Chain(steps))

  return flow(True), flow(False)


def measure(system, preset, sample):
  """The child: the figures of one system on one preset, as a dict
  (sampling only if `sample`)."""
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from maf_tf import FusedAdam  # pylint: disable=import-outside-toplevel
  config, size = preset_config(preset)
  steps = 2 * config.steps_per_execution  # training steps per timed call
  result = {"matmul": matmul_flops()}  # the peak, in every child (noise)
  x100 = tf.random.uniform([100, size])
  x1000 = tf.random.uniform([1000, size])
  if system.startswith("ours"):
    flow = our_flow(config, size,
                    "bfloat16" if system == "ours_bf16" else None)
    flow.compile(FusedAdam(1e-4),  # as trainers.train
                 steps_per_execution=config.steps_per_execution)
    data = tf.data.Dataset.from_tensors(x100).repeat()
    result["train"] = rate(lambda: flow.fit(
        data, steps_per_epoch=steps, epochs=1, verbose=0), 100 * steps)
    result["peak_train_mb"] = peak_mb()
    density = tf.function(lambda: flow.log_prob(x1000))
    result["log_prob"] = rate(lambda: density().numpy(), 1000)
    if system == "ours" and sample:
      for name, jit in (("sample", False), ("sample_xla", True)):
        draw = tf.function(lambda n, jit=jit: flow.sample(
            n, seed=1, jit_compile=jit))
        result[name] = seconds(lambda n, draw=draw: draw(tf.constant(n)))
        result.setdefault("peak_mb", peak_mb())  # before XLA's own peak
      result["peak_xla_mb"] = peak_mb()
  else:
    training, inference = tfp_flows(config, size)
    inference.log_prob(x100[:2])  # builds the networks
    training.log_prob(x100[:2])
    optimizer = keras.optimizers.Adam(1e-4)
    variables = training.trainable_variables

    @tf.function
    def train_steps():
      loss = tf.constant(0.0)
      for _ in tf.range(steps):
        with tf.GradientTape() as tape:
          loss = -tf.reduce_mean(training.log_prob(x100))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables),
                                      variables))
      return loss

    result["train"] = rate(lambda: train_steps().numpy(), 100 * steps)
    result["peak_train_mb"] = peak_mb()
    density = tf.function(lambda: inference.log_prob(x1000))
    result["log_prob"] = rate(lambda: density().numpy(), 1000)
    if sample:
      draw = tf.function(lambda n: inference.sample(n, seed=1))
      result["sample"] = seconds(lambda n: draw(tf.constant(n)), warm_up=2)
  result.setdefault("peak_mb", peak_mb())
  return result


def matmul_flops(seconds_=3.0):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  a = tf.random.normal([1024, 1024])
  step = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
  return rate(lambda: step().numpy(), 2 * 1024**3, seconds_)


def machine():
  model = "unknown CPU"
  with open("/proc/cpuinfo") as stream:
    for line in stream:
      if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
  memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
  return (f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB; Python "
          f"{platform.python_version()}, TensorFlow {tf.__version__}, TFP "
          f"{tfp.__version__}")


def table(figures, peak):
  rows = ["| preset | system | train /s | log_prob /s | 100 samples | "
          "peak memory (train / all) | train, log_prob % of peak |",
          "|---|---|---|---|---|---|---|"]
  for preset, by_system in figures.items():
    cost = flops_per_sample(*preset_config(preset))
    tfp_ = by_system["tfp"]
    for system, r in by_system.items():
      sample = f"{r['sample']:.2f} s" if "sample" in r else "–"
      if "sample_xla" in r:
        sample += f" (XLA {r['sample_xla']:.2f} s)"
      ratio = ["", "", ""]
      if system != "tfp":
        ratio[0] = f" ({r['train'] / tfp_['train']:.2f}×)"
        ratio[1] = f" ({r['log_prob'] / tfp_['log_prob']:.2f}×)"
      if "sample_xla" in r:
        ratio[2] = (f" ({tfp_['sample'] / r['sample']:.0f}×, "
                    f"XLA {tfp_['sample'] / r['sample_xla']:.0f}×)")
      rows.append(
          f"| {preset} | {system} | {r['train']:.0f}{ratio[0]} | "
          f"{r['log_prob']:.0f}{ratio[1]} | {sample}{ratio[2]} | "
          f"{r['peak_train_mb'] / 1024:.1f} / {r['peak_mb'] / 1024:.1f} GB"
          + (f" (XLA sampling {r['peak_xla_mb'] / 1024:.1f})"
             if "peak_xla_mb" in r else "") + " | "
          f"{r['train'] * 3 * cost / peak:.0%}, "
          f"{r['log_prob'] * cost / peak:.0%} |")
  return "\n".join(rows)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--presets", default="mnist,mnist_paper,cifar10")
  parser.add_argument("--systems", default=",".join(SYSTEMS))
  parser.add_argument("--rounds", type=int, default=2,
                      help="round-robin rounds over the systems; rates are "
                      "the best round (sampling is timed in the first)")
  parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    system, preset, sample = args.child
    print(json.dumps(measure(system, preset, sample == "1")))
    return
  choices = image_presets()
  presets = args.presets.split(",")
  systems = args.systems.split(",")
  unknown = [p for p in presets if p not in choices] + [
      s for s in systems if s not in SYSTEMS]
  if unknown or "tfp" not in systems:
    sys.exit(f"benchmarks.speed: unknown preset/system {unknown} (image "
             f"presets: {choices}; systems: {SYSTEMS}, tfp required)")
  figures = {}
  for preset in presets:
    figures[preset] = {system: {} for system in systems}
    for round_ in range(args.rounds):  # interleaved: load drifts over time
      for system in systems:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.speed", "--child", system,
             preset, str(int(round_ == 0))], capture_output=True, text=True,
            check=False)
        if out.returncode:
          sys.exit(f"benchmarks.speed: {system} on {preset} failed:\n"
                   f"{out.stderr[-2000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{preset} {system} round {round_}: {result}", file=sys.stderr)
        best = figures[preset][system]
        for key, value in result.items():
          keep = min if key.startswith("sample") else max
          best[key] = keep(best.get(key, value), value)
  peak = max([matmul_flops()] + [
      r["matmul"] for by_system in figures.values()
      for r in by_system.values()])
  print(f"Machine: {machine()}; dense float32 matmul {peak / 1e9:.0f} "
        f"GFLOP/s.\nCommand: python -m benchmarks.speed --presets="
        f"{args.presets} --rounds={args.rounds} (rates: best round; memory: "
        f"largest)\n")
  print(table(figures, peak))


if __name__ == "__main__":
  main()
