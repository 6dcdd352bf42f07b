"""Neural posterior estimation: q(theta | x) from simulated pairs.

    prior = BoxUniform([-2, 0], [2, 5])
    theta, x = simulate(prior, simulator, 10_000)
    posterior = fit_posterior(theta, x, bounds=prior.bounds)
    samples = samples_for_each(posterior, 1000, x_observed)  # [B, 1000, P]
    log_q = posterior.log_prob(theta_new, x_new)

The posterior is a conditional flow (any of maf_tf.MODELS) whose
preprocessing carries the prior's bounds for theta (samples always lie
inside them) and the standardisation of theta and of x, both from the
training simulations, so it is trained and saved like any other flow
(`.keras`, SavedModel). A share of the simulations is held out for early
stopping; the weights of the best validation epoch are kept.
"""

import warnings
from typing import Optional, Sequence

import keras
import numpy as np

from maf_tf.checks import check_positive_int
from maf_tf.data.specs import DatasetDescription
from maf_tf.diagnostics import samples_for_each
from maf_tf.ensemble import Ensemble
from maf_tf.models import build_flow
from maf_tf.optimizers import FusedAdam
from maf_tf.preprocessing import fit_preprocessing

__all__ = ["BoxUniform", "simulate", "fit_posterior", "samples_for_each"]


class BoxUniform:
  """The uniform prior on the box [low, high] (one pair per parameter):
  `sample(n, rng)` draws theta [n, P] and `bounds` is its support, for
  fit_posterior."""

  def __init__(self, low, high):
    self.low = np.asarray(low, np.float64).reshape(-1)
    self.high = np.asarray(high, np.float64).reshape(-1)
    if self.low.shape != self.high.shape or not np.all(
        np.isfinite(self.low) & np.isfinite(self.high) &
        (self.low < self.high)):
      raise ValueError(f"a box needs finite low < high, one pair per "
                       f"parameter; got low {self.low.tolist()} and high "
                       f"{self.high.tolist()}")
    self.bounds = list(zip(self.low.tolist(), self.high.tolist()))

  def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(self.low, self.high, (n, len(self.low)))


def simulate(prior, simulator, num_simulations: int, seed: int = 0):
  """(theta [N, P], x [N, Q]) from `prior` (an object with sample(n, rng),
  such as BoxUniform, or a function (n, rng) -> [n, P]) and `simulator`
  (a function (theta [n, P], rng) -> x [n, Q], rows matching), with the
  NumPy generator of `seed`. Simulations whose x is NaN or infinite are
  dropped (as sbi does), with a warning that counts them."""
  check_positive_int("num_simulations", num_simulations)
  rng = np.random.default_rng(seed)
  sample_prior = getattr(prior, "sample", prior)
  theta = np.asarray(sample_prior(num_simulations, rng), np.float64)
  if theta.ndim != 2 or len(theta) != num_simulations:
    raise ValueError(f"the prior must give theta [{num_simulations}, P]; "
                     f"got shape {list(theta.shape)}")
  x = np.asarray(simulator(theta, rng), np.float64)
  if x.ndim == 1:
    x = x[:, None]
  if x.ndim != 2 or len(x) != num_simulations:
    raise ValueError(f"the simulator must give x [{num_simulations}, Q], "
                     f"a row per theta; got shape {list(x.shape)}")
  valid = np.isfinite(x).all(axis=1)
  if not valid.any():
    raise ValueError(f"all {num_simulations} simulations gave NaN or "
                     "infinite x")
  if not valid.all():
    warnings.warn(f"dropped {num_simulations - valid.sum()} of "
                  f"{num_simulations} simulations whose x is NaN or "
                  "infinite", stacklevel=2)
  return theta[valid], x[valid]


def _split(theta, x, validation_fraction: float, seed: int):
  theta = np.asarray(theta, np.float64)
  x = np.asarray(x, np.float64)
  if theta.ndim != 2 or x.ndim != 2 or len(theta) != len(x):
    raise ValueError(f"theta [N, P] and x [N, Q] must have one row per "
                     f"simulation; got shapes {list(theta.shape)} and "
                     f"{list(x.shape)}")
  if not 0 < validation_fraction < 1:
    raise ValueError(f"validation_fraction must be in (0, 1); got "
                     f"{validation_fraction}")
  order = np.random.default_rng(seed).permutation(len(theta))
  held = max(1, int(round(validation_fraction * len(theta))))
  if len(theta) - held < 2:
    raise ValueError(f"{len(theta)} simulations are too few: at least 2 "
                     "train and 1 is held out")
  train, validation = order[held:], order[:held]
  return (theta[train], x[train]), (theta[validation], x[validation])


def fit_posterior(theta, x, bounds: Optional[Sequence] = None,
                  model: str = "maf", num_layers: int = 5,
                  hidden_units: Sequence[int] = (50, 50),
                  activation: str = "tanh", batch_norm: Optional[str] = None,
                  learning_rate: float = 5e-4, batch_size: int = 200,
                  epochs: int = 1000, patience: int = 20,
                  validation_fraction: float = 0.1, seed: int = 0,
                  num_members: int = 1, verbose: int = 0, **flow_kwargs):
  """A conditional flow q(theta | x) trained on simulations theta [N, P]
  and x [N, Q].

  Args:
    bounds: the prior's support per parameter, [(lower, upper), ...] with
      None for no bound; training theta on or outside a bound is refused.
    model, num_layers, hidden_units, activation, batch_norm,
      **flow_kwargs: the flow (maf_tf.build_flow's arguments). The
      defaults, with the loop's, are the configuration that measured best
      against sbi (docs/sbi.md): sbi's flow size, tanh, no batch norm.
    learning_rate, batch_size, epochs, patience: Adam, and early stopping
      on the validation simulations' NLL (the best epoch's weights kept).
    validation_fraction, seed: the held-out share and the split's seed
      (and the flow's).
    num_members: K > 1 trains K flows of seeds seed..seed+K-1 on the same
      simulations and returns their maf_tf.ensemble.Ensemble.
  """
  check_positive_int("num_members", num_members)
  (train_theta, train_x), validation = _split(theta, x,
                                              validation_fraction, seed)
  size = train_theta.shape[1]
  bounds = [(None, None)] * size if bounds is None else list(bounds)
  if len(bounds) != size or any(len(b) != 2 for b in bounds):
    raise ValueError(f"bounds must be {size} (lower, upper) pairs, one per "
                     f"parameter; got {bounds!r}")
  names = tuple(f"theta_{j}" for j in range(size))
  context_names = tuple(f"x_{j}" for j in range(train_x.shape[1]))
  record = fit_preprocessing(
      train_theta, [b[0] for b in bounds], [b[1] for b in bounds],
      train_x, names, context_names)
  description = DatasetDescription(
      "posterior", "table", size, columns=names,
      context_columns=context_names, preprocessing=record)
  members = []
  for member in range(num_members):
    flow = build_flow(description, model=model, num_layers=num_layers,
                      hidden_units=list(hidden_units), activation=activation,
                      batch_norm=batch_norm,
                      seed=seed + member, **flow_kwargs)
    flow.compile(optimizer=FusedAdam(learning_rate))
    stop = keras.callbacks.EarlyStopping(
        monitor="val_nll", mode="min", patience=patience,
        restore_best_weights=True)
    flow.fit(train_theta.astype(np.float32), train_x.astype(np.float32),
             batch_size=min(batch_size, len(train_theta)), epochs=epochs,
             validation_data=tuple(v.astype(np.float32)
                                   for v in validation),
             callbacks=[stop], verbose=verbose)
    members.append(flow)
  return members[0] if num_members == 1 else Ensemble(members)
