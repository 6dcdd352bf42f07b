"""A TrainConfig's dataset and model: the one place a config becomes
objects (the trainer, the evaluator and the benchmarks all build here)."""

from configs.base import TrainConfig
from maf_tf import MAF, build_flow
from maf_tf.data import DatasetDescription, Splits, load_dataset

__all__ = ["model_arguments", "load_data", "build_model"]


def model_arguments(config: TrainConfig) -> dict:
  """MAF's keyword arguments from a config (and NSF's spline ones for
  model nsf), but for the sizes that come from the data (event and
  context size)."""
  return dict(
      num_layers=config.num_layers, hidden_units=config.hidden_units,
      activation=config.activation, hidden_degrees=config.hidden_degrees,
      ordering=config.ordering, batch_norm=config.batch_norm,
      base=config.base, num_components=config.num_components,
      log_scale_bound=config.log_scale_bound, affine=config.affine,
      initialization=config.initialization, seed=config.seed,
      dtype=config.dtype_policy,
      **(dict(bins=config.bins, bound=config.spline_bound)
         if config.model == "nsf" else {}))


def load_data(config: TrainConfig) -> Splits:
  """The config's dataset split into train / validation / test, with its
  description."""
  return load_dataset(config.dataset, config.source, config.data_dir,
                      config.validation_size, config.alpha, config.toy_size,
                      config.seed)


def build_model(config: TrainConfig,
                description: DatasetDescription) -> MAF:
  """The config's model (config.model, one of maf_tf.MODELS) for a
  dataset, with the logit preprocessing for images."""
  return build_flow(description, config.conditional, config.model,
                    **model_arguments(config))
