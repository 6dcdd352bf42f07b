"""configs: the model's arguments read from the flows' signatures, each
field's help beside it, and the seed table."""

import dataclasses
import inspect
import json

from configs.base import SEED_OFFSETS, TrainConfig, help_text
from configs.build import (argument_fields, load_data, model_arguments,
                           params_per_dimension)
from configs.presets import preset
from maf_tf import MAF, NSF
from maf_tf.transformers import TRANSFORMERS, transformer_from

# Fields that are not the model's arguments: the data, the optimisation,
# the outputs, and the two that choose the model's class and context.
NOT_MODEL_ARGUMENTS = {
    "dataset", "source", "data_dir", "validation_size", "flips", "alpha",
    "toy_size", "learning_rate", "cosine_decay", "weight_decay", "clip_norm",
    "batch_size", "eval_batch_size", "epochs", "patience", "max_bad_steps",
    "max_parameters", "steps_per_execution", "sample_every", "num_samples",
    "model", "conditional", "data", "columns", "context_columns",
    "label_column", "id_column", "bounds", "discrete_columns", "missing",
    "validation_fraction", "test_fraction", "test_data",
    "max_table_megabytes", "split_seed", "num_members"}


def test_every_field_is_a_model_argument_or_declared_not_one():
  """A new MAF or NSF argument reaches the model from its config field
  alone; a new field of another kind must be declared here."""
  arguments = model_arguments(preset("digits", "nsf"))
  assert arguments["bound"] == 3.0 and arguments["bins"] == 8
  field_of = argument_fields("nsf")
  used = {field_of.get(name, name) for name in arguments} | {
      "transformer"}  # maf's (test_the_transformer_field_...)
  fields = {field.name for field in dataclasses.fields(TrainConfig)}
  assert used.isdisjoint(NOT_MODEL_ARGUMENTS)
  assert used | NOT_MODEL_ARGUMENTS == fields
  assert "bins" not in model_arguments(preset("digits", "maf"))


def test_the_transformer_field_builds_that_transformer_from_its_fields():
  """--transformer with the fields its arguments are read from; a bounded
  one is standardised in front, as NSF is; a model with its own layers
  takes no transformer argument."""
  config = preset("digits").replace(transformer="linear", bins=4,
                                    spline_bound=3.0)
  assert model_arguments(config)["transformer"] == {
      "name": "linear", "bins": 4, "bound": 3.0}
  assert params_per_dimension(config) == 8
  assert model_arguments(preset("digits"))["transformer"] == {
      "name": "affine", "affine": "scale_then_shift", "log_scale_bound": 3.0}
  assert params_per_dimension(preset("digits")) == 2
  assert "transformer" not in model_arguments(preset("digits", "nsf"))
  assert params_per_dimension(preset("digits", "nsf")) == 3 * 8 - 1
  flow = MAF(event_size=2, num_layers=1, hidden_units=[4],
             **{k: v for k, v in model_arguments(config).items()
                if k == "transformer"})
  assert flow.standardization is not None
  assert MAF(event_size=2, num_layers=1).standardization is None
  from configs.paper import model_name
  assert model_name(preset("mnist_paper")) == "MAF(5)"
  assert model_name(preset("mnist_paper").replace(transformer="linear")) \
      is None  # not the paper's model: no paper figure beside it
  for name in TRANSFORMERS:  # each argument has its field
    spec = model_arguments(preset("digits").replace(transformer=name))[
        "transformer"]
    assert transformer_from(spec).name == name


def test_a_flows_saved_config_holds_every_argument_of_its_signature():
  """get_config is written out by hand: it must not miss an argument."""
  # NSF's transformer is its bins and bound
  for flow, extra, instead in ((MAF, set(), set()),
                               (NSF, {"bins", "bound"}, {"transformer"})):
    keywords = {name for name, p in inspect.signature(MAF.__init__)
                .parameters.items() if p.kind is not p.VAR_KEYWORD} - {
                    "self", *instead}
    config = flow(event_size=2, num_layers=1, hidden_units=[4]).get_config()
    assert keywords | extra <= set(config), keywords - set(config)


def test_every_field_has_help_and_every_stream_its_own_seed():
  for field in dataclasses.fields(TrainConfig):
    assert help_text(field.name).endswith((".", ")")), field.name
  config = TrainConfig(seed=7)
  seeds = [config.stream_seed(stream) for stream in SEED_OFFSETS]
  assert len(set(seeds)) == len(seeds) and config.stream_seed("model") == 7


def test_the_split_follows_split_seed_not_the_models_seed(tmp_path):
  """Runs of different seeds are scored on the same test rows; a run
  written before split_seed existed keeps the split its seed gave it."""
  path = tmp_path / "rows.csv"
  path.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(60)))
  config = preset("table").replace(data=str(path))
  tests = {(seed, split): load_data(config.replace(
      seed=seed, split_seed=split)).test[0][:, 0].tolist()
           for seed, split in ((0, 0), (5, 0), (0, 5))}
  assert tests[0, 0] == tests[5, 0] != tests[0, 5]
  old = dataclasses.asdict(config.replace(seed=5))
  del old["split_seed"]
  assert TrainConfig.from_json(json.dumps(old)).split_seed == 5


def test_every_named_dataset_has_a_preset_of_its_name():
  """A toy or a tabular set gets its preset from its spec alone
  (configs.presets builds them from TOYS and TABULAR); an image set from
  a preset written for it."""
  from configs.presets import PRESETS
  from maf_tf.data import IMAGE_SPECS, TOYS
  from maf_tf.data.tabular import TABULAR
  for name in (*TOYS, *TABULAR, *IMAGE_SPECS):
    assert PRESETS[name].dataset == name
  assert PRESETS["gas"].activation == "tanh"  # the paper's GAS MADE
  assert PRESETS["wine"].batch_size == 32     # the measured small tables
