"""The typed training configuration shared by every preset.

Every field can be overridden from the command line by a flag of the same
name (see trainers/flags.py); the effective config is saved as config.json
in the run directory.
"""

import dataclasses
import json
from typing import Optional, Tuple

__all__ = ["TrainConfig", "SEED_OFFSETS", "help_text"]


# The random streams of a run: each draws from the config's seed plus its
# own offset, so that no two share draws and changing one moves no other.
SEED_OFFSETS = {
    "model": 0,               # initialisation, training batches, pictures
    "validation": 1,          # the validation images' dequantisation
    "test": 2,                # the test images' (scores, latents)
    "batch_norm": 3,          # evaluate's pass over the training set
    "evaluation_samples": 4,  # evaluate's sample pictures
}


def _field(default, help_text: str):
  """A config field with its flag's --help text beside it."""
  return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """What to train, on what, and how."""
  # Data.
  dataset: str = _field("mnist", "Dataset (and preset) to train on.")
  source: Optional[str] = _field(
      None,
      "Where the images come from: tfds, idx, cifar_binary, numpy or "
      "sklearn. Default: the dataset's own (tfds; sklearn for digits).")
  data_dir: Optional[str] = _field(
      None,
      "Directory of the dataset's files (for idx, cifar_binary, numpy) or "
      "tfds's data directory (default: tfds's own); for power, gas, "
      "hepmass, miniboone and bsds300, the MAF paper's data/ folder.")
  validation_size: Optional[int] = _field(
      None,
      "Training images held out for validation. Default: the dataset's "
      "(10000 for MNIST, 5000 for CIFAR-10).")
  flips: bool = _field(
      False, "Add horizontally mirrored training images (CIFAR-10).")
  conditional: bool = _field(
      False, "Condition the flow on one-hot class labels.")
  alpha: Optional[float] = _field(
      None,
      "Logit-transform alpha in (0, 0.5). Default: the dataset's (1e-6 for "
      "MNIST, 0.05 for CIFAR-10).")
  toy_size: int = _field(50_000, "Training points of a 2-D toy dataset.")
  # A table of your own (--data; maf_tf.data.tables).
  data: Optional[str] = _field(
      None,
      "A table file to train on instead of a named dataset: .csv, .tsv, "
      ".txt (with a header), .npy, .npz or .parquet.")
  columns: Optional[str] = _field(
      None,
      "--data: the columns to model, comma-separated (default: every "
      "column not named in another flag).")
  context_columns: Optional[str] = _field(
      None,
      "--data: columns of a continuous context: the flow models "
      "p(columns | context columns).")
  label_column: Optional[str] = _field(
      None, "--data: a categorical column: the flow models p(x | label).")
  id_column: Optional[str] = _field(
      None, "--data: a column of row ids, not modelled (scores name rows "
      "by it).")
  bounds: Optional[str] = _field(
      None,
      "--data: column bounds, e.g. rain:0:,humidity:0:100 (lower:upper, "
      "either may be empty); values must lie strictly inside.")
  discrete_columns: Optional[str] = _field(
      None,
      "--data: integer-valued columns, dequantised (v + u, u ~ U(0, 1)).")
  missing: str = _field(
      "refuse", "--data: rows with missing values: refuse or drop.")
  validation_fraction: float = _field(
      0.1, "--data: share of the rows held out for validation.")
  test_fraction: float = _field(
      0.1, "--data: share of the rows held out for the test scores.")
  test_data: Optional[str] = _field(
      None, "--data: a separate table file to test on (then "
      "test_fraction is not used).")
  max_table_megabytes: float = _field(
      2048.0, "--data: refuse a table file larger than this before "
      "reading it.")
  # Model.
  model: str = _field(
      "maf",
      "Model: maf, maf_mog (MAF over a MADE MoG base), made (one Gaussian "
      "MADE), made_mog, real_nvp, gaussian (fitted in closed form), or nsf "
      "(MAF with rational-quadratic splines).")
  num_layers: int = _field(
      5, "MADE (or coupling) layers of maf, maf_mog, real_nvp and nsf.")
  hidden_units: Tuple[int, ...] = _field(
      (512,), "Hidden units of each MADE layer, comma-separated.")
  embedding_units: Optional[Tuple[int, ...]] = _field(
      None, "Widths of an MLP embedding network that the context goes "
      "through before the layers see it, trained with them (the last is "
      "the width they see), comma-separated; none: the context as it is.")
  num_members: int = _field(
      1, "Train this many flows (seeds seed, seed + 1, ...) side by side "
      "on the same batches, as one ensemble: its density the mean of "
      "theirs, each sample from a member drawn at random.")
  activation: str = _field("relu", "Hidden activation: relu or tanh.")
  hidden_degrees: str = _field(
      "sequential", "MADE hidden degrees: sequential or random.")
  ordering: str = _field(
      "alternate", "Input order of successive MADEs: alternate or random.")
  batch_norm: Optional[str] = _field(
      None, "Batch norm: none, between (MADEs) or after_each.")
  base: str = _field("normal", "Base distribution: normal or mixture.")
  num_components: int = _field(
      10,
      "Components of a mixture base, or Gaussians per dimension of a MADE "
      "MoG (maf_mog, made_mog).")
  log_scale_bound: float = _field(
      3.0, "Soft bound of each MADE log-scale (> 0).")
  transformer: str = _field(
      "affine", "maf, maf_mog, made: each layer's elementwise map: affine "
      "(MAF's), spline (rational-quadratic, NSF's) or linear "
      "(piecewise-linear); the bounded two are standardised in front.")
  affine: str = _field(
      "scale_then_shift",
      "Affine transformer's form: scale_then_shift or shift_then_scale (the "
      "paper's).")
  initialization: str = _field(
      "identity", "MADE initialisation: identity, uniform or paper.")
  bins: int = _field(
      8, "nsf, or a spline or linear transformer: bins of each map (a "
      "spline takes 3 bins - 1 MADE outputs per dimension, linear 2 bins).")
  spline_bound: float = _field(
      5.0, "nsf, or a spline or linear transformer: each map acts on "
      "[-B, B] and is the identity outside.")
  dtype_policy: Optional[str] = _field(
      None,
      "Keras dtype policy: none (float32) or mixed_bfloat16 (the MADE "
      "matmuls in bfloat16, the rest float32).")
  # Optimisation.
  learning_rate: float = _field(1e-4, "Adam learning rate.")
  cosine_decay: bool = _field(
      False, "Decay the learning rate to 0 on a cosine over the run.")
  weight_decay: float = _field(1e-6, "L2 penalty on the kernels.")
  clip_norm: float = _field(
      0.0, "Clip gradients to this global norm (0: no clipping).")
  batch_size: int = _field(100, "Training batch size.")
  eval_batch_size: int = _field(
      1000, "Batch size for validation and test scores.")
  epochs: int = _field(200, "Most epochs to train.")
  patience: int = _field(
      30, "Stop after this many epochs without a better validation NLL.")
  max_bad_steps: int = _field(
      10, "Stop after this many consecutive non-finite steps.")
  max_parameters: int = _field(
      1_000_000_000,
      "Refuse a model with more weights than this before anything is "
      "allocated (each weight also has a mask: about 8 bytes per weight in "
      "float32).")
  steps_per_execution: int = _field(
      10, "Training steps per call into the graph (speed only).")
  seed: int = _field(0, "Seed of the model, the data order and the noise.")
  split_seed: int = _field(
      0, "Seed of the shuffle that splits a --data table into train / "
      "validation / test, and of a toy's points: runs of different --seed "
      "are trained and scored on the same rows.")
  # Outputs.
  sample_every: int = _field(10, "Epochs between sample pictures.")
  num_samples: int = _field(64, "Samples in a sample picture.")

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
    if values.get("embedding_units") is not None:
      values["embedding_units"] = tuple(values["embedding_units"])
    # A run written before split_seed existed split its data by its seed.
    values.setdefault("split_seed", values.get("seed", 0))
    return cls(**values)


def help_text(name: str) -> str:
  """The --help text of the flag of a config field."""
  return TrainConfig.__dataclass_fields__[name].metadata["help"]
