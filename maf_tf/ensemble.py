"""An ensemble of K flows of the same data: density the mean of theirs,
log p(x) = logsumexp_k log p_k(x) - log K, and samples that draw a member
for each sample. Members trained independently (different seeds, same
data) disagree where the data say little, so the mixture is wider there
and less over-confident than any one of them (deep ensembles;
sbi's ensemble posterior).

An Ensemble also trains its members itself (compile and fit, as a flow):
each step's loss is the sum of the members' own NLLs on the batch, so
each member takes exactly the gradient it would take alone, while the
reported (and early-stopped) `nll` is the mixture's.
"""

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from maf_tf import inputs
from maf_tf.sampling import draw
from maf_tf.training import FlowTraining

__all__ = ["Ensemble"]


@keras.saving.register_keras_serializable(package="maf_tf")
class Ensemble(FlowTraining, keras.Model):
  """The equal-weight mixture of `members`, flows of the same event and
  context sizes (and context type). Saved and loaded as a `.keras` file
  with its members."""

  def __init__(self, members: Sequence[keras.Model], **kwargs):
    super().__init__(**kwargs)
    members = list(members)
    if not members:
      raise ValueError("an ensemble needs at least one member; got none")
    sizes = {(m.event_size, m.context_size, getattr(m, "context_type",
                                                     None))
             for m in members}
    if len(sizes) != 1:
      raise ValueError(f"an ensemble's members must share event size, "
                       f"context size and type; got {sorted(sizes)}")
    self.members = members
    self.event_size, self.context_size, self.context_type = sizes.pop()
    self.image_shape = None
    if any(m.image_shape for m in members):
      raise ValueError("an ensemble's members must be flows of vectors, "
                       "not of images")
    self.built = all(m.built for m in members)

  metric_names = ("nll",)

  @property
  def batch_norms(self) -> list:
    """Every member's batch norms, member by member."""
    return [layer for m in self.members for layer in m.batch_norms]

  def _needs_adapting(self) -> bool:
    return any(m._needs_adapting() for m in self.members)

  def _checks_outliers(self) -> bool:
    return bool(self.batch_norms)

  def adapt(self, x) -> None:
    """Sets each member's standardisation (see MAF.adapt) from data x."""
    for member in self.members:
      if member._needs_adapting():
        member.adapt(x)

  def standard_context(self, context):
    """The context standardised as the members' (shared) preprocessing
    says."""
    return self.members[0].standard_context(context)

  def _each(self, x, context, training=False) -> tf.Tensor:
    return tf.stack([m.log_prob(x, context, training=training)
                     for m in self.members])

  def log_prob(self, x, context=None, training=False) -> tf.Tensor:
    """log of the mean of the members' densities, shape [...]."""
    return (tf.reduce_logsumexp(self._each(x, context, training), axis=0)
            - np.log(len(self.members)))

  def scores(self, x, context=None, training=False):
    """(the sum of the members' log-densities, the loss's; {'nll': the
    mixture's negative log-density}) for fit() and evaluate()."""
    each = self._each(x, context, training)
    mixture = tf.reduce_logsumexp(each, axis=0) - np.log(len(self.members))
    return tf.reduce_sum(each, axis=0), {"nll": -mixture}

  def sample(self, n: int, context=None, seed=None) -> tf.Tensor:
    """n exact samples [n, D]: each from a member drawn uniformly, every
    member drawing its share in one pass (maf_tf.sampling.draw, as the
    SavedModel does); context [C] or [n, C] as a member's `sample` takes
    it."""
    context = inputs.sample_context(n, context, self.context_size,
                                    tf.float32)
    seed = inputs.sample_seed(seed)
    if seed is None:
      seed = tf.random.uniform([2], maxval=inputs.INT32_MAX, dtype=tf.int32)
    return draw(self, n, context, seed)

  def call(self, inputs, training=False):
    if self.context_size:
      x, context = inputs
      return self.log_prob(x, context, training)
    return self.log_prob(inputs, training=training)

  def get_config(self):
    return {**super().get_config(), "members": [
        keras.saving.serialize_keras_object(m) for m in self.members]}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    members = [keras.saving.deserialize_keras_object(m)
               for m in config.pop("members")]
    return cls(members, **config)
