"""zuko's flows on the 2-D toys, in the protocol of benchmarks.quality: the
peer figures beside ours in the README.

    # 1. the data, from this project's environment:
    python -m benchmarks.zuko_reference --write_data=toys.npz
    # 2. the flows, in an environment with PyTorch (CPU) and zuko, which
    #    this project does not install:
    python -m benchmarks.zuko_reference --data=toys.npz [--flow=nsf]
        [--steps=2000] [--seeds=0]

Each toy: 20,000 training points (sample_toy(name, 20_000, seed)) and
10,000 test points (seed 99), as benchmarks.quality draws them; zuko's
flow with the toy preset's sizes (5 transforms, hidden [64, 64]; NSF: 8
bins, zuko's bound 5) from PyTorch's default initialisation, Adam 1e-3,
batches of 256 drawn by a seeded shuffle, no clipping; the mean test
log-likelihood in nats, ± 2 standard errors, median and worst point.
"""

import argparse
import sys

TOY_TRAIN, TOY_TEST = 20_000, 10_000


def write_data(path: str, seeds) -> None:
  """Every toy's training sets (one per seed) and test set, as the
  benchmark draws them, into one .npz."""
  import numpy as np
  from maf_tf.data import TOYS, sample_toy
  arrays = {}
  for toy in sorted(TOYS):
    arrays[f"{toy}/test"] = sample_toy(toy, TOY_TEST, seed=99)
    for seed in seeds:
      arrays[f"{toy}/train/{seed}"] = sample_toy(toy, TOY_TRAIN, seed=seed)
  np.savez(path, **arrays)


def train_and_score(train, test, flow_name: str, steps: int, seed: int):
  """Per-test-point log-likelihoods of a zuko flow trained `steps` steps."""
  import numpy as np
  import torch
  import zuko
  torch.manual_seed(seed)
  make = {"nsf": lambda: zuko.flows.NSF(2, transforms=5, bins=8,
                                        hidden_features=[64, 64]),
          "maf": lambda: zuko.flows.MAF(2, transforms=5,
                                        hidden_features=[64, 64])}
  flow = make[flow_name]()
  optimizer = torch.optim.Adam(flow.parameters(), lr=1e-3)
  data = torch.tensor(train, dtype=torch.float32)
  rng = np.random.default_rng(seed)
  order, position = rng.permutation(len(data)), 0
  for _ in range(steps):
    if position + 256 > len(data):
      order, position = rng.permutation(len(data)), 0
    batch = data[order[position:position + 256]]
    position += 256
    loss = -flow().log_prob(batch).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
  with torch.no_grad():
    return flow().log_prob(torch.tensor(test, dtype=torch.float32)).numpy()


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m benchmarks.zuko_reference",
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--write_data", help="write the toys to this .npz")
  parser.add_argument("--data", help="the .npz --write_data wrote")
  parser.add_argument("--flow", default="nsf", choices=["nsf", "maf"])
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--seeds", default="0")
  args = parser.parse_args(argv)
  seeds = [int(s) for s in args.seeds.split(",")]
  if args.write_data:
    write_data(args.write_data, seeds)
    return 0
  if not args.data:
    parser.error("give --write_data=FILE or --data=FILE")
  import numpy as np
  arrays = np.load(args.data)
  toys = sorted({key.split("/")[0] for key in arrays.files})
  print(f"| toy | zuko {args.flow.upper()}, {args.steps} steps | median | "
        "worst |\n|---|---|---|---|")
  for toy in toys:
    scores = [train_and_score(arrays[f"{toy}/train/{seed}"],
                              arrays[f"{toy}/test"], args.flow, args.steps,
                              seed) for seed in seeds]
    mean = np.mean([s.mean() for s in scores])
    two_se = 2 * scores[0].std() / np.sqrt(len(scores[0]))
    print(f"| {toy} | {mean:.3f} ± {two_se:.3f} | "
          f"{np.median(scores[0]):.3f} | {scores[0].min():.3g} |", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
