"""Command-line flags: one per TrainConfig field, plus the run's own.

Config flags default to None, meaning "the preset's value"; their help text
says what each does and gives the mnist and cifar10 presets' values.
`show_in_help` makes `--help` list them (absl lists only the flags of the
main module there; `--helpfull` lists every library's too).
"""

import dataclasses
import sys
import typing

from absl import flags

from configs.base import HELP, TrainConfig
from configs.presets import PRESETS

__all__ = ["define_run_flags", "define_config_flags", "config_from_flags",
           "show_in_help"]

FLAGS = flags.FLAGS


NONE_ALLOWED = ("batch_norm", "matmul_dtype")  # string flags that take 'none'


def define_run_flags() -> None:
  flags.DEFINE_string("dataset", None, "Preset to train: " +
                      ", ".join(sorted(PRESETS)) + ".")
  flags.DEFINE_bool("auto", False, "Train mnist, then cifar10, each with its "
                    "preset (and the flags given).")
  flags.DEFINE_enum("strategy", "mirrored",
                    ["mirrored", "one_device", "multi_worker"],
                    "tf.distribute strategy: all local devices, one device, "
                    "or MultiWorkerMirroredStrategy from TF_CONFIG.")
  flags.DEFINE_integer("num_cpu_devices", 1, "Split the CPU into this many "
                       "logical devices (to run MirroredStrategy on a CPU).")
  flags.DEFINE_string("model_dir", None, "Run directory (default "
                      "saved_models/<dataset>).")
  flags.DEFINE_bool("fresh", False, "Start afresh even if model_dir holds a "
                    "run; the old run is kept as <model_dir>.previous-<time>.")
  flags.DEFINE_bool("verbose", False, "Also show TensorFlow's and other "
                    "libraries' info and warning log lines.")
  flags.DEFINE_float("progress_seconds", 60, "Seconds between progress "
                     "lines within an epoch when not on a terminal (0: "
                     "none).")
  flags.DEFINE_integer("summary_steps", 100, "Training steps between "
                       "TensorBoard's within-epoch scalars.")
  flags.DEFINE_bool("deterministic", True, "Enable TF op determinism, so a "
                    "resumed run matches an uninterrupted one.")


def _field_type(kind) -> type:
  """int, float, bool, str or tuple, looking through Optional[...]."""
  args = [a for a in typing.get_args(kind) if a is not type(None)]
  if typing.get_origin(kind) is tuple:
    return tuple
  return args[0] if args else kind


def define_config_flags() -> None:
  hints = typing.get_type_hints(TrainConfig)
  for field in dataclasses.fields(TrainConfig):
    if field.name == "dataset":
      continue
    kind = _field_type(hints[field.name])
    mnist = getattr(PRESETS["mnist"], field.name)
    cifar = getattr(PRESETS["cifar10"], field.name)
    help_text = HELP[field.name]
    if mnist is not None or cifar is not None:
      help_text += (f" Default: the preset's (mnist {_shown(mnist)}, "
                    f"cifar10 {_shown(cifar)}).")
    if kind is bool:
      flags.DEFINE_bool(field.name, None, help_text)
    elif kind is int:
      flags.DEFINE_integer(field.name, None, help_text)
    elif kind is float:
      flags.DEFINE_float(field.name, None, help_text)
    elif kind is tuple:
      flags.DEFINE_list(field.name, None, help_text)
    else:
      flags.DEFINE_string(field.name, None, help_text)


def _shown(value) -> str:
  if isinstance(value, tuple):
    return ",".join(str(v) for v in value)
  return "none" if value is None else str(value)


def show_in_help(*modules: str) -> None:
  """Lists the flags defined in `modules` under `--help`, which shows the
  main module's flags (absl names that module after sys.argv[0], for
  `python -m` and for a console command alike)."""
  for module in modules:
    for flag in FLAGS.get_flags_for_module(module):
      FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def config_from_flags(config: TrainConfig) -> TrainConfig:
  """The preset `config` with every flag that was given applied."""
  changes = {}
  for field in dataclasses.fields(TrainConfig):
    if field.name == "dataset" or FLAGS[field.name].value is None:
      continue
    value = FLAGS[field.name].value
    if field.name == "hidden_units":
      try:
        value = tuple(int(v) for v in value)
      except ValueError:
        raise ValueError("hidden_units must be comma-separated positive "
                         f"integers; got {','.join(value)!r}") from None
    if field.name in NONE_ALLOWED and value.lower() == "none":
      value = None
    changes[field.name] = value
  return config.replace(**changes)
