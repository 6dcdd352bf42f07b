"""The command-line trainer and evaluator (python -m trainers.train,
maf-train; python -m trainers.evaluate, maf-evaluate).

Unless --verbose is on the command line, TensorFlow's C++ log lines are
silenced here, before TensorFlow loads: the level for the lines of a
running process (for example a CUDA initialisation error on a machine
without a GPU), and standard error while TensorFlow loads (its loader
prints oneDNN and CUDA notes there before any level applies).
logs.quiet_logs does the same for the Python log lines of other
libraries.
"""

import os
import sys


def _load_tensorflow_quietly() -> None:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  if "tensorflow" in sys.modules:
    return
  sys.stderr.flush()
  saved = os.dup(2)
  silent = os.open(os.devnull, os.O_WRONLY)
  os.dup2(silent, 2)
  try:
    import tensorflow  # noqa: F401  pylint: disable=import-outside-toplevel
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(silent)


if not any(arg in ("--verbose", "--verbose=true", "--verbose=True")
           for arg in sys.argv[1:]):
  _load_tensorflow_quietly()
