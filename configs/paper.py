"""The MAF paper's test numbers (Papamakarios et al. 2017, arXiv
1705.07057, Tables 1 and 2) and its architectures, for side-by-side
reports. Log-likelihoods in nats (logit space for images), mean ± 2 s.e.

A paper number is shown beside ours only when the run is like for like:
the same dataset, the paper's model (not this project's global-mixture
base), its layer count, and a MADE of the paper's widths, activation and
hidden degrees, with batch norm after every layer of a flow. Otherwise
`paper_result` says what differs.
"""

from typing import List, Optional

from configs.base import TrainConfig
from maf_tf.models import MODELS as RECORDS

__all__ = ["paper_result", "model_name", "differences", "TABLE_1",
           "TABLE_2", "ARCHITECTURES", "TABLE_2_DATASETS"]

MODELS = ("Gaussian", "MADE", "MADE MoG", "Real NVP(5)", "MAF(5)", "MAF(10)",
          "MAF MoG(5)")

# Table 1, unconditional: model -> one (mean, 2 s.e.) per dataset.
_TABLE_1_SETS = ("power", "gas", "hepmass", "miniboone", "bsds300")
_TABLE_1_ROWS = {
    "Gaussian": ((-7.74, .02), (-3.58, .75), (-27.93, .02), (-37.24, 1.07),
                 (96.67, .25)),
    "MADE": ((-3.08, .03), (3.56, .04), (-20.98, .02), (-15.59, .50),
             (148.85, .28)),
    "MADE MoG": ((0.40, .01), (8.47, .02), (-15.15, .02), (-12.27, .47),
                 (153.71, .28)),
    "Real NVP(5)": ((-0.02, .01), (4.78, 1.80), (-19.62, .02), (-13.55, .49),
                    (152.97, .28)),
    "MAF(5)": ((0.14, .01), (9.07, .02), (-17.70, .02), (-11.75, .44),
               (155.69, .28)),
    "MAF(10)": ((0.24, .01), (10.08, .02), (-17.73, .02), (-12.24, .45),
                (154.93, .28)),
    "MAF MoG(5)": ((0.30, .01), (9.59, .02), (-17.39, .02), (-11.68, .44),
                   (156.36, .28)),
}
TABLE_1 = {(dataset, False, model): row[d]
           for model, row in _TABLE_1_ROWS.items()
           for d, dataset in enumerate(_TABLE_1_SETS)}

# Table 2: model -> MNIST (unconditional, conditional), CIFAR-10 (same).
TABLE_2_DATASETS = ("mnist", "cifar10")
_TABLE_2_ROWS = {
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
           for model, row in _TABLE_2_ROWS.items()
           for d, dataset in enumerate(TABLE_2_DATASETS)
           for conditional in (False, True)}
BITS_PER_PIXEL = {("mnist", "MAF(5)"): 1.89, ("cifar10", "MAF(10)"): 4.31}

# The paper's MADEs per dataset (its code, run_experiments.py): the hidden
# widths (one or two layers of each), the activation and hidden degrees.
ARCHITECTURES = {
    "mnist": ((1024,), "relu", "sequential"),
    "cifar10": ((1024, 2048), "relu", "random"),
    "power": ((100,), "relu", "sequential"),
    "gas": ((100,), "tanh", "sequential"),
    "hepmass": ((512,), "relu", "sequential"),
    "miniboone": ((512,), "relu", "sequential"),
    "bsds300": ((512, 1024), "relu", "sequential"),
}


def model_name(config: TrainConfig) -> Optional[str]:
  """The paper's name of the config's model ('MAF MoG(5)', 'MADE MoG',
  ...), 'NSF(5)' for the spline flow (which the paper has not), or None
  for a MAF over the global Gaussian-mixture base or of another
  transformer than the paper's affine one."""
  record = RECORDS[config.model]
  if record.takes_base and config.base == "mixture" or \
      record.takes_transformer and config.transformer != "affine":
    return None
  return record.paper_name.format(layers=config.num_layers)


def differences(config: TrainConfig) -> List[str]:
  """How the config's architecture differs from the paper's for its
  dataset (empty: like for like); the Gaussian has none to differ."""
  if RECORDS[config.model].fits_in_closed_form or \
      config.dataset not in ARCHITECTURES:
    return []
  widths, activation, degrees = ARCHITECTURES[config.dataset]
  found = []
  units = config.hidden_units
  if len(units) > 2 or len(set(units)) != 1 or units[0] not in widths:
    shapes = " or ".join(f"[{w}] or [{w}, {w}]" for w in widths)
    found.append(f"hidden units {list(units)} (paper {shapes})")
  if config.activation != activation:
    found.append(f"activation {config.activation} (paper {activation})")
  if config.hidden_degrees != degrees:
    found.append(f"hidden degrees {config.hidden_degrees} (paper {degrees})")
  flow = config.model in ("maf", "maf_mog", "real_nvp")
  if flow and config.batch_norm != "after_each":
    found.append(f"batch norm {config.batch_norm or 'none'} (paper "
                 "after_each)")
  return found


def paper_result(config: TrainConfig) -> Optional[dict]:
  """The paper's numbers for this config's model on its dataset, or None
  if the paper has none. When the architecture differs, the result names
  the differences (`differs`) and carries no numbers."""
  name = model_name(config)
  key = (config.dataset, config.conditional, name)
  table = TABLE_2 if config.dataset in TABLE_2_DATASETS else TABLE_1
  if key not in table:
    return None
  found = differences(config)
  if found:
    return {"model": name, "differs": found}
  mean, error = table[key]
  return {"model": name, "log_likelihood": mean, "log_likelihood_2se": error,
          "bits_per_dim": BITS_PER_PIXEL.get((config.dataset, name))}
