"""The MAF paper's test numbers (Papamakarios et al. 2017, arXiv
1705.07057, Table 2), for side-by-side reports. Log-likelihoods in nats,
logit space, mean ± 2 s.e."""

from typing import Optional

from configs.base import TrainConfig

__all__ = ["paper_result"]

# (dataset, conditional, model) -> (log-likelihood, 2 s.e.)
TABLE_2 = {
    ("mnist", False, "MAF(5)"): (-1300.5, 1.7),
    ("mnist", True, "MAF(5)"): (-1302.9, 1.7),
    ("mnist", False, "MAF(10)"): (-1313.1, 2.0),
    ("mnist", True, "MAF(10)"): (-1316.8, 1.8),
    ("mnist", False, "MAF MoG(5)"): (-1100.3, 1.6),
    ("mnist", True, "MAF MoG(5)"): (-1092.3, 1.7),
    ("cifar10", False, "MAF(5)"): (2936.0, 27.0),
    ("cifar10", True, "MAF(5)"): (2983.0, 26.0),
    ("cifar10", False, "MAF(10)"): (3049.0, 26.0),
    ("cifar10", True, "MAF(10)"): (3058.0, 26.0),
    ("cifar10", False, "MAF MoG(5)"): (2911.0, 26.0),
    ("cifar10", True, "MAF MoG(5)"): (2936.0, 26.0),
}
BITS_PER_PIXEL = {("mnist", "MAF(5)"): 1.89, ("cifar10", "MAF(10)"): 4.31}


def model_name(config: TrainConfig) -> str:
  mog = " MoG" if config.base == "mixture" else ""
  return f"MAF{mog}({config.num_layers})"


def paper_result(config: TrainConfig) -> Optional[dict]:
  """The paper's numbers for this config's model, or None if it has none.

  (The paper's MoG base is a MADE MoG; ours is a global Gaussian mixture,
  so MoG rows compare like with unlike and are labelled as such.)
  """
  name = model_name(config)
  key = (config.dataset, config.conditional, name)
  if key not in TABLE_2:
    return None
  mean, error = TABLE_2[key]
  return {"model": name, "log_likelihood": mean, "log_likelihood_2se": error,
          "bits_per_dim": BITS_PER_PIXEL.get((config.dataset, name))}
