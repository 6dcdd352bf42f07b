"""Keras fit() support for flows: the train and test steps.

One training step, on every replica:
  loss = -sum(log p(x)) / global_batch + weight_decay * sum(kernel^2) / R
  gradients -> all-reduce (sum) -> one finite check, same on every replica
  -> clip to the global norm -> Adam, or skip the step entirely if any
  loss or gradient was NaN/Inf (weights and optimizer state untouched).

The logs also give `bad_streak`: the longest run of consecutive skipped
steps seen this epoch (a run carries over from the previous epoch), exact
whatever compile(steps_per_execution=...) is, for trainers.callbacks'
NonFiniteGuard; fit() hides it from every callback after the guard.

Losses are scaled for the global batch (R replicas), so a run gives the
same updates whatever the replica count. The skip decision is taken in
cross-replica context, as keras.optimizers.LossScaleOptimizer does,
because a tf.cond around merge_call is not allowed in a replica context.
"""

import warnings
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from maf_tf import inputs
from maf_tf.bijectors.standardize import ADAPT_ROWS
from maf_tf.optimizers import FusedAdam

__all__ = ["FlowTraining", "BadStreak", "GoodStepMean",
           "SkippedStepsWarning", "HideInternalMetrics", "OutlierWarning",
           "find_outlier"]

# How far from its dimension's median, in robust standard deviations
# (1.4826 * median absolute deviation), a value counts as an outlier.
OUTLIER_SCALES = 1000
CHECKED_ROWS = 10_000  # rows of a dataset checked for NaN before fit
# (all ADAPT_ROWS rows when a standardisation adapts to them)


def _first_rows(dataset: tf.data.Dataset, count: int) -> list:
  """The first `count` rows (or all, if fewer) of a batched dataset: one
  array per component of its elements (x, then the context, ...)."""
  parts, seen = [], 0
  for batch in dataset.take(1000):
    parts.append([np.asarray(p) for p in tf.nest.flatten(batch)])
    seen += len(parts[-1][0])
    if seen >= count:
      break
  return [np.concatenate(part) for part in zip(*parts)]


class OutlierWarning(RuntimeWarning):
  """fit() data holds a value so far out that batch norm's moving
  statistics are skewed for many steps after the batch that holds it."""


def find_outlier(x: np.ndarray, scales: float = OUTLIER_SCALES):
  """(row, dimension, value, distance) of the value farthest from its
  dimension's median, in robust standard deviations, if it is more than
  `scales` of them; else None. Dimensions with no spread are skipped."""
  x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
  median = np.median(x, axis=0)
  spread = 1.4826 * np.median(np.abs(x - median), axis=0)
  with np.errstate(divide="ignore", invalid="ignore"):
    distance = np.where(spread > 0, np.abs(x - median) / spread, 0.0)
  distance = np.nan_to_num(distance, nan=0.0, posinf=0.0)
  row, dim = np.unravel_index(np.argmax(distance), distance.shape)
  if distance[row, dim] <= scales:
    return None
  return int(row), int(dim), float(x[row, dim]), float(distance[row, dim])


def _num_replicas() -> int:
  return tf.distribute.get_strategy().num_replicas_in_sync


def _as_logs(logs: dict) -> dict:
  """Keras 3 reduces multi-worker step outputs with strategy.reduce(MEAN,
  axis=0), which needs a batch axis: give scalars one there."""
  strategy = tf.distribute.get_strategy()
  multi_worker = (isinstance(strategy,
                             tf.distribute.MultiWorkerMirroredStrategy) and
                  strategy.extended._in_multi_worker_mode())
  return {k: tf.reshape(v, [1]) for k, v in logs.items()} if multi_worker \
      else logs


class BadStreak(keras.metrics.Metric):
  """The longest run of consecutive non-finite steps this epoch.

  update_state(finite) once per step. The current run is kept across
  reset_state() (Keras resets metrics every epoch), so a run that spans
  two epochs is counted whole. Every replica sees the same `finite`, so
  the first replica's values are the result.
  """

  def __init__(self, name="bad_streak", **kwargs):
    super().__init__(name=name, **kwargs)
    self.current = self.add_variable(
        shape=(), initializer="zeros", aggregation="only_first_replica",
        name="current")
    self.longest = self.add_variable(
        shape=(), initializer="zeros", aggregation="only_first_replica",
        name="longest")

  def update_state(self, finite):
    current = tf.where(finite, 0.0, self.current + 1.0)
    self.current.assign(current)
    self.longest.assign(tf.maximum(self.longest, current))

  def reset_state(self):
    self.longest.assign(self.current)

  def result(self):
    return tf.identity(self.longest)


class GoodStepMean(keras.metrics.Mean):
  """keras Mean that is NaN, not 0, when no value was kept: an epoch whose
  every step was skipped must not read as a loss of 0."""

  def result(self):
    return tf.where(self.count > 0, super().result(),
                    tf.constant(float("nan"), self.dtype))


class SkippedStepsWarning(keras.callbacks.Callback):
  """Warns at the end of an epoch in which training steps were skipped as
  non-finite (FlowTraining.fit adds it unless a callback of this class,
  such as the trainer's guard, is given)."""

  def on_epoch_end(self, epoch, logs=None):
    skipped = int(round(float((logs or {}).get("skipped_steps", 0.0))))
    if not skipped:
      return
    steps = self.params.get("steps") if self.params else None
    of_steps = f" of {steps}" if steps else ""
    what = ("nothing was trained and the epoch's metrics are NaN"
            if steps and skipped >= steps else
            "the epoch's metrics average the other steps")
    warnings.warn(f"epoch {epoch + 1}: {skipped}{of_steps} training steps "
                  f"were skipped because the loss or a gradient was NaN or "
                  f"Inf; {what}", RuntimeWarning, stacklevel=2)


class HideInternalMetrics(keras.callbacks.Callback):
  """Drops `bad_streak` (for the non-finite guard only) from the logs that
  the callbacks after it see: progress bars, CSV logs, TensorBoard and
  History. FlowTraining.fit puts it right after the guard."""

  def _hide(self, logs):
    if logs is not None:
      logs.pop("bad_streak", None)

  def on_train_batch_end(self, batch, logs=None):
    self._hide(logs)

  def on_epoch_end(self, epoch, logs=None):
    self._hide(logs)


class FlowTraining:
  """Mixin for a keras.Model with `scores(x, context, training)`,
  `metric_names`, `event_size` and `compute_dtype`; nothing else of the
  model is read but two hooks with defaults here: `_needs_adapting` (a
  standardisation that fit() adapts first, by `adapt`) and
  `_checks_outliers` (batch norm, whose statistics one outlier skews).
  A model fitted otherwise (the closed-form Gaussian,
  maf_tf.models.Gaussian) overrides train_step and reports through
  `_step_logs`.

  `scores` returns (log_prob, {name: per-example values}) with one entry
  per name in `metric_names`: the training loss is the mean negative
  log_prob; each metric (and, in training, the gradient norm before
  clipping) is averaged over the epoch's good steps, and `skipped_steps`
  counts the epoch's skipped (non-finite) ones.

  compile() takes, besides the optimizer (default maf_tf.FusedAdam()):
    clip_norm: clip gradients to this global norm (None: no clipping).
    weight_decay: L2 penalty on the kernels (the paper's 1e-6).
  """

  def compile(self, optimizer=None, clip_norm: Optional[float] = None,
              weight_decay: float = 0.0, **kwargs):
    if optimizer is None:
      optimizer = FusedAdam()
    if clip_norm is not None and not 0 < clip_norm < float("inf"):
      raise ValueError("clip_norm must be None or a finite number > 0; got "
                       f"{clip_norm}")
    if not 0 <= weight_decay < float("inf"):
      raise ValueError("weight_decay must be a finite number >= 0; got "
                       f"{weight_decay}")
    self.clip_norm = clip_norm
    self.weight_decay = float(weight_decay)
    super().compile(optimizer=optimizer, **kwargs)
    self._trackers = {name: GoodStepMean(name=name)
                      for name in (*self.metric_names, "grad_norm")}
    self._skipped = keras.metrics.Sum(name="skipped_steps")
    self._bad_streak = BadStreak()

  def fit(self, *args, callbacks=None, **kwargs):
    """keras.Model.fit, warning about epochs with skipped steps and, for a
    model with batch norm, about an outlier in array data (OutlierWarning:
    the moving statistics that log_prob uses would be skewed by it)."""
    x = kwargs.get("x", args[0] if args else None)
    if isinstance(x, np.ndarray) and not len(x):
      raise ValueError("fit needs at least one example; x has 0 rows")
    if isinstance(x, (np.ndarray, tf.Tensor)):
      # Refused here, before Keras builds its train function, for a message
      # that names what was expected.
      inputs.events(x[:1], self.event_size, "x", self.compute_dtype)
      inputs.refuse_non_finite(x, "x")
      context = kwargs.get("y", args[1] if len(args) > 1 else None)
      if context is not None:
        inputs.refuse_non_finite(context, "the context (y)")
    if isinstance(x, tf.data.Dataset):
      inputs.batched_events(x.element_spec, self.event_size,
                            self.compute_dtype)
      # Read once: checked for NaN before training would skip every batch
      # that holds one, and the rows a standardisation adapts to.
      first = _first_rows(x, ADAPT_ROWS if self._needs_adapting()
                          else CHECKED_ROWS)
      for index, part in enumerate(first):
        inputs.refuse_non_finite(
            part, f"{'x' if index == 0 else 'the context'} (the dataset's "
            f"first {len(first[0])} rows)")
    batch_size = kwargs.get("batch_size")
    if batch_size is not None and (isinstance(batch_size, bool) or not
                                   isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
      raise ValueError(f"batch_size must be None or a positive integer; got "
                       f"{batch_size!r}")
    if self._checks_outliers() and isinstance(x, np.ndarray) \
        and x.ndim >= 2:  # (an empty x was refused above)
      found = find_outlier(x)
      if found:
        row, dim, value, distance = found
        warnings.warn(
            f"x[{row}] holds {value:.6g} in dimension {dim}, {distance:.3g} "
            "robust standard deviations from that dimension's median: batch "
            "norm's moving statistics will be skewed by it for many steps. "
            "Remove such rows, or call recompute_batch_norm on clean data "
            "after fit.", OutlierWarning, stacklevel=2)
    if self._needs_adapting():
      self.adapt(first[0] if isinstance(x, tf.data.Dataset)
                 else np.asarray(x))
    callbacks = list(callbacks or [])
    guards = [i for i, c in enumerate(callbacks)
              if isinstance(c, SkippedStepsWarning)]
    if not guards:
      callbacks.insert(0, SkippedStepsWarning())
      guards = [0]
    callbacks.insert(guards[-1] + 1, HideInternalMetrics())
    try:
      return super().fit(*args, callbacks=callbacks, **kwargs)
    except Exception:
      # A call refused inside Keras's train function leaves it half-traced:
      # every later fit would fail ("Creating variables on a non-first
      # call") until compile() ran again. The next fit traces a new one.
      self.train_function = None
      raise

  @property
  def metrics(self):
    if not hasattr(self, "_trackers"):
      return []
    return [*self._trackers.values(), self._skipped, self._bad_streak]

  def _track(self, values: dict, keep=True) -> dict:
    """Averages the values into the epoch's metrics (unless keep is False:
    a skipped step leaves the averages as they were)."""
    keep = tf.cast(keep, tf.float32)
    for name, value in values.items():
      value = tf.cast(value, tf.float32)
      self._trackers[name].update_state(
          tf.where(keep > 0, value, tf.zeros_like(value)),
          sample_weight=keep * tf.ones_like(value))
    return {name: self._trackers[name].result() for name in values}

  def _needs_adapting(self) -> bool:
    """Whether the model has a standardisation not yet adapted: fit
    adapts it (`adapt`) to the first rows of its data (an array, or the
    first ADAPT_ROWS rows of a dataset). None here."""
    return False

  def _checks_outliers(self) -> bool:
    """Whether fit() warns of an outlier in array data (OutlierWarning):
    for a model with batch norm. Not here."""
    return False

  def _split_batch(self, data):
    x, context, _ = keras.utils.unpack_x_y_sample_weight(data)
    return x, context

  def _penalty(self) -> tf.Tensor:
    kernels = [v for v in self.trainable_variables if "kernel" in v.path]
    return self.weight_decay * tf.add_n([tf.reduce_sum(tf.square(k))
                                         for k in kernels])

  def train_step(self, data):
    x, context = self._split_batch(data)
    replicas = _num_replicas()
    with tf.GradientTape() as tape:
      log_prob, values = self.scores(x, context, training=True)
      global_batch = tf.cast(tf.shape(log_prob)[0] * replicas, log_prob.dtype)
      loss = -tf.reduce_sum(log_prob) / global_batch
      if self.weight_decay:
        loss += self._penalty() / replicas
    variables = self.trainable_variables
    gradients = tape.gradient(loss, variables)
    context_ = tf.distribute.get_replica_context()
    gradients, total_loss = context_.all_reduce(
        tf.distribute.ReduceOp.SUM, (gradients, loss))
    # One pass over the gradients: their global norm is finite iff every
    # entry is (a norm that overflows float32 counts as non-finite too).
    norm = tf.linalg.global_norm(gradients)
    finite = tf.logical_and(tf.math.is_finite(norm),
                            tf.math.is_finite(total_loss))
    if self.clip_norm:
      gradients, _ = tf.clip_by_global_norm(gradients, self.clip_norm,
                                            use_norm=norm)
    if replicas > 1:  # the optimizer sums over replicas again: 1/R each
      gradients = [g / replicas for g in gradients]
    self._apply_if(finite, gradients, variables)
    return self._step_logs({**values, "grad_norm": norm}, keep=finite,
                           applied=finite)

  def _step_logs(self, values: dict, keep, applied) -> dict:
    """A train step's logs: `values` averaged into the epoch's metrics if
    `keep`, and the step counted as skipped unless `applied`."""
    logs = self._track(values, keep=keep)
    self._skipped.update_state(1.0 - tf.cast(applied, tf.float32))
    self._bad_streak.update_state(applied)
    return _as_logs({**logs, "skipped_steps": self._skipped.result(),
                     "bad_streak": self._bad_streak.result()})

  def _apply_if(self, finite, gradients, variables):
    def apply():
      self.optimizer.apply_gradients(zip(gradients, variables))
      return tf.constant(True)

    def skip():
      return tf.constant(False)

    if tf.__internal__.distribute.strategy_supports_no_merge_call():
      tf.cond(finite, apply, skip)
      return

    def cross_replica(strategy, finite, gradients):
      finite = strategy.experimental_local_results(finite)[0]

      def apply_each():
        strategy.extended.call_for_each_replica(
            lambda g: self.optimizer.apply_gradients(zip(g, variables)),
            args=(gradients,))
        return tf.constant(True)

      tf.cond(finite, apply_each, skip)

    tf.distribute.get_replica_context().merge_call(
        cross_replica, args=(finite, gradients))

  def test_step(self, data):
    x, context = self._split_batch(data)
    _, values = self.scores(x, context, training=False)
    return _as_logs(self._track(values))
