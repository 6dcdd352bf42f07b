"""configs.paper: the paper's figures appear only beside like-for-like runs."""

import pytest

from configs.paper import TABLE_1, differences, model_name, paper_result
from configs.presets import PRESETS, preset


def test_table_1_has_every_model_and_set():
  assert len(TABLE_1) == 7 * 5
  assert TABLE_1[("power", False, "MAF MoG(5)")] == (0.30, 0.01)
  assert TABLE_1[("bsds300", False, "MAF(5)")] == (155.69, 0.28)


@pytest.mark.parametrize("dataset, model, expected", [
    ("mnist_paper", "maf", -1300.5), ("power", "maf", 0.14),
    ("gas", "made_mog", 8.47), ("hepmass", "real_nvp", -19.62),
    ("miniboone", "maf_mog", -11.68), ("bsds300", "made", 148.85),
    ("power", "gaussian", -7.74)])
def test_presets_of_the_papers_architectures_get_its_figure(dataset, model,
                                                            expected):
  result = paper_result(preset(dataset, model))
  assert result["log_likelihood"] == expected


def test_bsds300_with_1024_units_is_the_paper_s_other_size():
  config = preset("bsds300").replace(hidden_units=(1024, 1024))
  assert paper_result(config)["log_likelihood"] == 155.69


@pytest.mark.parametrize("changes, named", [
    (dict(hidden_units=(512,)), "hidden units [512]"),
    (dict(activation="tanh"), "activation tanh"),
    (dict(hidden_degrees="random"), "hidden degrees random"),
    (dict(batch_norm=None), "batch norm none"),
    (dict(hidden_units=(1024, 512)), "hidden units [1024, 512]")])
def test_a_different_architecture_says_what_differs(changes, named):
  config = PRESETS["mnist_paper"].replace(**changes)
  result = paper_result(config)
  assert "log_likelihood" not in result
  assert any(text.startswith(named) for text in result["differs"])


def test_this_projects_mixture_base_and_other_data_have_no_figure():
  assert model_name(PRESETS["mnist_paper"].replace(base="mixture")) is None
  assert paper_result(PRESETS["mnist_paper"].replace(base="mixture")) is None
  for dataset in ("fashion_mnist", "digits", "wine", "two_moons"):
    assert paper_result(preset(dataset)) is None


def test_the_gaussian_and_made_need_no_batch_norm():
  assert differences(preset("mnist_paper", "gaussian").replace(
      hidden_units=(7,))) == []
  assert differences(preset("power", "made").replace(batch_norm=None)) == []


def test_the_spline_flow_has_a_name_and_no_paper_figure():
  from configs.presets import preset as make
  config = make("power", "nsf")
  assert model_name(config) == "NSF(5)" and paper_result(config) is None


def test_presets_give_the_spline_flow_its_measured_settings():
  from configs.presets import preset as make
  assert make("digits", "nsf").spline_bound == 3.0
  assert make("two_moons", "nsf").spline_bound == 5.0
  assert make("digits", "maf").spline_bound == 5.0  # unused: the default
  assert make("wine", "nsf").batch_norm is None
  assert make("wine", "maf").batch_norm == "after_each"
