"""What the commands print: quiet logs by default, a copy in the run
directory, and TensorFlow errors as one line."""

import contextlib
import logging
import os
import re
import sys
import warnings

from absl import logging as absl_logging
import tensorflow as tf

__all__ = ["quiet_logs", "log_to_file", "op_error_line", "one_line_errors",
           "plural"]

_OWN = tuple(os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), package) for package in ("trainers",
                                                          "maf_tf",
                                                          "configs"))


def _own_or_serious(record: logging.LogRecord) -> bool:
  return record.levelno >= logging.ERROR or record.pathname.startswith(_OWN)


def quiet_logs(verbose: bool) -> None:
  """Unless verbose, the log shows this project's lines and other
  libraries' errors only (TensorFlow's and tfds's info and warnings, such
  as SavedModel fingerprints or tfds's dataset_info notes, are left out),
  and Keras's warning that a tf.data input is not shuffled by fit()."""
  if verbose:
    return
  logging.getLogger("absl").addFilter(_own_or_serious)
  logging.getLogger("tensorflow").setLevel(logging.ERROR)
  warnings.filterwarnings("ignore", message="`shuffle=True` was passed")


@contextlib.contextmanager
def log_to_file(run_dir: str):
  """The run's log lines also go to run_dir/train.log while it lasts."""
  handler = logging.FileHandler(os.path.join(run_dir, "train.log"))
  handler.setFormatter(logging.Formatter(
      "%(asctime)s %(levelname)s %(message)s"))
  logger = absl_logging.get_absl_logger()
  logger.addHandler(handler)
  try:
    yield
  finally:
    logger.removeHandler(handler)
    handler.close()


def op_error_line(error: tf.errors.OpError) -> str:
  """A TensorFlow op error (e.g. a write to a full disk) as one line,
  without the op's internal names."""
  text = (error.message.strip().splitlines() or [type(error).__name__])[0]
  text = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", text)
  return re.sub(r"\s*\[Op:\w+\]$", "", text)


@contextlib.contextmanager
def one_line_errors(command: str):
  """Ends the command with `<command>: error: <one line>` and exit code 1
  on a refused value, missing data, a file that cannot be written or a
  TensorFlow op error."""
  try:
    yield
  except (ValueError, OSError) as error:  # DataError is a ValueError
    sys.exit(f"{command}: error: {error}")
  except tf.errors.OpError as error:
    sys.exit(f"{command}: error: {op_error_line(error)}")


def plural(count: int, noun: str) -> str:
  """'1 epoch', '2 epochs'."""
  return f"{count} {noun}{'' if count == 1 else 's'}"
