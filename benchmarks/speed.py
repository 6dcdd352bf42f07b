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
Systems: ours (float32), ours under the mixed_bfloat16 dtype policy (MADE
matmuls in bfloat16), ours_maf_mog, ours_made_mog and ours_nsf (the
preset's sizes as MAF MoG and MADE MoG, K = 10, and as the spline flow,
8 bins; 100 samples with the fast sampler and the naive D-pass
reference), and TFP's
tfb.MaskedAutoregressiveFlow + tfb.AutoregressiveNetwork (relu) +
tfb.Permute (+ tfb.BatchNormalization where ours has batch norm), same sizes.
Every process measures the machine's dense float32 matmul throughput (the
best is used); the table gives ratios ours/TFP and the fraction of that
peak reached, from the FLOPs per sample of the dense (unmasked-size)
matmuls. Output: a Markdown table, ready for the README.
"""

import argparse
import json
import subprocess
import sys

from benchmarks.flows import (flops_per_sample, image_presets, our_flow,
                              preset_config, tfp_flows)
from benchmarks.timing import machine, matmul_flops, peak_mb, rate, seconds

# ours_<model>: the preset's sizes as that model of the paper's family.
MODEL_SYSTEMS = {"ours_maf_mog": "maf_mog", "ours_made_mog": "made_mog",
                 "ours_nsf": "nsf"}
SYSTEMS = ("ours", "ours_bf16", *MODEL_SYSTEMS, "tfp")


def measure(system, preset, sample):
  """The child: the figures of one system on one preset, as a dict
  (sampling only if `sample`)."""
  import keras
  import tensorflow as tf
  from maf_tf import FusedAdam
  config, size = preset_config(preset)
  config = config.replace(model=MODEL_SYSTEMS.get(system, "maf"))
  steps = 2 * config.steps_per_execution  # training steps per timed call
  result = {"matmul": matmul_flops()}  # the peak, in every child (noise)
  x100 = tf.random.uniform([100, size])
  x1000 = tf.random.uniform([1000, size])
  if system.startswith("ours"):
    flow = our_flow(config, size,
                    "mixed_bfloat16" if system == "ours_bf16" else None)
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
    elif system in MODEL_SYSTEMS and sample:
      for name, sampler in (("sample", "fast"), ("sample_naive", "naive")):
        draw = tf.function(lambda n, sampler=sampler: flow.sample(
            n, seed=1, sampler=sampler))
        result[name] = seconds(lambda n, draw=draw: draw(tf.constant(n)),
                               warm_up=2)
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


def table(figures, peak):
  rows = ["| preset | system | train /s | log_prob /s | 100 samples | "
          "peak memory (train / all) | train, log_prob % of peak |",
          "|---|---|---|---|---|---|---|"]
  for preset, by_system in figures.items():
    config, size = preset_config(preset)
    tfp_ = by_system["tfp"]
    for system, r in by_system.items():
      cost = flops_per_sample(config.replace(
          model=MODEL_SYSTEMS.get(system, "maf")), size)
      sample = f"{r['sample']:.2f} s" if "sample" in r else "–"
      if "sample_xla" in r:
        sample += f" (XLA {r['sample_xla']:.2f} s)"
      if "sample_naive" in r:
        sample += (f" (naive {r['sample_naive']:.2f} s, "
                   f"{r['sample_naive'] / r['sample']:.0f}× slower)")
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
