"""One preset per dataset, plus the paper's sizes as named variants.

    seed presets:  MNIST 5 MADE layers x [512], sequential degrees;
                   CIFAR-10 10 MADE layers x [1024], random degrees.
    paper variants ('<dataset>_paper'): MNIST 5 layers x [1024, 1024];
                   CIFAR-10 10 layers x [2048, 2048], random degrees;
                   Adam 1e-4 (the MAF paper, arXiv 1705.07057, and its code).
    tabular sets:  the paper's UCI and BSDS300 MADEs (POWER [100, 100] relu,
                   GAS [100, 100] tanh, HEPMASS and MINIBOONE [512, 512],
                   BSDS300 [512, 512]; [1024, 1024] by --hidden_units), batch
                   norm after each, Adam 1e-4, batch 100, patience 30, L2
                   1e-6: the paper's protocol, not measured here (the files
                   are not on this machine). wine and breast_cancer (a few
                   hundred points): 5 x [128, 128], batch norm after each,
                   Adam 1e-3, batch 32, measured (docs/quality.md).
Every image preset puts batch norm after every MADE (the paper's placement)
and keeps the library's MADE defaults (identity start, log-scale bound 3);
MNIST and Fashion-MNIST train at Adam 1e-3, which measured best at equal
steps (docs/quality.md). The toys and digits have no batch norm,
which measured best on them.
"""

from configs.base import TrainConfig
from maf_tf.checks import check_one_of
from maf_tf.data.tabular import TABULAR
from maf_tf.data.toys import TOYS
from maf_tf.models import MODELS

__all__ = ["PRESETS", "PRESET_SETTINGS", "preset", "table_preset",
           "LARGE_TABLE_ROWS"]

_MNIST = TrainConfig(dataset="mnist", batch_norm="after_each",
                     learning_rate=1e-3)
_CIFAR10 = TrainConfig(dataset="cifar10", num_layers=10,
                       hidden_units=(1024,), hidden_degrees="random",
                       batch_norm="after_each", flips=True, num_samples=64)
_TOY = TrainConfig(num_layers=5, hidden_units=(64, 64), learning_rate=1e-3,
                   batch_size=256, epochs=20, patience=5, weight_decay=0.0,
                   eval_batch_size=10_000, sample_every=5, num_samples=2000)
# The paper's protocol on its tabular benchmarks: until validation stops
# improving for 30 epochs (epochs is only a cap).
_UCI = TrainConfig(batch_norm="after_each", epochs=1000, patience=30,
                   eval_batch_size=10_000, sample_every=50, num_samples=2000)
# The paper's MADEs on its tabular sets (its paper=True specs).
_PAPER_MADES = {"power": ((100, 100), "relu"), "gas": ((100, 100), "tanh"),
                "hepmass": ((512, 512), "relu"),
                "miniboone": ((512, 512), "relu"),
                "bsds300": ((512, 512), "relu")}
# A few hundred points (wine, breast_cancer, and any other bundled set):
# chosen on validation NLL among MADE widths 32, 64, 128, 256 with and
# without batch norm (docs/quality.md, The small-table presets).
_SMALL_TABLE = TrainConfig(num_layers=5, hidden_units=(128, 128),
                           batch_norm="after_each", learning_rate=1e-3,
                           batch_size=32, epochs=1000, patience=30,
                           eval_batch_size=1000, sample_every=100,
                           num_samples=500)

# A table of your own (--data): chosen on held-out log-likelihood of five
# real tables against scikit-learn's GaussianMixture and KernelDensity
# (docs/tables.md, python -m benchmarks.tables). On the four small tables
# (353 to 1,169 training rows) MAF with batch norm after each MADE was
# ahead of or level with every other version tried (breast_cancer +7.0
# nats per row over GaussianMixture, +0.9 without batch norm; the spline
# flow -17.9, its worst rows far out). On the large one (diamonds, 43,136
# training rows) the spline flow without batch norm was +1.1 and MAF
# -0.4 to -0.6: from LARGE_TABLE_ROWS training rows on, a table trains
# 'table_large' unless --model is given (table_preset).
_TABLE = TrainConfig(dataset="table", num_layers=5, hidden_units=(128, 128),
                     batch_norm="after_each", learning_rate=1e-3,
                     batch_size=100, epochs=1000, patience=20,
                     eval_batch_size=10_000, sample_every=50,
                     num_samples=2000)
# A table with --context_columns (a conditional density, as a posterior
# q(theta | x) from simulations): against sbi's default NPE on Gaussian
# linear at 100,000 simulations (python -m benchmarks.sbi, docs/sbi.md),
# the table preset reached KL 0.046 nats, with Adam 5e-4 and batches of
# 200 0.031, and with those, no batch norm and tanh (sbi's loop and
# flow) 0.023 (sbi 0.022); that configuration was also the best at
# 1,000 and 10,000 simulations and on two moons.
_POSTERIOR = _TABLE.replace(hidden_units=(50, 50), activation="tanh",
                            batch_norm=None, learning_rate=5e-4,
                            batch_size=200)

PRESETS = {
    "mnist": _MNIST,
    "mnist_paper": _MNIST.replace(hidden_units=(1024, 1024),
                                  learning_rate=1e-4),
    "fashion_mnist": _MNIST.replace(dataset="fashion_mnist"),
    "cifar10": _CIFAR10,
    "cifar10_paper": _CIFAR10.replace(hidden_units=(2048, 2048)),
    "digits": TrainConfig(dataset="digits", num_layers=5, hidden_units=(256,),
                          learning_rate=1e-3, epochs=1000, patience=10,
                          batch_size=100, eval_batch_size=300),
    **{name: _TOY.replace(dataset=name) for name in TOYS},
    **{name: _UCI.replace(dataset=name, hidden_units=_PAPER_MADES[name][0],
                          activation=_PAPER_MADES[name][1])
       if spec.paper else _SMALL_TABLE.replace(dataset=name)
       for name, spec in TABULAR.items()},
    "table": _TABLE,
    "table_large": _TABLE.replace(model="nsf", batch_norm=None),
    "posterior": _POSTERIOR,
}


# A model's settings for one preset, where that preset measured better
# without its own. The spline flow (docs/models.md, Spline flows (NSF)):
# on the digits, whose logits (alpha 0.05) lie within +-2.94, B = 3 gave
# 37.0 nats against 25.4 at 500 steps; on the two small tables, batch
# norm after each layer made it overfit from the third epoch
# (breast_cancer -13.55 nats against 1.76 without it).
PRESET_SETTINGS = {"nsf": {"digits": dict(spline_bound=3.0),
                           "wine": dict(batch_norm=None),
                           "breast_cancer": dict(batch_norm=None)}}


LARGE_TABLE_ROWS = 10_000  # training rows from which a table is 'large'


def table_preset(training_rows: int, conditional: bool = False) -> tuple:
  """(preset name, model) of a --data table of this many training rows,
  conditioned on context columns or not, when --model is not given."""
  if conditional:
    return "posterior", "maf"
  if training_rows >= LARGE_TABLE_ROWS:
    return "table_large", "nsf"
  return "table", "maf"


def preset(name: str, model: str = "maf") -> TrainConfig:
  """The preset called `name` for `model` (one of maf_tf.MODELS), with
  the model's settings and its PRESET_SETTINGS applied; ValueError naming the
  choices if unknown."""
  if name not in PRESETS:
    raise ValueError(f"unknown dataset {name!r}; expected one of "
                     f"{sorted(PRESETS)}")
  check_one_of("model", model, tuple(MODELS))
  config = PRESETS[name].replace(model=model,
                                 **MODELS[model].settings)
  return config.replace(**PRESET_SETTINGS.get(model, {}).get(name, {}))
