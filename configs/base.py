"""The typed training configuration shared by every preset.

Every field can be overridden from the command line by a flag of the same
name (see trainers/flags.py); the effective config is saved as config.json
in the run directory.
"""

import dataclasses
import json
from typing import Optional, Tuple

__all__ = ["TrainConfig"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """What to train, on what, and how."""
  # Data.
  dataset: str = "mnist"
  source: Optional[str] = None        # None: the dataset's default
  data_dir: Optional[str] = None
  validation_size: Optional[int] = None  # None: the dataset's default
  flips: bool = False                 # CIFAR-10: add mirrored images
  conditional: bool = False           # condition on one-hot labels
  alpha: Optional[float] = None       # logit alpha; None: the dataset's
  toy_size: int = 50_000              # training points of a 2-D toy
  # Model.
  num_layers: int = 5
  hidden_units: Tuple[int, ...] = (512,)
  activation: str = "relu"
  hidden_degrees: str = "sequential"
  ordering: str = "alternate"
  batch_norm: Optional[str] = None    # or 'between', 'after_each'
  base: str = "normal"
  num_components: int = 10
  log_scale_bound: float = 3.0
  affine: str = "scale_then_shift"    # or 'shift_then_scale' (the paper)
  initialization: str = "identity"    # or 'uniform', 'paper'
  matmul_dtype: Optional[str] = None  # 'bfloat16': MADE matmuls in bf16
  # Optimisation.
  learning_rate: float = 1e-4
  cosine_decay: bool = False
  weight_decay: float = 1e-6
  clip_norm: float = 5.0
  batch_size: int = 100
  eval_batch_size: int = 1000
  epochs: int = 200
  patience: int = 30
  max_bad_steps: int = 10
  steps_per_execution: int = 10       # train steps per Keras call (speed)
  seed: int = 0
  # Outputs.
  sample_every: int = 10              # epochs between sample grids
  num_samples: int = 64

  def replace(self, **changes) -> "TrainConfig":
    return dataclasses.replace(self, **changes)

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "TrainConfig":
    values = json.loads(text)
    values["hidden_units"] = tuple(values["hidden_units"])
    # Runs written before these fields existed used the paper's forms.
    values.setdefault("affine", "shift_then_scale")
    values.setdefault("initialization", "paper")
    return cls(**values)
