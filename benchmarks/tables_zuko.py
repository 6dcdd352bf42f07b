"""zuko's MAF and NSF on the real tables of benchmarks.tables, with the
same standardisation, splits and dequantised test rows:

    # 1. the data, from this project's environment:
    python -m benchmarks.tables --write_data=tables.npz
    # 2. the flows, in an environment with PyTorch (CPU) and zuko, which
    #    this project does not install:
    python -m benchmarks.tables_zuko --data=tables.npz [--flow=nsf]

zuko's flow with the table preset's sizes (5 transforms, hidden
[128, 128]; NSF: 8 bins) from PyTorch's default initialisation, Adam
1e-3, batches of 100 by a seeded shuffle, early stopping after 20
epochs without a better validation score, best weights restored (the
preset's protocol). Printed: the test log-likelihood in the data's
units (the standardised one minus sum log sigma), mean ± 2 s.e.,
median and worst row.
"""

import argparse
import copy


def fit_and_score(arrays: dict, name: str, flow_name: str, seed: int = 0,
                  patience: int = 20, max_epochs: int = 1000):
  """(per-row test log-likelihoods, best epoch) of one zuko flow."""
  import numpy as np
  import torch
  import zuko
  torch.manual_seed(seed)
  train, validation, test = (torch.tensor(arrays[f"{name}/{split}"],
                                          dtype=torch.float32)
                             for split in ("train", "validation", "test"))
  features = train.shape[1]
  make = {"maf": zuko.flows.MAF, "nsf": zuko.flows.NSF}[flow_name]
  flow = make(features, transforms=5, hidden_features=[128, 128])
  optimizer = torch.optim.Adam(flow.parameters(), lr=1e-3)
  rng = np.random.default_rng(seed)
  best, best_state, best_epoch, waited = -np.inf, None, 0, 0
  for epoch in range(1, max_epochs + 1):
    order = rng.permutation(len(train))
    for start in range(0, len(train) - 99, 100):
      loss = -flow().log_prob(train[order[start:start + 100]]).mean()
      optimizer.zero_grad()
      loss.backward()
      optimizer.step()
    with torch.no_grad():
      score = flow().log_prob(validation).mean().item()
    if score > best:
      best, best_state, best_epoch, waited = (
          score, copy.deepcopy(flow.state_dict()), epoch, 0)
    else:
      waited += 1
      if waited >= patience:
        break
  flow.load_state_dict(best_state)
  with torch.no_grad():
    scores = flow().log_prob(test).numpy().astype(np.float64)
  return scores - float(arrays[f"{name}/log_scale"]), best_epoch


def main():
  import numpy as np
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--data", required=True)
  parser.add_argument("--flow", default="maf,nsf")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  arrays = dict(np.load(args.data))
  names = sorted({key.split("/")[0] for key in arrays})
  for name in names:
    for flow_name in args.flow.split(","):
      scores, epoch = fit_and_score(arrays, name, flow_name, args.seed)
      print(f"| {name} | zuko {flow_name} | {scores.mean():.2f} ± "
            f"{2 * scores.std() / np.sqrt(len(scores)):.2f} | "
            f"{np.median(scores):.2f} | {scores.min():.1f} | best epoch "
            f"{epoch} |", flush=True)


if __name__ == "__main__":
  main()
