"""An ensemble of K flows of the same data: density the mean of theirs,
log p(x) = logsumexp_k log p_k(x) - log K, and samples that draw a member
for each sample. Members trained independently (different seeds, same
data) disagree where the data say little, so the mixture is wider there
and less over-confident than any one of them (deep ensembles;
sbi's ensemble posterior).
"""

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from maf_tf import inputs

__all__ = ["Ensemble"]


@keras.saving.register_keras_serializable(package="maf_tf")
class Ensemble(keras.Model):
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
    self.built = all(m.built for m in members)

  def log_prob(self, x, context=None) -> tf.Tensor:
    """log of the mean of the members' densities, shape [...]."""
    each = tf.stack([m.log_prob(x, context) for m in self.members])
    return tf.reduce_logsumexp(each, axis=0) - np.log(len(self.members))

  def sample(self, n: int, context=None, seed=None) -> tf.Tensor:
    """n exact samples [n, D]: each from a member drawn uniformly;
    context [C] or [n, C] as a member's `sample` takes it."""
    context = inputs.sample_context(n, context, self.context_size,
                                    tf.float32)
    seed = inputs.sample_seed(seed)
    n = int(n)
    rng = np.random.default_rng(None if seed is None else
                                np.asarray(seed).tolist())
    member_of = rng.integers(len(self.members), size=n)
    samples = np.zeros([n, self.event_size], np.float32)
    for k, member in enumerate(self.members):
      rows = np.flatnonzero(member_of == k)
      if len(rows):
        given = None if context is None else tf.gather(context, rows)
        samples[rows] = member.sample(
            len(rows), given, seed=None if seed is None else
            tf.stack([seed[0], seed[1] + k + 1]))
    return tf.constant(samples)

  def call(self, inputs, training=False):
    del training
    if self.context_size:
      x, context = inputs
      return self.log_prob(x, context)
    return self.log_prob(inputs)

  def get_config(self):
    return {**super().get_config(), "members": [
        keras.saving.serialize_keras_object(m) for m in self.members]}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    members = [keras.saving.deserialize_keras_object(m)
               for m in config.pop("members")]
    return cls(members, **config)
