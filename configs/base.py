"""The typed training configuration shared by every preset.

Every field can be overridden from the command line by a flag of the same
name (see trainers/flags.py); the effective config is saved as config.json
in the run directory.
"""

import dataclasses
import json
from typing import Optional, Tuple

__all__ = ["TrainConfig", "HELP"]


# The random streams of a run: each draws from the config's seed plus its
# own offset, so that no two share draws and changing one moves no other.
SEED_OFFSETS = {
    "model": 0,               # initialisation, training batches, pictures
    "validation": 1,          # the validation images' dequantisation
    "test": 2,                # the test images' (scores, latents)
    "batch_norm": 3,          # evaluate's pass over the training set
    "evaluation_samples": 4,  # evaluate's sample pictures
}


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
  model: str = "maf"                  # one of maf_tf.MODELS
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
  bins: int = 8                       # nsf: spline bins per dimension
  spline_bound: float = 5.0           # nsf: the splines' interval [-B, B]
  dtype_policy: Optional[str] = None  # 'mixed_bfloat16': MADE matmuls bf16
  # Optimisation.
  learning_rate: float = 1e-4
  cosine_decay: bool = False
  weight_decay: float = 1e-6
  clip_norm: float = 0.0              # 0: none (at 5 it measured worse)
  batch_size: int = 100
  eval_batch_size: int = 1000
  epochs: int = 200
  patience: int = 30
  max_bad_steps: int = 10
  max_parameters: int = 1_000_000_000  # refuse larger models (memory)
  steps_per_execution: int = 10       # train steps per Keras call (speed)
  seed: int = 0
  # Outputs.
  sample_every: int = 10              # epochs between sample grids
  num_samples: int = 64

  def stream_seed(self, stream: str) -> int:
    """The seed of one random stream of a run (SEED_OFFSETS)."""
    return self.seed + SEED_OFFSETS[stream]

  def replace(self, **changes) -> "TrainConfig":
    return dataclasses.replace(self, **changes)

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "TrainConfig":
    values = json.loads(text)
    values["hidden_units"] = tuple(values["hidden_units"])
    return cls(**values)


# One line per field: the --help text of the flag of the same name.
HELP = {
    "dataset": "Dataset (and preset) to train on.",
    "source": "Where the images come from: tfds, idx, cifar_binary, numpy "
              "or sklearn. Default: the dataset's own (tfds; sklearn for "
              "digits).",
    "data_dir": "Directory of the dataset's files (for idx, cifar_binary, "
                "numpy) or tfds's data directory (default: tfds's own); for "
                "power, gas, hepmass, miniboone and bsds300, the MAF "
                "paper's data/ folder.",
    "validation_size": "Training images held out for validation. Default: "
                       "the dataset's (10000 for MNIST, 5000 for CIFAR-10).",
    "flips": "Add horizontally mirrored training images (CIFAR-10).",
    "conditional": "Condition the flow on one-hot class labels.",
    "alpha": "Logit-transform alpha in (0, 0.5). Default: the dataset's "
             "(1e-6 for MNIST, 0.05 for CIFAR-10).",
    "toy_size": "Training points of a 2-D toy dataset.",
    "model": "Model: maf, maf_mog (MAF over a MADE MoG base), made (one "
             "Gaussian MADE), made_mog, real_nvp, gaussian (fitted in "
             "closed form), or nsf (MAF with rational-quadratic splines).",
    "num_layers": "MADE (or coupling) layers of maf, maf_mog, real_nvp and "
                  "nsf.",
    "hidden_units": "Hidden units of each MADE layer, comma-separated.",
    "activation": "Hidden activation: relu or tanh.",
    "hidden_degrees": "MADE hidden degrees: sequential or random.",
    "ordering": "Input order of successive MADEs: alternate or random.",
    "batch_norm": "Batch norm: none, between (MADEs) or after_each.",
    "base": "Base distribution: normal or mixture.",
    "num_components": "Components of a mixture base, or Gaussians per "
                      "dimension of a MADE MoG (maf_mog, made_mog).",
    "log_scale_bound": "Soft bound of each MADE log-scale (> 0).",
    "affine": "MADE affine form: scale_then_shift or shift_then_scale (the "
              "paper's).",
    "initialization": "MADE initialisation: identity, uniform or paper.",
    "bins": "nsf: bins of each spline (3 bins - 1 MADE outputs per "
            "dimension).",
    "spline_bound": "nsf: each spline acts on [-B, B] and is the identity "
                    "outside.",
    "dtype_policy": "Keras dtype policy: none (float32) or mixed_bfloat16 "
                    "(the MADE matmuls in bfloat16, the rest float32).",
    "learning_rate": "Adam learning rate.",
    "cosine_decay": "Decay the learning rate to 0 on a cosine over the run.",
    "weight_decay": "L2 penalty on the kernels.",
    "clip_norm": "Clip gradients to this global norm (0: no clipping).",
    "batch_size": "Training batch size.",
    "eval_batch_size": "Batch size for validation and test scores.",
    "epochs": "Most epochs to train.",
    "patience": "Stop after this many epochs without a better validation "
                "NLL.",
    "max_bad_steps": "Stop after this many consecutive non-finite steps.",
    "max_parameters": "Refuse a model with more weights than this before "
                      "anything is allocated (each weight also has a mask: "
                      "about 8 bytes per weight in float32).",
    "steps_per_execution": "Training steps per call into the graph (speed "
                           "only).",
    "seed": "Seed of the model, the data order and the noise.",
    "sample_every": "Epochs between sample pictures.",
    "num_samples": "Samples in a sample picture.",
}
