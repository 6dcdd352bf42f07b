"""Command-line flags: one per TrainConfig field, plus each command's own.

Nothing is defined on import: the commands' entry points (trainers.train
and trainers.evaluate, run()) call `define_train_flags` or
`define_evaluate_flags`, and pass what the flags say to functions that
take arguments. The two share some names (model_dir, dataset, data_dir,
source, num_samples, verbose); each is defined once, whichever comes
first, with the same meaning for both.

Config flags default to None, meaning "the preset's value" (for evaluate:
"the run's"); their help text says what each does and gives the mnist and
cifar10 presets' values. `show_in_help` makes `--help` list them (absl
lists only the flags of the main module there; `--helpfull` lists every
library's too).
"""

import dataclasses
import sys
import typing

from absl import app, flags

from configs.base import TrainConfig, help_text as field_help
from configs.checks import CHOICES
from configs.presets import PRESETS
from trainers.strategy import STRATEGIES

__all__ = ["define_train_flags", "define_evaluate_flags",
           "define_run_flags", "define_config_flags", "config_from_flags",
           "given_config_flags", "show_in_help", "run_command"]

FLAGS = flags.FLAGS


# string flags that take 'none'
NONE_ALLOWED = tuple(name for name, choices in CHOICES.items()
                     if None in choices)


def _define(kind: str, name: str, default, help_text: str, **kwargs) -> None:
  """flags.DEFINE_<kind>, unless a flag of that name exists already (the
  other command's, in the same process)."""
  if name not in FLAGS:
    getattr(flags, f"DEFINE_{kind}")(name, default, help=help_text, **kwargs)


def define_train_flags() -> None:
  """The flags of `python -m trainers.train`."""
  define_run_flags()
  define_config_flags()


def define_run_flags() -> None:
  _define("string", "dataset", None, "Preset to train: " +
          ", ".join(sorted(PRESETS)) + ".")
  _define("bool", "auto", False, "Train mnist, then cifar10, each with its "
          "preset (and the flags given).")
  _define("enum", "strategy", "mirrored", "tf.distribute strategy: all "
          "local devices, one device, or MultiWorkerMirroredStrategy from "
          "TF_CONFIG.", enum_values=list(STRATEGIES))
  _define("integer", "num_cpu_devices", 1, "Split the CPU into this many "
          "logical devices (to run MirroredStrategy on a CPU).")
  _define("string", "model_dir", None, "Run directory (default "
          "saved_models/<dataset>).")
  _define("bool", "fresh", False, "Start afresh even if model_dir holds a "
          "run; the old run is kept as <model_dir>.previous-<time>.")
  _define("bool", "verbose", False, "Also show TensorFlow's and other "
          "libraries' info and warning log lines.")
  _define("float", "progress_seconds", 60, "Seconds between progress "
          "lines within an epoch when not on a terminal (0: none).")
  _define("integer", "summary_steps", 100, "Training steps between "
          "TensorBoard's within-epoch scalars.")
  _define("bool", "deterministic", True, "Enable TF op determinism, so a "
          "resumed run matches an uninterrupted one.")


def define_evaluate_flags() -> None:
  """The flags of `python -m trainers.evaluate`."""
  _define("string", "model_dir", None, "Run directory to evaluate.")
  _define("string", "dataset", None, "Preset name: evaluates "
          "saved_models/<dataset> when --model_dir is not given.")
  _define("string", "data_dir", None, "Override the run's data_dir.")
  _define("string", "source", None, "Override the run's data source.")
  _define("bool", "recompute_batch_norm", False, "Recompute batch-norm "
          "statistics over the whole training set first (the paper's "
          "protocol).")
  _define("integer", "num_samples", None, "Samples in the picture "
          "(default: the run's num_samples).")
  _define("bool", "export", False, "Also export a SavedModel version.")
  _define("integer", "version", None, "SavedModel version (default: next).")
  _define("bool", "verbose", False, "Also show TensorFlow's and other "
          "libraries' info and warning log lines.")


def _field_type(kind) -> type:
  """int, float, bool, str or tuple, looking through Optional[...]."""
  args = [a for a in typing.get_args(kind) if a is not type(None)]
  if typing.get_origin(kind) is tuple or (
      args and typing.get_origin(args[0]) is tuple):
    return tuple
  return args[0] if args else kind


_FLAG_KINDS = {bool: "bool", int: "integer", float: "float", tuple: "list"}


def define_config_flags() -> None:
  hints = typing.get_type_hints(TrainConfig)
  for field in dataclasses.fields(TrainConfig):
    if field.name == "dataset":
      continue
    kind = _field_type(hints[field.name])
    mnist = getattr(PRESETS["mnist"], field.name)
    cifar = getattr(PRESETS["cifar10"], field.name)
    help_text = field_help(field.name)
    if mnist is not None or cifar is not None:
      help_text += (f" Default: the preset's (mnist {_shown(mnist)}, "
                    f"cifar10 {_shown(cifar)}).")
    _define(_FLAG_KINDS.get(kind, "string"), field.name, None, help_text)


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


def given_config_flags() -> tuple:
  """The config fields whose flags the command line set (a config flag
  defaults to None: the preset's value)."""
  return tuple(field.name for field in dataclasses.fields(TrainConfig)
               if field.name != "dataset"
               and FLAGS[field.name].value is not None)


def config_from_flags(config: TrainConfig) -> TrainConfig:
  """The preset `config` with every flag that was given applied."""
  changes = {}
  for name in given_config_flags():
    value = FLAGS[name].value
    if name == "embedding_units" and [v.lower() for v in value] == ["none"]:
      value = None
    elif name in ("hidden_units", "embedding_units"):
      try:
        value = tuple(int(v) for v in value)
      except ValueError:
        raise ValueError(f"{name} must be comma-separated positive "
                         f"integers; got {','.join(value)!r}") from None
    elif name in NONE_ALLOWED and value.lower() == "none":
      value = None
    changes[name] = value
  return config.replace(**changes)


def run_command(main, command: str) -> None:
  """absl's app.run(main), with a flag error (an unknown flag, a value of
  the wrong type) as one line, as the commands' own errors are, instead
  of absl's "FATAL Flags parsing error" and a hint on a second line."""
  def parse(argv):
    try:
      return FLAGS(argv)
    except flags.Error as error:
      sys.exit(f"{command}: error: {error} (--helpfull lists every flag)")
  app.run(main, flags_parser=parse)
