"""The flows the benchmarks compare, built from a preset: ours (as the
trainer builds it) and TFP's own MAF of the same sizes."""

__all__ = ["preset_config", "our_flow", "image_presets", "flops_per_sample",
           "tfp_flows"]


def preset_config(preset):
  """(TrainConfig, event size D) of a preset."""
  from configs.presets import PRESETS
  from maf_tf.data.specs import IMAGE_SPECS
  config = PRESETS[preset]
  return config, IMAGE_SPECS[config.dataset].event_size


def our_flow(config, size, dtype_policy=None, seed=0, **arguments):
  """This project's model (config.model: MAF, MADE MoG, ...) with a
  preset's configuration (the trainer's construction, configs.build) over
  events of `size`, without the pixel preprocessing; `arguments`: flow
  arguments that have no config field (e.g. standardize)."""
  from configs.build import model_arguments
  from maf_tf import build_flow
  from maf_tf.data import DatasetDescription
  return build_flow(DatasetDescription("events", "tabular", size),
                    model=config.model, **model_arguments(
                        config.replace(dtype_policy=dtype_policy, seed=seed)),
                    **arguments)


def image_presets():
  """The presets of image datasets, which these benchmarks accept."""
  from configs.presets import PRESETS
  from maf_tf.data.specs import IMAGE_SPECS
  return sorted(p for p, c in PRESETS.items() if c.dataset in IMAGE_SPECS)


def flops_per_sample(config, size):
  """2 x multiply-adds of one density pass (masks ignored): the MAF
  layers' MADEs (2 outputs per dimension; an NSF's 3K - 1) and, for a
  MADE MoG base, its MADE (3K outputs per dimension)."""
  from configs.build import params_per_dimension
  from maf_tf.models import MODELS
  def made(outputs):
    widths = [size, *config.hidden_units, outputs * size]
    return 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))
  record = MODELS[config.model]
  structure = record.structure(config.num_layers, config.batch_norm)
  mog = made(3 * config.num_components) if structure.get(
      "base") == "made_mog" else 0
  return structure["num_layers"] * made(params_per_dimension(config)) + mog


def tfp_flows(config, size):
  """(training, inference) TransformedDistributions sharing every weight."""
  import numpy as np
  import tensorflow_probability as tfp
  from maf_tf.flows import batch_norm_positions
  tfb, tfd = tfp.bijectors, tfp.distributions
  norms = {k: tfb.BatchNormalization() for k in
           batch_norm_positions(config.batch_norm, config.num_layers)}
  mafs = [tfb.MaskedAutoregressiveFlow(tfb.AutoregressiveNetwork(
      params=2, event_shape=[size], hidden_units=list(config.hidden_units),
      activation="relu", hidden_degrees="random" if
      config.hidden_degrees == "random" else "equal"))
          for _ in range(config.num_layers)]

  def flow(training):
    steps = []  # data -> base, as our MAF; Chain applies inverses in order
    for k in range(config.num_layers):
      if k:
        steps.append(tfb.Permute(np.arange(size)[::-1]))
      steps.append(mafs[k])
      if k in norms:
        steps.append(tfb.BatchNormalization(norms[k].batchnorm,
                                            training=training))
    return tfd.TransformedDistribution(
        tfd.Sample(tfd.Normal(0.0, 1.0), [size]), tfb.Chain(steps))

  return flow(True), flow(False)
