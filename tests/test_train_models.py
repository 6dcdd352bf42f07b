"""The paper's models through the trainer, trainers.evaluate and a
SavedModel loaded in a fresh process (conditional, on the digits)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from test_evaluate_export import _load_and_run
from helpers import TINY, for_model, run_in_process

# The kinds of model besides MAF (test_train.py): maf_mog and made are
# MAFs with another base or one layer (tests/test_models.py); 'linear' is
# a MAF of another transformer, chosen by its flag.
TRAINED = {"made_mog": [], "real_nvp": [], "gaussian": [], "nsf": [],
           "linear": ["--transformer=linear", "--bins=4"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """{model: run directory} of a finished conditional run of each."""
  root = tmp_path_factory.mktemp("models")
  directories = {}
  for model, flags in TRAINED.items():
    run_dir = str(root / model)
    name = "maf" if flags else model
    error = run_in_process([*for_model(name, [
        "--dataset=digits", f"--model={name}", "--conditional",
        f"--model_dir={run_dir}", "--epochs=1", "--num_layers=2",
        "--hidden_units=16", "--batch_size=50", *TINY[3:]]), *flags])
    assert error is None, error
    directories[model] = run_dir
  return directories


@pytest.mark.parametrize("model", list(TRAINED))
def test_each_model_trains_evaluates_and_exports(runs, model):
  from trainers import evaluate
  run_dir = runs[model]
  with open(os.path.join(run_dir, "results.json")) as stream:
    results = json.load(stream)
  assert np.isfinite(results["test_log_likelihood"])
  assert results["skipped_steps"] == 0
  assert os.path.isfile(os.path.join(results["saved_model"],
                                     "saved_model.pb"))
  if model == "linear":  # the flag's transformer, standardised in front
    _, _, flow = evaluate.restore(run_dir)
    assert flow.transformer.spec() == {"name": "linear", "bins": 4,
                                       "bound": 5.0}
    assert flow.standardization is not None
  report = evaluate.evaluate(run_dir, recompute_batch_norm=True)
  assert np.isfinite(report["log_likelihood"])
  assert np.isfinite(report["conditional_log_likelihood"])
  assert os.path.isfile(os.path.join(run_dir, "evaluation_samples.png"))


@pytest.mark.parametrize("model, name", [
    ("maf", "MAF(5)"), ("maf_mog", "MAF MoG(5)"), ("made", "MADE"),
    ("made_mog", "MADE MoG"), ("real_nvp", "Real NVP(5)"),
    ("gaussian", "Gaussian")])
def test_reports_name_the_papers_model_and_figure(model, name):
  from configs.paper import paper_result
  from configs.presets import preset
  result = paper_result(preset("mnist_paper", model).replace(
      conditional=True))
  if name == "MADE":  # Table 2 has no Gaussian MADE row
    assert result is None
    return
  assert result["model"] == name
  assert result["log_likelihood"] == {
      "MAF(5)": -1302.9, "MAF MoG(5)": -1092.3, "MADE MoG": -1030.3,
      "Real NVP(5)": -1326.3, "Gaussian": -1344.7}[name]


def test_saved_models_match_keras_in_a_fresh_process(runs):
  from trainers import evaluate
  x = np.random.default_rng(2).uniform(size=(4, 64)).astype(np.float32)
  labels = [0, 3, 5, 9]
  expected, paths = {}, {}
  for model, run_dir in runs.items():
    _, _, keras_model = evaluate.restore(run_dir)
    expected[model] = keras_model.log_prob(
        x, tf.one_hot(labels, 10)).numpy().tolist()
    with open(os.path.join(run_dir, "results.json")) as stream:
      paths[model] = json.load(stream)["saved_model"]
  code = (f"x = tf.constant(np.array({x.tolist()}, np.float32))\n"
          "out = {}\n"
          f"for name, path in {paths!r}.items():\n"
          "  m = tf.saved_model.load(path)\n"
          f"  p = m.signatures['serving_default'](x=x, label=tf.constant("
          f"{labels}))['log_prob'].numpy().tolist()\n"
          "  s = m.signatures['sample'](num_samples=tf.constant(3), "
          "seed=tf.constant(1), label=tf.constant([1, 2, 3]))\n"
          "  out[name] = [p, list(s['images'].shape)]\n"
          "print(json.dumps(out))")
  done = _load_and_run(next(iter(paths.values())), code)
  assert done.returncode == 0, done.stderr[-2000:]
  out = json.loads(done.stdout.strip().splitlines()[-1])
  for model in runs:
    np.testing.assert_allclose(out[model][0], expected[model], rtol=1e-4,
                               atol=1e-3)
    assert out[model][1] == [3, 8, 8, 1]
