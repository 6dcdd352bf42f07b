"""The tf.distribute strategy of a run, and which worker is the chief."""

import json
import os

import tensorflow as tf

__all__ = ["STRATEGIES", "split_cpu", "make_strategy", "is_chief"]

STRATEGIES = ("mirrored", "one_device", "multi_worker")


def split_cpu(count: int) -> None:
  """Splits the CPU into `count` logical devices (before TF starts)."""
  if count > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def make_strategy(name: str) -> tf.distribute.Strategy:
  """'mirrored' (all local GPUs, else all logical CPUs), 'one_device', or
  'multi_worker' (MultiWorkerMirroredStrategy; TF_CONFIG must be set)."""
  if name == "multi_worker":
    if "TF_CONFIG" not in os.environ:
      raise ValueError("strategy multi_worker needs the TF_CONFIG "
                       "environment variable (cluster and task); it is unset")
    try:
      config = json.loads(os.environ["TF_CONFIG"])
    except ValueError as error:
      raise ValueError(f"TF_CONFIG is not JSON ({error}); expected "
                       '{"cluster": {...}, "task": {"type": ..., '
                       '"index": ...}}') from None
    if not isinstance(config, dict) or not {"cluster", "task"} <= set(config):
      raise ValueError("TF_CONFIG must be a JSON object with 'cluster' and "
                       f"'task'; got {os.environ['TF_CONFIG']!r}")
    # Before anything else touches TF: collectives are set up at start-up.
    return tf.distribute.MultiWorkerMirroredStrategy()
  gpus = tf.config.list_logical_devices("GPU")
  if name == "one_device":
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else
                                           "/cpu:0")
  if name == "mirrored":
    devices = gpus or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in devices])
  raise ValueError(f"strategy must be {', '.join(STRATEGIES[:-1])} or "
                   f"{STRATEGIES[-1]}; got {name!r}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this process writes the run (the chief, or worker 0 of a
  cluster without one; every process of a single-machine run)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  return resolver.task_type == "chief" or (
      resolver.task_type == "worker" and resolver.task_id == 0)
