"""sbi's default neural posterior estimation on the simulations that
benchmarks.sbi writes, in an environment with PyTorch and sbi (which
this project does not install):

    # 1. from this project's environment:
    python -m benchmarks.sbi --write_tasks=sbi_tasks.npz
    # 2. in the PyTorch environment (`pip install sbi`):
    python -m benchmarks.sbi_reference --data=sbi_tasks.npz --out=sbi_out.npz
    # 3. back in this project's environment, both side by side:
    python -m benchmarks.sbi --tasks=sbi_tasks.npz --sbi_output=sbi_out.npz

For each task and simulation budget: sbi's NPE with its default density
estimator (a MAF), trained with its default loop
(`append_simulations(...).train()`; the task's box prior when it has
bounds, which sbi's sampler then rejects outside of), then for each of
the task's observations NUM_SAMPLES posterior samples and the log-density of the
reference posterior samples; the seconds to train and to sample. Only
numpy, torch and sbi are imported (not this project).
"""

import argparse
import sys
import time

NUM_SAMPLES = 10_000


def run_task(arrays, key: str, seed: int) -> dict:
  """sbi's posterior for the simulations under `key`: samples [O, S, P],
  log q of the reference samples [O, R], and times."""
  import numpy as np
  import torch
  from sbi.inference import NPE
  torch.manual_seed(seed)
  theta = torch.tensor(arrays[f"{key}/theta"], dtype=torch.float32)
  x = torch.tensor(arrays[f"{key}/x"], dtype=torch.float32)
  task = key.split("/")[0]
  observations = arrays[f"{task}/observations"]
  reference = arrays[f"{task}/reference"]
  prior = None
  if f"{task}/bounds" in arrays.files:
    from sbi.utils import BoxUniform
    bounds = torch.tensor(arrays[f"{task}/bounds"], dtype=torch.float32)
    prior = BoxUniform(bounds[:, 0], bounds[:, 1])
  start = time.perf_counter()
  inference = NPE(prior=prior)
  estimator = inference.append_simulations(theta, x).train(
      show_train_summary=False)
  posterior = inference.build_posterior(estimator)
  train_seconds = time.perf_counter() - start
  samples, log_q, sample_seconds = [], [], 0.0
  for observation, exact in zip(observations, reference):
    given = torch.tensor(observation, dtype=torch.float32)
    start = time.perf_counter()
    drawn = posterior.sample((NUM_SAMPLES,), x=given,
                             show_progress_bars=False)
    sample_seconds += time.perf_counter() - start
    samples.append(drawn.numpy())
    log_q.append(posterior.log_prob(torch.tensor(exact, dtype=torch.float32),
                                    x=given).detach().numpy())
  return {f"{key}/samples": np.stack(samples),
          f"{key}/log_q": np.stack(log_q),
          f"{key}/train_seconds": np.array(train_seconds),
          f"{key}/sample_seconds": np.array(sample_seconds)}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m benchmarks.sbi_reference",
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--data", required=True,
                      help="the .npz benchmarks.sbi --write_tasks wrote")
  parser.add_argument("--out", required=True, help=".npz to write")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  import numpy as np
  arrays = np.load(args.data)
  keys = sorted({k.rsplit("/", 1)[0] for k in arrays.files
                 if k.endswith("/theta")})
  results = {}
  for key in keys:
    results.update(run_task(arrays, key, args.seed))
    print(f"{key}: trained in {float(results[key + '/train_seconds']):.1f}"
          f" s", flush=True)
  np.savez(args.out, **results)
  return 0


if __name__ == "__main__":
  sys.exit(main())
