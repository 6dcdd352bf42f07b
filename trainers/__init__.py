"""The command-line trainer, evaluator, scorer and sampler (python -m
trainers.train, maf-train; trainers.evaluate, maf-evaluate;
trainers.score, maf-score; trainers.sample, maf-sample).

When this package is imported as a command starts (`python -m
trainers.<command>` or the `maf-*` scripts), and
--verbose is not on the command line, TensorFlow's C++ log lines are
silenced before TensorFlow loads: the level for the lines of a running
process (for example a CUDA initialisation error on a machine without a
GPU), and standard error while TensorFlow loads (its loader prints oneDNN
and CUDA notes there before any level applies). It has to happen here,
before the command's module imports TensorFlow; an `import trainers`
from Python changes nothing. logs.quiet_logs does the same for the
Python log lines of other libraries.

`configs` and `trainers` are top-level names that other projects use
too. A command refuses to start, in one line, when the `configs` Python
would import is not the one installed beside this package.
"""

import importlib.util
import os
import sys

COMMANDS = ("maf-train", "maf-evaluate", "maf-score", "maf-sample")


def _starting_a_command() -> bool:
  """True while `python -m trainers.X` locates its module (Python sets
  argv[0] to '-m' meanwhile) or a console script of ours starts."""
  return sys.argv[:1] == ["-m"] or (
      bool(sys.argv) and os.path.basename(sys.argv[0]) in COMMANDS)


def _foreign_configs() -> str:
  """The folder of a `configs` package that Python would import instead
  of the one installed beside this package (another project's, earlier
  on the path), or ''."""
  ours = os.path.join(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))), "configs")
  spec = importlib.util.find_spec("configs")
  found = os.path.dirname(spec.origin) if spec and spec.origin else ""
  if os.path.isdir(ours) and os.path.realpath(found) != os.path.realpath(
      ours):
    return found or "(none)"
  return ""


def _load_tensorflow_quietly() -> None:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  if "tensorflow" in sys.modules:
    return
  sys.stderr.flush()
  saved = os.dup(2)
  silent = os.open(os.devnull, os.O_WRONLY)
  os.dup2(silent, 2)
  try:
    import tensorflow  # noqa: F401
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(silent)


if _starting_a_command():
  _FOREIGN = _foreign_configs()  # the top-level name is shared with others
  if _FOREIGN:
    sys.exit(f"error: the package 'configs' on the Python path "
             f"({_FOREIGN}) is not maf-tf's; remove it from PYTHONPATH (or "
             f"run from elsewhere) so that maf-tf's loads")
  if not any(arg in ("--verbose", "--verbose=true", "--verbose=True")
             for arg in sys.argv[1:]):
    _load_tensorflow_quietly()
