"""The MAF paper's test numbers (Papamakarios et al. 2017, arXiv
1705.07057, Table 2), for side-by-side reports. Log-likelihoods in nats,
logit space, mean ± 2 s.e."""

from typing import Optional

from configs.base import TrainConfig

__all__ = ["paper_result", "model_name", "TABLE_2"]

# (dataset, conditional, model) -> (log-likelihood, 2 s.e.)
_ROWS = {
    "Gaussian": ((-1366.9, 1.4), (-1344.7, 1.8), (2367.0, 29.0),
                 (2030.0, 41.0)),
    "MADE MoG": ((-1038.5, 1.8), (-1030.3, 1.7), (-397.0, 21.0),
                 (-119.0, 20.0)),
    "Real NVP(5)": ((-1323.2, 6.6), (-1326.3, 5.8), (2576.0, 27.0),
                    (2642.0, 26.0)),
    "MAF(5)": ((-1300.5, 1.7), (-1302.9, 1.7), (2936.0, 27.0),
               (2983.0, 26.0)),
    "MAF(10)": ((-1313.1, 2.0), (-1316.8, 1.8), (3049.0, 26.0),
                (3058.0, 26.0)),
    "MAF MoG(5)": ((-1100.3, 1.6), (-1092.3, 1.7), (2911.0, 26.0),
                   (2936.0, 26.0)),
}
TABLE_2 = {(dataset, conditional, model): row[2 * d + conditional]
           for model, row in _ROWS.items()
           for d, dataset in enumerate(("mnist", "cifar10"))
           for conditional in (False, True)}
BITS_PER_PIXEL = {("mnist", "MAF(5)"): 1.89, ("cifar10", "MAF(10)"): 4.31}


def model_name(config: TrainConfig) -> Optional[str]:
  """The paper's name of the config's model ('MAF MoG(5)', 'MADE MoG',
  ...), or None for a model the paper has not (a MAF over the global
  Gaussian-mixture base)."""
  layers = config.num_layers
  if config.model == "maf":
    return None if config.base == "mixture" else f"MAF({layers})"
  return {"maf_mog": f"MAF MoG({layers})", "made": "MADE",
          "made_mog": "MADE MoG", "real_nvp": f"Real NVP({layers})",
          "gaussian": "Gaussian"}[config.model]


def paper_result(config: TrainConfig) -> Optional[dict]:
  """The paper's numbers for this config's model, or None if it has none."""
  name = model_name(config)
  key = (config.dataset, config.conditional, name)
  if key not in TABLE_2:
    return None
  mean, error = TABLE_2[key]
  return {"model": name, "log_likelihood": mean, "log_likelihood_2se": error,
          "bits_per_dim": BITS_PER_PIXEL.get((config.dataset, name))}
