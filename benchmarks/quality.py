"""Test log-likelihood of maf-tf against TFP's own MAF at equal steps.

    python -m benchmarks.quality [--datasets=toys,digits,fashion_mnist]
        [--systems=ours,tfp] [--fashion_subset=10000] [--seeds=0]
        [--steps_scale=1.0]

For each dataset both systems are trained from initialisation with the same
loop: the same batches, Adam at the preset's learning rate, no clipping and
no weight decay, for the same number of steps; a step whose loss or
gradient is NaN/Inf is skipped and counted (for both). Then each is scored
on the test set (TFP in inference mode); no score is clipped or dropped, and
the table counts the test points whose score is not finite.

  ours: maf_tf.MAF with the preset's configuration (the library's defaults
        for everything the preset does not set); ours_*: the same with one
        setting changed (VARIANTS; --systems picks them), among them the
        paper's other models (ours_maf_mog, ours_made, ours_made_mog,
        ours_real_nvp; ours_gaussian is fitted in closed form on one pass
        of the training data), the spline flow (ours_nsf, 8 bins on
        [-5, 5], standardised as fit() does it; ours_nsf_bound_3, _8, _10
        and _14 on [-3, 3] to [-14, 14]; ours_nsf_unstandardized without
        the standardisation), MAF of the piecewise-linear transformer
        (ours_linear) and gradient clipping (ours_clip_5,
        ours_clip_50: clipped to that global norm; every other system is
        not clipped).
  tfp:  tfb.MaskedAutoregressiveFlow + tfb.AutoregressiveNetwork (relu) +
        tfb.Permute (+ tfb.BatchNormalization where ours has batch norm),
        the same sizes (benchmarks.flows.tfp_flows).

Datasets (presets from configs.presets):
  toys           the six 2-D toys: 20,000 training points
                 (sample_toy(name, 20_000, seed)), 10,000 test points
                 (seed 99); 2000 steps at batch 256.
  digits         scikit-learn's 8x8 digits (offline): 1257 train / 270 test
                 images; 500 steps at batch 100 (40 epochs: on 1257
                 images longer runs measure overfitting, not fitting).
  fashion_mnist  Fashion-MNIST IDX files (--data_dir): the first
                 --fashion_subset training images, all 10,000 test images;
                 1000 steps at batch 100.
Images are dequantised by the data pipeline and logit-transformed with the
dataset's alpha before either model sees them; scores are logit-space
nats, mean +- 2 standard errors over the test points, with the median and
the worst point. Output: a Markdown table, ready for the README.
"""

import argparse
import os
import sys
import time

STEPS = {"toys": 2000, "digits": 500, "fashion_mnist": 1000}
# Our MAF with one setting changed from the preset (for the README's table
# of what each default is worth); 'ours' is the preset itself.
VARIANTS = {
    "ours": {},
    "ours_paper_form": dict(affine="shift_then_scale", initialization="paper",
                            log_scale_bound=10.0),
    "ours_paper_affine": dict(affine="shift_then_scale"),
    "ours_uniform_init": dict(initialization="uniform"),
    "ours_bound_10": dict(log_scale_bound=10.0),
    "ours_no_batch_norm": dict(batch_norm=None),
    "ours_batch_norm_between": dict(batch_norm="between"),
    "ours_batch_norm_after_each": dict(batch_norm="after_each"),
    "ours_lr_1e-4": dict(learning_rate=1e-4),
    # The paper's model family (maf_tf.models), each with the preset's
    # sizes; gaussian is fitted in closed form on one pass of the data.
    **{f"ours_{model}": dict(model=model) for model in (
        "maf_mog", "made", "made_mog", "real_nvp", "gaussian", "nsf")},
    # The spline flow's interval: zuko's 5 (our default) against the NSF
    # paper's 3 and a wider 8.
    "ours_nsf_bound_3": dict(model="nsf", spline_bound=3.0),
    "ours_nsf_bound_8": dict(model="nsf", spline_bound=8.0),
    # Wide enough for the images' logits (|logit| <= 13.8 at alpha 1e-6).
    "ours_nsf_bound_10": dict(model="nsf", spline_bound=10.0),
    "ours_nsf_bound_14": dict(model="nsf", spline_bound=14.0),
    "ours_nsf_unstandardized": dict(model="nsf", standardize=False),
    # MAF of the piecewise-linear transformer (--transformer=linear).
    "ours_linear": dict(transformer="linear"),
    "ours_clip_5": dict(clip_norm=5.0),
    "ours_clip_50": dict(clip_norm=50.0),
}
SYSTEMS = (*VARIANTS, "tfp")
DATASETS = tuple(STEPS)
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def _batches(train, batch_size, seed, alpha):
  """An endless iterator of float32 [batch, D] training batches."""
  import numpy as np
  import tensorflow as tf
  from maf_tf.bijectors import pixels_to_logits
  from maf_tf.data import training_dataset
  if alpha is None:  # 2-D points
    dataset = tf.data.Dataset.from_tensor_slices(train).shuffle(
        len(train), seed=seed).repeat().batch(batch_size, drop_remainder=True)
  else:
    dataset = training_dataset(train, batch_size=batch_size, seed=seed).map(
        lambda x: pixels_to_logits(x, alpha)[0])
  return iter(dataset.map(lambda x: tf.cast(x, np.float32)))


def _test_points(test, alpha):
  import numpy as np
  from maf_tf.bijectors import pixels_to_logits
  from maf_tf.data import evaluation_dataset
  if alpha is None:
    return [test]
  return [pixels_to_logits(x, alpha)[0].numpy().astype(np.float32)
          for x in evaluation_dataset(test, batch_size=1000, seed=1)]


def train_and_score(system, config, size, train, test, alpha, steps, seed):
  """{'log_likelihood': per-test-point array, 'seconds', 'skipped'}."""
  import keras
  import numpy as np
  import tensorflow as tf
  from benchmarks.flows import our_flow, tfp_flows
  keras.utils.set_random_seed(seed)
  changes = dict(VARIANTS.get(system, {}))
  flow_only = {k: changes.pop(k) for k in ("standardize",) if k in changes}
  config = config.replace(**changes)
  if system in VARIANTS:
    flow = our_flow(config, size, seed=seed, **flow_only)
    def train_log_prob(x):
      return flow.log_prob(x, training=True)
    test_log_prob = flow.log_prob
  else:
    training, inference = tfp_flows(config, size)
    train_log_prob, test_log_prob = training.log_prob, inference.log_prob
  if system in VARIANTS and flow.standardization is not None:
    # as fit() does: the standardisation adapts to the training data
    flow.adapt(train if alpha is None else np.concatenate(
        _test_points(train, alpha))[:100_000])
  batches = _batches(train, config.batch_size, seed, alpha)
  first = next(batches)
  train_log_prob(first)
  test_log_prob(first)  # builds every variable
  start = time.perf_counter()
  if system in VARIANTS and flow.fits_in_closed_form:
    for x in np.array_split(train if alpha is None else np.concatenate(
        _test_points(train, alpha)), max(1, len(train) // 1000)):
      flow.base.accumulate(x)
    return _scored(test_log_prob, test, alpha, start, 0)
  variables = (flow.trainable_variables if system in VARIANTS
               else training.trainable_variables)
  optimizer = keras.optimizers.Adam(config.learning_rate)
  clip = config.clip_norm if "clip_norm" in VARIANTS.get(system, {}) \
      else None

  @tf.function
  def step(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(train_log_prob(x))
    gradients = tape.gradient(loss, variables)
    norm = tf.linalg.global_norm(gradients)
    finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
    if clip:
      gradients, _ = tf.clip_by_global_norm(gradients, clip, use_norm=norm)

    def apply():
      optimizer.apply_gradients(zip(gradients, variables))
      return tf.constant(True)

    tf.cond(finite, apply, lambda: tf.constant(False))
    return finite

  skipped = 0
  for _ in range(steps):
    skipped += int(not step(next(batches)).numpy())
  return _scored(test_log_prob, test, alpha, start, skipped)


def _scored(test_log_prob, test, alpha, start, skipped):
  """train_and_score's result: the test scores, the seconds since `start`
  (training only) and the skipped steps."""
  import numpy as np
  import tensorflow as tf
  seconds = time.perf_counter() - start
  score = tf.function(test_log_prob)
  scores = np.concatenate([score(x).numpy() for x in _test_points(test,
                                                                 alpha)])
  return {"log_likelihood": scores, "seconds": seconds, "skipped": skipped}


def tasks(names, fashion_subset, data_dir):
  """(label, preset, size, train, test, alpha, steps) per dataset."""
  from configs.presets import PRESETS
  from maf_tf.data import TOYS, load_splits, sample_toy
  for name in names:
    if name == "toys":
      for toy in sorted(TOYS):
        yield (toy, PRESETS[toy], 2, lambda s, t=toy: sample_toy(t, 20_000, s),
               sample_toy(toy, 10_000, seed=99), None, STEPS[name])
      continue
    if name == "digits":
      splits = load_splits("digits")
      label = "digits"
    else:
      splits = load_splits("fashion_mnist", "idx", data_dir)
      label = f"fashion_mnist ({fashion_subset // 1000}k train)"
    train = splits.train[0][:fashion_subset if name != "digits" else None]
    yield (label, PRESETS[name], splits.description.event_size,
           lambda s, x=train: x, splits.test[0], splits.description.alpha,
           STEPS[name])


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog="python -m benchmarks.quality",
      description="Test log-likelihood of maf-tf vs TFP's MAF at equal "
      "steps.")
  parser.add_argument("--datasets", default=",".join(DATASETS),
                      help=f"comma-separated, from {', '.join(DATASETS)}")
  parser.add_argument("--fashion_subset", type=int, default=10_000,
                      help="Fashion-MNIST training images used (<= 60000)")
  parser.add_argument("--data_dir", default=FASHION_DIR,
                      help="directory of the Fashion-MNIST IDX files")
  parser.add_argument("--systems", default="ours,tfp",
                      help=f"comma-separated, from {', '.join(SYSTEMS)}")
  parser.add_argument("--seeds", default="0",
                      help="comma-separated seeds; each row is their mean")
  parser.add_argument("--steps_scale", type=float, default=1.0,
                      help="multiply every dataset's steps (quick runs)")
  args = parser.parse_args(argv)
  args.datasets = args.datasets.split(",")
  unknown = sorted(set(args.datasets) - set(DATASETS))
  if unknown:
    parser.error(f"unknown dataset(s) {unknown}; expected some of "
                 f"{list(DATASETS)}")
  args.systems = args.systems.split(",")
  unknown = sorted(set(args.systems) - set(SYSTEMS))
  if unknown:
    parser.error(f"unknown system(s) {unknown}; expected some of "
                 f"{list(SYSTEMS)}")
  try:
    args.seeds = [int(s) for s in args.seeds.split(",")]
  except ValueError:
    parser.error(f"--seeds must be comma-separated integers; got "
                 f"{args.seeds!r}")
  if not 0 < args.fashion_subset <= 60_000:
    parser.error(f"--fashion_subset must be in 1..60000; got "
                 f"{args.fashion_subset}")
  if not args.steps_scale > 0:
    parser.error(f"--steps_scale must be > 0; got {args.steps_scale}")
  return args


def main(argv=None) -> int:
  args = parse_args(argv)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  import numpy as np
  import tensorflow as tf
  tf.get_logger().setLevel("ERROR")  # retracing notes: one flow per run
  from maf_tf.metrics import mean_and_error
  given = " ".join(argv or sys.argv[1:])
  print(f"Command: python -m benchmarks.quality {given}".rstrip())
  print("\n| dataset | steps | system | test log-likelihood (nats) | median |"
        " worst | non-finite steps | non-finite test scores | train time |")
  print("|---|---|---|---|---|---|---|---|---|")
  for label, config, size, train, test, alpha, steps in tasks(
      args.datasets, args.fashion_subset, args.data_dir):
    steps = max(1, int(round(steps * args.steps_scale)))
    for system in args.systems:
      runs = [train_and_score(system, config, size, train(seed), test, alpha,
                              steps, seed) for seed in args.seeds]
      scores = np.mean([r["log_likelihood"] for r in runs], axis=0)
      mean, error = mean_and_error(scores)
      print(f"| {label} | {steps} | {system} | {mean:.3f} ± {error:.3f} | "
            f"{np.median(scores):.3f} | {scores.min():.4g} | "
            f"{sum(r['skipped'] for r in runs)} | "
            f"{int(np.sum(~np.isfinite(scores)))} | "
            f"{np.mean([r['seconds'] for r in runs]):.1f} s |", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
