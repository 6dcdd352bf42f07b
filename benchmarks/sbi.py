"""Neural posterior estimation against sbi at equal simulation budgets,
on tasks whose posterior is known exactly:

    python -m benchmarks.sbi --write_tasks=sbi_tasks.npz [--budgets=1000,10000]
    python -m benchmarks.sbi_reference --data=sbi_tasks.npz --out=sbi_out.npz
    python -m benchmarks.sbi --tasks=sbi_tasks.npz [--sbi_output=sbi_out.npz]

(the second in a PyTorch environment with sbi).

gaussian_linear: theta in R^10, prior N(0, 0.1 I), x | theta ~ N(theta,
0.1 I), so p(theta | x) = N(x / 2, 0.05 I). Ten observations from the
prior predictive (seed 99), REFERENCE_SAMPLES exact posterior samples
each. Ours: maf_tf.sbi.fit_posterior with sbi's default flow size (5
MADE layers of two hidden layers of 50 units) and our default loop;
sbi: NPE() with its defaults (benchmarks.sbi_reference).

Reported per system and budget: KL(p || q) averaged over the
observations (from the exact samples: mean of log p - log q), the C2ST
accuracy (a classifier telling C2ST_SAMPLES exact from as many learned
samples, 5-fold cross-validated; 0.5 is perfect), the seconds to train,
and the seconds to draw 10,000 samples for each of the ten observations.
"""

import os
import time

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
flags.DEFINE_string("write_tasks", None, "Write the simulations, "
                    "observations and reference samples to this .npz.")
flags.DEFINE_string("tasks", None, "The .npz --write_tasks wrote.")
flags.DEFINE_string("sbi_output", None, "benchmarks.sbi_reference's .npz.")
flags.DEFINE_list("budgets", ["1000", "10000", "100000"], "Simulations.")

SIZE = 10
OBSERVATIONS = 10
REFERENCE_SAMPLES = 10_000
C2ST_SAMPLES = 2_000


def _simulate(count: int, seed: int):
  rng = np.random.default_rng(seed)
  theta = rng.normal(0, np.sqrt(0.1), (count, SIZE))
  return theta, theta + rng.normal(0, np.sqrt(0.1), (count, SIZE))


def _exact_log_prob(theta, observation):
  return (-0.5 * (theta - observation / 2) ** 2 / 0.05
          - 0.5 * np.log(2 * np.pi * 0.05)).sum(-1)


def write_data(path: str, budgets) -> None:
  arrays = {}
  _, observations = _simulate(OBSERVATIONS, seed=99)
  rng = np.random.default_rng(98)
  arrays["gaussian_linear/observations"] = observations
  arrays["gaussian_linear/reference"] = np.stack([
      o / 2 + rng.normal(0, np.sqrt(0.05), (REFERENCE_SAMPLES, SIZE))
      for o in observations])
  for budget in budgets:
    theta, x = _simulate(budget, seed=budget)
    arrays[f"gaussian_linear/{budget}/theta"] = theta
    arrays[f"gaussian_linear/{budget}/x"] = x
  np.savez(path, **arrays)


def c2st(exact: np.ndarray, learned: np.ndarray, seed: int = 0) -> float:
  """Cross-validated accuracy of an MLP telling exact from learned
  samples (as sbi's c2st: two layers of 10 x dim units, standardised
  inputs; here with early stopping on a tenth of each fold's training
  points, which sbi's does not use: 217 s for one pair without it)."""
  from sklearn.model_selection import cross_val_score  # pylint: disable=import-outside-toplevel
  from sklearn.neural_network import MLPClassifier  # pylint: disable=import-outside-toplevel
  from sklearn.pipeline import make_pipeline  # pylint: disable=import-outside-toplevel
  from sklearn.preprocessing import StandardScaler  # pylint: disable=import-outside-toplevel
  count = min(C2ST_SAMPLES, len(exact), len(learned))
  points = np.concatenate([exact[:count], learned[:count]])
  labels = np.r_[np.zeros(count), np.ones(count)]
  classifier = make_pipeline(StandardScaler(), MLPClassifier(
      (10 * points.shape[1],) * 2, max_iter=1000, early_stopping=True,
      random_state=seed))
  return float(cross_val_score(classifier, points, labels, cv=5).mean())


def _ours(theta, x, observations, reference) -> dict:
  from maf_tf.sbi import fit_posterior, samples_for_each  # pylint: disable=import-outside-toplevel
  start = time.perf_counter()
  posterior = fit_posterior(theta, x, num_layers=5, hidden_units=(50, 50))
  train_seconds = time.perf_counter() - start
  samples_for_each(posterior, 10, observations)  # traced once
  start = time.perf_counter()
  samples = samples_for_each(posterior, REFERENCE_SAMPLES, observations)
  sample_seconds = time.perf_counter() - start
  log_q = np.stack([posterior.log_prob(
      exact.astype(np.float32), np.repeat(o[None], len(exact), 0).astype(
          np.float32)).numpy() for o, exact in zip(observations, reference)])
  return {"samples": samples, "log_q": log_q, "train_seconds": train_seconds,
          "sample_seconds": sample_seconds}


def _row(task, budget, system, result, observations, reference) -> str:
  kl = np.mean([(_exact_log_prob(exact, o) - log_q).mean() for o, exact,
                log_q in zip(observations, reference, result["log_q"])])
  accuracy = np.mean([c2st(exact, learned, seed) for seed, (exact, learned)
                      in enumerate(zip(reference, result["samples"]))])
  return (f"| {task} | {budget:,} | {system} | {kl:.3f} | {accuracy:.3f} | "
          f"{float(result['train_seconds']):.0f} | "
          f"{float(result['sample_seconds']):.2f} |")


def main(argv):
  del argv
  budgets = [int(b) for b in FLAGS.budgets]
  if FLAGS.write_tasks:
    write_data(FLAGS.write_tasks, budgets)
    return
  if not FLAGS.tasks or not os.path.isfile(FLAGS.tasks):
    raise app.UsageError("give --write_tasks=FILE, or --tasks=FILE that "
                         "--write_tasks wrote")
  arrays = np.load(FLAGS.tasks)
  reference_run = np.load(FLAGS.sbi_output) if FLAGS.sbi_output else None
  observations = arrays["gaussian_linear/observations"]
  reference = arrays["gaussian_linear/reference"]
  print("| task | simulations | system | KL(p ‖ q) | C2ST | train s | "
        "sample s (10 × 10,000) |\n|---|---|---|---|---|---|---|")
  for budget in budgets:
    key = f"gaussian_linear/{budget}"
    if f"{key}/theta" not in arrays.files:
      raise app.UsageError(f"{FLAGS.tasks} holds no budget {budget}")
    ours = _ours(arrays[f"{key}/theta"], arrays[f"{key}/x"], observations,
                 reference)
    print(_row("gaussian_linear", budget, "ours", ours, observations,
               reference), flush=True)
    if reference_run is not None and f"{key}/samples" in reference_run:
      theirs = {name: reference_run[f"{key}/{name}"] for name in (
          "samples", "log_q", "train_seconds", "sample_seconds")}
      print(_row("gaussian_linear", budget, "sbi NPE", theirs,
                 observations, reference), flush=True)


if __name__ == "__main__":
  app.run(main)
