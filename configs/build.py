"""A TrainConfig's dataset and model: the one place a config becomes
objects (the trainer, the evaluator and the benchmarks all build here)."""

import dataclasses
import inspect

from configs.base import TrainConfig
from maf_tf import MAF, build_flow
from maf_tf.data import DatasetDescription, Splits, load_dataset
from maf_tf.data.tables import load_table
from maf_tf.ensemble import Ensemble
from maf_tf.models import MODELS, flow_class
from maf_tf.transformers import TRANSFORMERS

__all__ = ["argument_fields", "model_arguments", "transformer_spec",
           "transformer_fields", "params_per_dimension", "load_data",
           "build_model"]

# A flow argument whose config field has another name; dtype is Keras's
# (a model's own fields add theirs: argument_fields).
FIELD_OF_ARGUMENT = {"dtype": "dtype_policy"}
# A transformer argument whose config field has another name.
FIELD_OF_TRANSFORMER_ARGUMENT = {"bound": "spline_bound"}
FROM_THE_DATA = ("event_size", "context_size")


def _keywords(flow: type) -> list:
  return [name for name, parameter in inspect.signature(
      flow.__init__).parameters.items() if parameter.kind in (
          parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)]


def argument_fields(model: str) -> dict:
  """{flow argument: its config field} where the names differ, for
  `model` (its record's own fields: NSF's bound is spline_bound)."""
  return {**FIELD_OF_ARGUMENT, **{
      argument: field
      for field, argument in MODELS[model].own_fields.items()}}


def model_arguments(config: TrainConfig) -> dict:
  """The flow's keyword arguments that the config holds: every argument
  of MAF and of the model's own class (NSF's bins and bound) that has a
  config field, read from their signatures, so a new argument needs only
  its field, and the transformer with its arguments (transformer_spec);
  not the sizes that come from the data."""
  fields = {field.name for field in dataclasses.fields(config)}
  field_of = argument_fields(config.model)
  names = ["dtype", *_keywords(MAF), *_keywords(flow_class(config.model))]
  arguments = {name: getattr(config, field_of.get(name, name))
               for name in dict.fromkeys(names) if name not in FROM_THE_DATA
               and field_of.get(name, name) in fields}
  spec = transformer_spec(config)
  if spec is None:
    arguments.pop("transformer", None)
  else:
    arguments["transformer"] = spec
  return arguments


def transformer_fields(transformer: str) -> dict:
  """{config field: argument} of a transformer (one of TRANSFORMERS):
  the fields it is built from (spline: bins, spline_bound -> bound)."""
  return {FIELD_OF_TRANSFORMER_ARGUMENT.get(argument, argument): argument
          for argument in TRANSFORMERS[transformer].arguments()}


def transformer_spec(config: TrainConfig):
  """The spec of the transformer config.transformer names, its arguments
  read from their fields, for a model that takes one (its record's
  takes_transformer: maf, maf_mog, made); None for any other."""
  if not MODELS[config.model].takes_transformer:
    return None
  return {"name": config.transformer, **{
      argument: getattr(config, field) for field, argument in
      transformer_fields(config.transformer).items()}}


def params_per_dimension(config: TrainConfig) -> int:
  """Each layer's MADE outputs per dimension for the config's model."""
  return flow_class(config.model)._params_per_dimension(
      model_arguments(config))


def load_data(config: TrainConfig) -> Splits:
  """The config's dataset split into train / validation / test, with its
  description; a --data table (config.data) by `load_table`."""
  if config.data is not None:
    return load_table(
        config.data, config.columns, config.context_columns,
        config.label_column, config.id_column, config.bounds,
        config.discrete_columns, config.missing,
        config.validation_fraction, config.test_fraction, config.test_data,
        config.split_seed, config.max_table_megabytes)
  return load_dataset(config.dataset, config.source, config.data_dir,
                      config.validation_size, config.alpha, config.toy_size,
                      config.split_seed)


def build_model(config: TrainConfig, description: DatasetDescription):
  """The config's model (config.model, one of maf_tf.MODELS) for a
  dataset, with the logit preprocessing for images; an Ensemble of
  config.num_members of them (seeds seed, seed + 1, ...) when more than
  one."""
  arguments = model_arguments(config)
  conditional = config.conditional or bool(config.label_column)
  if config.num_members == 1:
    return build_flow(description, conditional, config.model, **arguments)
  if description.kind == "image":
    raise ValueError("--num_members applies to tables and toy datasets, "
                     "not to images")
  return Ensemble([
      build_flow(description, conditional, config.model,
                 **{**arguments, "seed": config.seed + k},
                 name=f"member_{k}") for k in range(config.num_members)])
