"""Neural posterior estimation against sbi at equal simulation budgets,
on tasks whose posterior is known exactly:

    python -m benchmarks.sbi --write_tasks=sbi_tasks.npz [--budgets=1000,10000]
    python -m benchmarks.sbi_reference --data=sbi_tasks.npz --out=sbi_out.npz
    python -m benchmarks.sbi --tasks=sbi_tasks.npz [--sbi_output=sbi_out.npz]

(the second in a PyTorch environment with sbi).

Tasks (TASKS): gaussian_linear (10 parameters, Gaussian posterior),
two_moons (2 parameters in a box, a bimodal crescent posterior) and
gaussian_linear_64 (64 parameters, for the sampling times), each
with ten observations from the prior predictive (seed 99) and
REFERENCE_SAMPLES exact posterior samples of each. Ours:
maf_tf.sbi.fit_posterior with the prior's bounds and its defaults (sbi's
flow size: 5 MADE layers of two hidden layers of 50 units, tanh);
sbi: NPE(prior) with its defaults (benchmarks.sbi_reference),
given the box prior for two_moons.

Reported per system and budget: KL(p || q) averaged over the
observations (from the exact samples: mean of log p - log q), the C2ST
accuracy (a classifier telling C2ST_SAMPLES exact from as many learned
samples, 5-fold cross-validated; 0.5 is perfect), the seconds to train,
and the seconds to draw 10,000 samples for each of the ten observations
(ours: all in one call, after a first call that traces the sampler's
graph, whose time is shown beside it; sbi: one call per observation).
"""

import os
import time

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
DEFAULT_TASKS = ("gaussian_linear", "two_moons")  # sbibm's; see TASKS
flags.DEFINE_string("write_tasks", None, "Write the simulations, "
                    "observations and reference samples to this .npz.")
flags.DEFINE_string("tasks", None, "The .npz --write_tasks wrote.")
flags.DEFINE_string("sbi_output", None, "benchmarks.sbi_reference's .npz.")
flags.DEFINE_list("budgets", ["1000", "10000", "100000"], "Simulations.")
flags.DEFINE_bool("c2st", True, "Report C2ST (at 64 parameters its "
                  "classifiers take longer than the training).")
flags.DEFINE_list("task_names", list(DEFAULT_TASKS),
                  "Tasks to write or run, of gaussian_linear, two_moons "
                  "and gaussian_linear_64.")

OBSERVATIONS = 10
REFERENCE_SAMPLES = 10_000
C2ST_SAMPLES = 2_000


class GaussianLinear:
  """theta in R^P, prior N(0, 0.1 I), x | theta ~ N(theta, 0.1 I), so
  p(theta | x) = N(x / 2, 0.05 I); sbibm's task for P = 10."""
  bounds = None

  def __init__(self, dimension: int):
    self.dimension = dimension

  def simulate(self, count: int, seed: int):
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, np.sqrt(0.1), (count, self.dimension))
    return theta, theta + rng.normal(0, np.sqrt(0.1), theta.shape)

  @staticmethod
  def reference(observation, count: int, rng):
    return observation / 2 + rng.normal(0, np.sqrt(0.05),
                                        (count, len(observation)))

  @staticmethod
  def log_prob(theta, observation):
    return (-0.5 * (theta - observation / 2) ** 2 / 0.05
            - 0.5 * np.log(2 * np.pi * 0.05)).sum(-1)


class TwoMoons:
  """sbibm's two moons: theta ~ U(-1, 1)^2, x = g(theta) + p with
  g(theta) = (-|theta_0 + theta_1| / sqrt 2, (theta_1 - theta_0) / sqrt 2)
  and p = (0.25 + r cos a, r sin a), a ~ U(-pi/2, pi/2), r ~ N(0.1, 0.01^2).
  The posterior is crescent-shaped and bimodal. g is two-to-one with
  |det| 1, so p(theta | x) = p_p(x - g(theta)) / Z inside the box, exact
  samples come from drawing p, one of the two preimages and rejecting
  those outside the box, and Z is the mean number of preimages inside
  it."""
  bounds = [(-1.0, 1.0), (-1.0, 1.0)]

  @staticmethod
  def _noise(count: int, rng):
    angle = rng.uniform(-np.pi / 2, np.pi / 2, count)
    radius = rng.normal(0.1, 0.01, count)
    return np.stack([0.25 + radius * np.cos(angle),
                     radius * np.sin(angle)], -1)

  @classmethod
  def simulate(cls, count: int, seed: int):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-1, 1, (count, 2))
    moon = np.stack([-np.abs(theta.sum(-1)),
                     theta[:, 1] - theta[:, 0]], -1) / np.sqrt(2)
    return theta, moon + cls._noise(count, rng)

  @classmethod
  def _preimages(cls, observation, count: int, rng):
    """Each draw of p's two preimages theta [2, count, 2]."""
    noise = cls._noise(count, rng)
    total = -np.sqrt(2) * (observation[0] - noise[:, 0])  # |theta_0 + theta_1|
    total = np.where(total >= 0, total, np.nan)        # no preimage
    difference = np.sqrt(2) * (observation[1] - noise[:, 1])
    return np.stack([np.stack([(s * total - difference) / 2,
                               (s * total + difference) / 2], -1)
                     for s in (1, -1)])

  @classmethod
  def reference(cls, observation, count: int, rng):
    kept = []
    while sum(len(k) for k in kept) < count:
      both = cls._preimages(observation, 4 * count, rng)
      pick = both[rng.integers(2, size=4 * count), np.arange(4 * count)]
      kept.append(pick[np.all(np.abs(pick) < 1, -1)])
    return np.concatenate(kept)[:count]

  @classmethod
  def log_prob(cls, theta, observation):
    both = cls._preimages(observation, 1_000_000, np.random.default_rng(0))
    normaliser = np.all(np.abs(both) < 1, -1).sum(0).mean()
    moon = np.stack([-np.abs(theta.sum(-1)),
                     theta[:, 1] - theta[:, 0]], -1) / np.sqrt(2)
    offset = observation - moon - [0.25, 0.0]
    radius = np.hypot(*offset.T)
    log_noise = np.where(
        offset[:, 0] > 0,
        -0.5 * ((radius - 0.1) / 0.01) ** 2 - np.log(0.01 * np.sqrt(2 * np.pi))
        - np.log(np.pi) - np.log(radius), -np.inf)
    return log_noise - np.log(normaliser)


TASKS = {"gaussian_linear": GaussianLinear(10), "two_moons": TwoMoons(),
         # where the sampler's work matters: 64 sequential dimensions
         "gaussian_linear_64": GaussianLinear(64)}


def write_data(path: str, budgets, tasks=DEFAULT_TASKS) -> None:
  """Each task's OBSERVATIONS observations (prior predictive, seed 99),
  REFERENCE_SAMPLES exact posterior samples of each, the prior's bounds
  and one set of simulations per budget."""
  arrays = {}
  for name in tasks:
    task = TASKS[name]
    _, observations = task.simulate(OBSERVATIONS, seed=99)
    rng = np.random.default_rng(98)
    arrays[f"{name}/observations"] = observations
    arrays[f"{name}/reference"] = np.stack([
        task.reference(o, REFERENCE_SAMPLES, rng) for o in observations])
    if task.bounds:
      arrays[f"{name}/bounds"] = np.array(task.bounds)
    for budget in budgets:
      theta, x = task.simulate(budget, seed=budget)
      arrays[f"{name}/{budget}/theta"] = theta
      arrays[f"{name}/{budget}/x"] = x
  np.savez(path, **arrays)


def c2st(exact: np.ndarray, learned: np.ndarray, seed: int = 0) -> float:
  """Cross-validated accuracy of an MLP telling exact from learned
  samples (as sbi's c2st: two layers of 10 x dim units, standardised
  inputs; here with early stopping on a tenth of each fold's training
  points, which sbi's does not use: 217 s for one pair without it)."""
  from sklearn.model_selection import cross_val_score
  from sklearn.neural_network import MLPClassifier
  from sklearn.pipeline import make_pipeline
  from sklearn.preprocessing import StandardScaler
  count = min(C2ST_SAMPLES, len(exact), len(learned))
  points = np.concatenate([exact[:count], learned[:count]])
  labels = np.r_[np.zeros(count), np.ones(count)]
  classifier = make_pipeline(StandardScaler(), MLPClassifier(
      (10 * points.shape[1],) * 2, max_iter=1000, early_stopping=True,
      random_state=seed))
  return float(cross_val_score(classifier, points, labels, cv=5).mean())


def _ours(theta, x, bounds, observations, reference) -> dict:
  from maf_tf.sbi import fit_posterior, samples_for_each
  start = time.perf_counter()
  posterior = fit_posterior(theta, x, bounds=bounds)
  train_seconds = time.perf_counter() - start
  start = time.perf_counter()  # the first call traces the sampler's graph
  samples_for_each(posterior, REFERENCE_SAMPLES, observations, seed=1)
  first_seconds = time.perf_counter() - start
  start = time.perf_counter()
  samples = samples_for_each(posterior, REFERENCE_SAMPLES, observations)
  sample_seconds = time.perf_counter() - start
  log_q = np.stack([posterior.log_prob(
      exact.astype(np.float32), np.repeat(o[None], len(exact), 0).astype(
          np.float32)).numpy() for o, exact in zip(observations, reference)])
  return {"samples": samples, "log_q": log_q, "train_seconds": train_seconds,
          "sample_seconds": sample_seconds, "first_seconds": first_seconds}


def _row(name, budget, system, result, observations, reference) -> str:
  kl = np.mean([(TASKS[name].log_prob(exact, o) - log_q).mean()
                for o, exact, log_q in zip(observations, reference,
                                           result["log_q"])])
  accuracy = "–" if not FLAGS.c2st else "{:.3f}".format(np.mean([
      c2st(exact, learned, seed) for seed, (exact, learned)
      in enumerate(zip(reference, result["samples"]))]))
  return (f"| {name} | {budget:,} | {system} | {kl:.3f} | {accuracy} | "
          f"{float(result['train_seconds']):.0f} | "
          f"{float(result['sample_seconds']):.2f}" + (
              f" (first call {result['first_seconds']:.1f})"
              if "first_seconds" in result else "") + " |")


def main(argv):
  del argv
  budgets = [int(b) for b in FLAGS.budgets]
  unknown = sorted(set(FLAGS.task_names) - set(TASKS))
  if unknown:
    raise app.UsageError(f"unknown --task_names {unknown}; expected some "
                         f"of {sorted(TASKS)}")
  if FLAGS.write_tasks:
    write_data(FLAGS.write_tasks, budgets, FLAGS.task_names)
    return
  if not FLAGS.tasks or not os.path.isfile(FLAGS.tasks):
    raise app.UsageError("give --write_tasks=FILE, or --tasks=FILE that "
                         "--write_tasks wrote")
  arrays = np.load(FLAGS.tasks)
  reference_run = np.load(FLAGS.sbi_output) if FLAGS.sbi_output else None
  print("| task | simulations | system | KL(p ‖ q) | C2ST | train s | "
        "sample s (10 × 10,000) |\n|---|---|---|---|---|---|---|")
  for name in FLAGS.task_names:
    observations = arrays[f"{name}/observations"]
    reference = arrays[f"{name}/reference"]
    bounds = (arrays[f"{name}/bounds"].tolist()
              if f"{name}/bounds" in arrays.files else None)
    for budget in budgets:
      key = f"{name}/{budget}"
      if f"{key}/theta" not in arrays.files:
        raise app.UsageError(f"{FLAGS.tasks} holds no {key}")
      ours = _ours(arrays[f"{key}/theta"], arrays[f"{key}/x"], bounds,
                   observations, reference)
      print(_row(name, budget, "ours", ours, observations, reference),
            flush=True)
      if reference_run is not None and f"{key}/samples" in reference_run:
        theirs = {field: reference_run[f"{key}/{field}"] for field in (
            "samples", "log_q", "train_seconds", "sample_seconds")}
        print(_row(name, budget, "sbi NPE", theirs, observations,
                   reference), flush=True)


if __name__ == "__main__":
  app.run(main)
