"""SavedModel export with serving signatures (TF Serving layout).

`export_saved_model(model, base_dir, version)` writes base_dir/version/,
the layout TF Serving expects (model_base_path = base_dir). Signatures,
each taking a batch [N, D] of flattened events:

  serving_default / log_prob_pixels   x float32 in [0, 1] (dequantised
      pixels) -> log_prob (pixel-space nats), log_prob_logit (logit space)
      [PixelMAF]; for a plain MAF: x -> log_prob.
  log_prob_logit                      y float32 logits -> log_prob_logit
  bits_per_dim                        images uint8 [N, D] -> bits_per_dim
      (each value dequantised at the middle of its bin, v + 1/2)
  sample                              num_samples int32, seed int32 ->
      samples float32 [n, D] (and images uint8 [n, H, W, C]); a request
      outside 0..max_samples (set at export) fails with that range

A model conditioned on labels also takes `label` int32 [N] (for sample:
[num_samples]); one conditioned on features (context_type 'features')
takes `context` float32 [N, C] (for sample: [C], shared by every
sample, or [num_samples, C]), in the data's units. Files given as
`assets` (a table run's columns.json: the column order) are copied into
the SavedModel's assets/. Loading needs no project code:
tf.saved_model.load or saved_model_cli.
"""

import functools
import os
import shutil
import tempfile
from typing import Optional, Sequence

import tensorflow as tf

from maf_tf.flows import MAF
from maf_tf.made import frozen_kernels, masked_kernel_copies
from maf_tf.metrics import bits_per_dim
from maf_tf.pixel_flows import PixelFlow, to_uint8
from maf_tf.sampling import draw

__all__ = ["export_saved_model", "ServingModule", "default_max_samples",
           "next_version"]

SAMPLE_VALUES = 10_000_000  # default bound on num_samples x D per request


def default_max_samples(event_size: int) -> int:
  """The default bound of one `sample` request: 10,000 samples, fewer for
  large events (at most SAMPLE_VALUES floats: 3255 CIFAR-10 images)."""
  return max(1, min(10_000, SAMPLE_VALUES // event_size))


class ServingModule(tf.Module):
  """Serving tf.functions with fixed input signatures over a model snapshot.

  Every masked kernel is frozen on construction (kernel x mask computed
  once, `maf_tf.made.frozen_kernels`), and the functions read those copies
  whenever they are traced: a small request no longer pays a mask product
  over every kernel. The module tracks exactly what the functions read
  (the copies and the model's other variables), so the SavedModel's
  checkpoint, which TF Serving and saved_model_cli restore, holds each
  once and no unmasked kernel.
  """

  def __init__(self, model: MAF, max_samples: Optional[int] = None,
               assets: Sequence[str] = ()):
    super().__init__()
    self.assets = [tf.saved_model.Asset(path) for path in assets]
    image_shape, num_classes = model.image_shape, model.context_size
    self.max_samples = (default_max_samples(model.event_size)
                        if max_samples is None else int(max_samples))
    if self.max_samples < 1:
      raise ValueError(f"max_samples must be a positive integer; got "
                       f"{max_samples}")
    copies = masked_kernel_copies(model)
    self._keep_untracked(model, copies)
    unmasked = {id(layer.kernel) for layer in copies}
    self.masked_kernels = list(copies.values())
    self.other_variables = [v.value for v in model.weights
                            if id(v) not in unmasked]
    self.image_shape = list(image_shape) if image_shape else None
    self.num_classes = num_classes
    size = model.event_size
    self.features = model.context_type == "features"
    label = []
    if self.features:
      label = [tf.TensorSpec([None, model.context_size], tf.float32,
                             name="context")]
    elif model.context_size:
      label = [tf.TensorSpec([None], tf.int32, name="label")]
    events = lambda name, dtype=tf.float32: [  # noqa: E731
        tf.TensorSpec([None, size], dtype, name=name)] + label
    serve = lambda method, signature: tf.function(  # noqa: E731
        self._frozen(method), input_signature=signature)
    self.serving_functions = {}
    if isinstance(model, PixelFlow):
      self.serving_functions["log_prob_pixels"] = serve(
          self._log_prob_pixels, events("x"))
      self.serving_functions["log_prob_logit"] = serve(
          self._log_prob_logit, events("y"))
      self.serving_functions["bits_per_dim"] = serve(
          self._bits_per_dim, events("images", tf.uint8))
      self.serving_functions["serving_default"] = self.serving_functions[
          "log_prob_pixels"]
    else:
      self.serving_functions["serving_default"] = serve(self._log_prob,
                                                        events("x"))
    if self.features:  # [C] shared, or one per sample [num_samples, C]
      label = [tf.TensorSpec(None, tf.float32, name="context")]
    self.serving_functions["sample"] = serve(self._sample, [
        tf.TensorSpec([], tf.int32, name="num_samples"),
        tf.TensorSpec([], tf.int32, name="seed")] + label)

  @tf.__internal__.tracking.no_automatic_dependency_tracking
  def _keep_untracked(self, model: MAF, copies: dict):
    """The Keras model (and its unmasked kernels) stay out of the
    SavedModel."""
    self.model = model
    self._copies = copies

  def _frozen(self, method):
    @functools.wraps(method)
    def traced_with_copies(*args):
      with frozen_kernels(self._copies):
        return method(*args)
    return traced_with_copies

  def _checked(self, events, name: str):
    """Fails with a message naming the expected width (a SavedModel
    signature accepts any batch of rank 2 otherwise)."""
    size = self.model.event_size
    events = _runtime_rank(events, 2)
    with tf.control_dependencies([tf.debugging.assert_equal(
        tf.shape(events)[-1], size,
        message=f"{name} must have shape [N, {size}]")]):
      return tf.identity(events)

  def _context(self, label, rows, what: str):
    """One-hot labels, checked: in range, one per row (`rows` of `what`);
    or a feature context [rows, C] (or [C], repeated), checked."""
    if label is None:
      return None
    if self.features:
      return self._features(label, rows, what)
    label = _runtime_rank(label, 1)
    with tf.control_dependencies([tf.debugging.assert_equal(
        tf.shape(label)[0], rows,
        message=f"label must have one entry per {what}"),
        tf.debugging.assert_less(
        label, self.num_classes,
        message=f"label must be in 0..{self.num_classes - 1}"),
        tf.debugging.assert_non_negative(
            label, message=f"label must be in 0..{self.num_classes - 1}")]):
      return tf.one_hot(label, self.num_classes)

  def _features(self, context, rows, what: str):
    """A feature context [C] (shared) or [rows, C], checked: its width,
    its rows, finite."""
    size = self.num_classes
    message = (f"context must have shape [{size}] or [N, {size}] with one "
               f"row per {what}")
    with tf.control_dependencies([
        tf.debugging.assert_equal(tf.shape(context)[-1], size,
                                  message=message),
        tf.debugging.assert_less_equal(tf.rank(context), 2,
                                       message=message)]):
      context = tf.reshape(context, [-1, size])
    count = tf.shape(context)[0]
    with tf.control_dependencies([
        tf.debugging.Assert(tf.logical_or(tf.equal(count, 1),
                                          tf.equal(count, rows)),
                            [message]),
        tf.debugging.assert_all_finite(
            context, "context must be finite (no NaN or Inf)")]):
      return tf.broadcast_to(context, [rows, size])

  def _log_prob(self, x, label=None):
    x = self._checked(x, "x")
    return {"log_prob": self.model.log_prob(
        x, self._context(label, tf.shape(x)[0], "row of x"))}

  def _log_prob_pixels(self, x, label=None):
    x = self._checked(x, "x")
    pixel, logit = self.model.log_prob_pixel_and_logit(
        x, self._context(label, tf.shape(x)[0], "row of x"))
    return {"log_prob": pixel, "log_prob_logit": logit}

  def _log_prob_logit(self, y, label=None):
    y = self._checked(y, "y")
    context = self._context(label, tf.shape(y)[0], "row of y")
    z, log_det = self.model.logit_to_base(y, context)
    return {"log_prob_logit": self.model.base_log_prob(z, context) + log_det}

  def _bits_per_dim(self, images, label=None):
    images = self._checked(images, "images")
    x = (tf.cast(images, tf.float32) + 0.5) / 256.0
    log_prob = self.model.log_prob(x, self._context(
        label, tf.shape(x)[0], "row of images"))
    return {"bits_per_dim": bits_per_dim(log_prob, self.model.event_size)}

  def _sample(self, num_samples, seed, label=None):
    message = f"num_samples must be in 0..{self.max_samples}"
    with tf.control_dependencies([
        tf.debugging.assert_non_negative(num_samples, message=message),
        tf.debugging.assert_less_equal(num_samples, self.max_samples,
                                       message=message)]):
      num_samples = tf.identity(num_samples)
    context = self._context(label, num_samples, "sample")
    samples = draw(self.model, num_samples, context, tf.stack([seed, 0]))
    outputs = {"samples": samples}
    if self.image_shape:
      outputs["images"] = tf.reshape(to_uint8(samples),
                                     [-1, *self.image_shape])
    return outputs


def _runtime_rank(value, rank: int):
  """`value`, failing at run time unless it has `rank` dimensions ("Shape
  of tensor label [2,1] is not compatible with expected shape [?]"). A
  signature's input shape is not enforced when a client calls it, and
  graph optimisation trusts it: a label [N, 1] would otherwise reach the
  range checks and fail there with "In[0] should be a scalar"."""
  return tf.ensure_shape(value, [None] * rank)


def export_saved_model(model: MAF, base_dir: str,
                       version: Optional[int] = None,
                       max_samples: Optional[int] = None,
                       assets: Sequence[str] = ()) -> str:
  """Writes a SavedModel to base_dir/<version>/ and returns that path.

  The SavedModel is written into a hidden directory beside the versions
  (.export-*, which TF Serving ignores) and renamed into place only when
  complete, so TF Serving, which loads the highest numbered version, never
  sees a half-written one: a failed export leaves no version behind (a
  killed one, at most a hidden .export-* directory). Two exports into one
  base_dir get different versions: a rename never replaces a version.

  Args:
    model: a MAF, PixelMAF or Ensemble (maf_tf.ensemble); a PixelMAF
      with an image_shape also serves `sample`'s images, a conditional
      one takes labels in 0..context_size - 1.
    base_dir: TF Serving's model_base_path.
    version: integer version; default one more than the highest there.
    max_samples: the most samples one `sample` request may ask for
      (default: `default_max_samples(event_size)`).
    assets: files copied into the SavedModel's assets/ (e.g. a table
      run's columns.json).

  Raises:
    ValueError: if that version already exists (nothing is overwritten).
  """
  os.makedirs(base_dir, exist_ok=True)
  if version is not None:
    path = os.path.join(base_dir, str(version))
    if os.path.exists(path):
      raise ValueError(f"SavedModel version {path} exists; choose another "
                       "version")
  module = ServingModule(model, max_samples, assets)
  staging = tempfile.mkdtemp(prefix=f".export-{os.getpid()}-", dir=base_dir)
  try:
    tf.saved_model.save(module, staging, signatures=module.serving_functions)
    _readable_by_all(staging)
    return _publish(staging, base_dir, version)
  finally:
    shutil.rmtree(staging, ignore_errors=True)  # gone once renamed


def _readable_by_all(folder: str) -> None:
  """mkdtemp makes a directory only its owner can read; a model server
  often runs as another user. Files get what the umask allows."""
  mask = os.umask(0)
  os.umask(mask)
  for root, folders, _ in os.walk(folder):
    for name in [root] + [os.path.join(root, f) for f in folders]:
      os.chmod(name, 0o777 & ~mask)


def next_version(base_dir: str) -> int:
  """One more than the highest version in base_dir (1 if none)."""
  versions = [int(n) for n in os.listdir(base_dir) if n.isdigit()]
  return max(versions, default=0) + 1


def _publish(staging: str, base_dir: str, version: Optional[int]) -> str:
  """Renames the complete SavedModel `staging` to base_dir/<version> (the
  next free version when None) and returns that path. os.rename onto an
  existing non-empty directory fails, so a version another process took
  in the meantime is never replaced."""
  while True:
    path = os.path.join(base_dir, str(
        next_version(base_dir) if version is None else version))
    try:
      os.rename(staging, path)
      return path
    except OSError:
      if not os.path.exists(path):
        raise  # not a version taken since we looked: a real error
      if version is not None:
        raise ValueError(f"SavedModel version {path} exists; choose "
                         "another version") from None
