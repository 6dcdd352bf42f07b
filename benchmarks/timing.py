"""Timing helpers of the benchmarks: best-of rates, seconds of a call,
peak memory, the machine's dense matmul throughput and a description of
the machine."""

import os
import platform
import resource
import time

__all__ = ["rate", "seconds", "peak_mb", "matmul_flops", "machine"]


def rate(function, batch, seconds=5.0, min_calls=3):
  """Samples per second of function() (`batch` samples per call): the
  fastest of its timed calls over at least `seconds` and `min_calls` calls,
  after two warm-up calls. On a shared machine noise only adds time, so the
  fastest call is the least disturbed one."""
  function()
  function()
  best, calls, start = 0.0, 0, time.perf_counter()
  while calls < min_calls or time.perf_counter() - start < seconds:
    begin = time.perf_counter()
    function()
    best = max(best, batch / (time.perf_counter() - begin))
    calls += 1
  return best


def seconds(function, warm_up=100, n=100):
  """Seconds of function(n), after a warm-up call function(warm_up)
  (XLA compiles per shape; TFP's graph takes any n, and its warm-up at 100
  would cost minutes on CIFAR-10)."""
  function(warm_up)
  start = time.perf_counter()
  function(n)
  return time.perf_counter() - start


def peak_mb():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_flops(seconds_=3.0):
  import tensorflow as tf
  a = tf.random.normal([1024, 1024])
  step = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
  return rate(lambda: step().numpy(), 2 * 1024**3, seconds_)


def machine():
  model = "unknown CPU"
  with open("/proc/cpuinfo") as stream:
    for line in stream:
      if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
  import tensorflow as tf
  import tensorflow_probability as tfp
  memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
  return (f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB; Python "
          f"{platform.python_version()}, TensorFlow {tf.__version__}, TFP "
          f"{tfp.__version__}")
