"""The Python API under bad input: each case is one row of the README's
"Bad inputs and faults" table. A wrong value is a one-line error naming
what was expected; a special value has the documented meaning."""

import glob
import json
import os
import re
import shutil
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from maf_tf import IAF, MAF, MADEMoG, PixelMAF
from helpers import TINY, run_in_process

X = np.zeros((4, 3), np.float32)


@pytest.mark.parametrize("base", ["normal", "made_mog"])
def test_a_shared_context_works_on_every_path(base):
  """A context [C] shared by all rows: sample, and the TFP distribution
  (which used to end in a Keras min_ndim traceback)."""
  flow = _maf(context_size=2, base=base)
  context = np.array([0.0, 1.0], np.float32)
  samples = flow.distribution(context=context).sample(50, seed=1)
  assert samples.shape == (50, 3)
  np.testing.assert_allclose(
      flow.distribution(context=context).log_prob(samples),
      flow.log_prob(samples, np.tile(context, (50, 1))), rtol=1e-5)
  assert flow.sample(4, context=context).shape == (4, 3)


@pytest.mark.parametrize("bad", [
    np.zeros((8, 5), np.float32), np.zeros((8, 3), np.int32),
    tf.data.Dataset.from_tensor_slices(X),
    # refused inside Keras's train function, which it used to leave
    # half-traced ("Creating variables on a non-first call")
    tf.data.Dataset.from_tensor_slices((X, np.zeros((4, 5), np.float32))
                                       ).batch(2)],
    ids=["width", "int32", "unbatched dataset", "context width in a dataset"])
def test_a_model_fits_after_a_refused_fit(bad):
  """A refused first fit leaves nothing half-built: the next one trains."""
  flow = _compiled(_maf())
  with pytest.raises((ValueError, TypeError)):
    flow.fit(bad, verbose=0)
  history = flow.fit(np.random.default_rng(0).normal(size=(16, 3)).astype(
      np.float32), batch_size=8, verbose=0)
  assert np.isfinite(history.history["nll"][0])


def _maf(**kwargs):
  return MAF(**{"event_size": 3, "num_layers": 2, "hidden_units": [8],
                **kwargs})


@pytest.fixture(scope="module")
def flows():
  return {"maf": _maf(), "conditional": _maf(context_size=2),
          "pixel": PixelMAF(event_size=4, num_layers=1, hidden_units=[4],
                            alpha=1e-6)}


@pytest.mark.parametrize("model, field, value, weights", [
    (MAF, "hidden_units", [10**9], "45,000,000,000"),
    (MAF, "num_layers", 10**9, "72,000,000,000"),
    (MADEMoG, "num_components", 10**9, "72,000,000,024")])
def test_an_edited_keras_file_too_large_to_allocate_is_refused(
    tmp_path, model, field, value, weights):
  """A .keras file whose config asks for 10^9 of something is refused in
  one line before anything is allocated (it used to end in a MemoryError
  or run out of memory)."""
  path = str(tmp_path / "flow.keras")
  flow = model(event_size=3, hidden_units=[8])
  flow.log_prob(X)
  flow.save(path)
  with zipfile.ZipFile(path) as saved:
    files = {name: saved.read(name) for name in saved.namelist()}
  config = json.loads(files["config.json"])
  config["config"][field] = value
  files["config.json"] = json.dumps(config)
  with zipfile.ZipFile(path, "w") as edited:
    for name, content in files.items():
      edited.writestr(name, content)
  with pytest.raises(ValueError, match=(
      f"this saved {model.__name__} would have {weights} weights, more than "
      r"1,000,000,000: refused before allocating them \(was its config "
      r"edited\?\)$")):
    keras.models.load_model(path)


def _compiled(flow):
  flow.compile(keras.optimizers.Adam(1e-3))
  return flow


CONSTRUCTION = [
    (dict(event_size=0), "event_size must be a positive integer; got 0"),
    (dict(event_size=2.5), "event_size must be a positive integer; got 2.5"),
    (dict(event_size="3"), "event_size must be a positive integer; got '3'"),
    (dict(num_layers=0), "num_layers must be a positive integer; got 0"),
    (dict(hidden_units=[]), "hidden_units must be one or more positive"),
    (dict(hidden_units=[0]), "hidden_units must be one or more positive"),
    (dict(hidden_units=8), "hidden_units must be one or more positive integers,"
     " one per layer; got 8"),
    (dict(activation="foo"), "Could not interpret activation function"),
    (dict(base="foo"), "base must be one of 'normal', 'mixture', "
                       "'made_mog', 'gaussian'; got 'foo'"),
    (dict(base="mixture", num_components=0),
     "num_components must be a positive integer; got 0"),
    (dict(context_size=-1), "context_size must be >= 0; got -1"),
    (dict(log_scale_bound=0), "log_scale_bound must be a finite number > 0"),
    (dict(log_scale_bound=float("nan")),
     "log_scale_bound must be a finite number > 0; got nan"),
    (dict(log_scale_bound=float("inf")),
     "log_scale_bound must be a finite number > 0; got inf"),
    (dict(affine="foo"), "affine must be one of"),
    (dict(initialization="foo"), "initialization must be one of"),
    (dict(matmul_dtype="float16"), "matmul_dtype must be one of"),
    (dict(ordering="foo"), "ordering must be 'alternate', 'random' or a list"),
    (dict(hidden_degrees="foo"), "must be 'sequential' or 'random'"),
    (dict(batch_norm="sometimes"), "batch_norm must be one of"),
    (dict(batch_norm="between", batch_norm_momentum=1.0),
     r"batch-norm momentum must be in \[0, 1\); got 1.0"),
    (dict(batch_norm="between", batch_norm_eps=-1.0),
     "batch-norm eps must be > 0; got -1.0"),
    (dict(hidden=4), "Unrecognized keyword arguments passed to MAF"),
]


@pytest.mark.parametrize("kwargs, message", CONSTRUCTION,
                         ids=[str(k) for k, _ in CONSTRUCTION])
def test_bad_construction_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message) as info:
    _maf(**kwargs)
  assert "\n" not in str(info.value)


CALLS = [
    ("log_prob wrong width", lambda f: f["maf"].log_prob(np.zeros((4, 5))),
     ValueError, r"x must have shape \[\.\.\., 3\]; got shape \[4, 5\]"),
    ("log_prob int dtype",
     lambda f: f["maf"].log_prob(np.zeros((4, 3), np.int32)),
     TypeError, "x must be a floating-point tensor .* got dtype int32"),
    ("log_prob string", lambda f: f["maf"].log_prob("abc"),
     TypeError, "got dtype string"),
    ("log_prob RaggedTensor",
     lambda f: f["maf"].log_prob(tf.ragged.constant([[1.0, 2.0, 3.0]])),
     TypeError, r"x must be a dense tensor \[\.\.\., 3\]; got a "
     "RaggedTensor"),
    ("log_prob SparseTensor",
     lambda f: f["maf"].log_prob(tf.sparse.from_dense(tf.ones([2, 3]))),
     TypeError, "got a SparseTensor"),
    ("log_prob scalar", lambda f: f["maf"].log_prob(np.float32(1)),
     ValueError, r"got shape \[\]"),
    ("log_prob context on unconditional",
     lambda f: f["maf"].log_prob(X, np.zeros((4, 2), np.float32)),
     ValueError, "this flow is unconditional .* log_prob got a context"),
    ("log_prob no context on conditional",
     lambda f: f["conditional"].log_prob(X), ValueError,
     r"log_prob needs a context of shape \[\.\.\., 2\]; got None"),
    ("log_prob context wrong width",
     lambda f: f["conditional"].log_prob(X, np.zeros((4, 5), np.float32)),
     ValueError, r"context must have shape \[\.\.\., 2\]"),
    ("log_prob context batch mismatch",
     lambda f: f["conditional"].log_prob(X, np.zeros((3, 2), np.float32)),
     ValueError, r"context's batch shape \[3\] does not match x's \[4\]"),
    ("sample(-1)", lambda f: f["maf"].sample(-1), ValueError,
     r"n must be an integer in 0\.\.2147483647; got -1"),
    ("sample(2**32 + 5): no wraparound", lambda f: f["maf"].sample(2**32 + 5),
     ValueError, "got 4294967301"),
    ("sample(2**63)", lambda f: f["maf"].sample(2**63), ValueError,
     "got 9223372036854775808"),
    ("sample(tf.constant(3.7))", lambda f: f["maf"].sample(tf.constant(3.7)),
     ValueError, r"got a tensor of dtype float32 and shape \[\]"),
    ("sample(tf.constant(True))",
     lambda f: f["maf"].sample(tf.constant(True)), ValueError,
     "got a tensor of dtype bool"),
    ("sample(tf.constant(2**40))",
     lambda f: f["maf"].sample(tf.constant(2**40, tf.int64)), ValueError,
     "got 1099511627776"),
    ("sample seed=2**32: no wraparound",
     lambda f: f["maf"].sample(2, seed=2**32), ValueError,
     r"seed must be an integer in 0\.\.2147483647, a stateless seed "
     r"tensor \[2\] or None; got 4294967296"),
    ("sample seed=-1", lambda f: f["maf"].sample(2, seed=-1), ValueError,
     "got -1"),
    ("sample seed='a'", lambda f: f["maf"].sample(2, seed="a"), ValueError,
     "got 'a'"),
    ("sample(2.5)", lambda f: f["maf"].sample(2.5), ValueError,
     "got 2.5"),
    ("sample(None)", lambda f: f["maf"].sample(None), ValueError,
     "got None"),
    ("sample sampler='foo'", lambda f: f["maf"].sample(2, sampler="foo"),
     ValueError, "sampler must be one of 'fast', 'naive'; got 'foo'"),
    ("sample conditional without context",
     lambda f: f["conditional"].sample(2), ValueError,
     "sample needs a context"),
    ("sample context rows != n",
     lambda f: f["conditional"].sample(3, np.zeros((2, 2), np.float32)),
     ValueError, r"context must have shape \[2\] or \[n=3, 2\]; got shape "
     r"\[2, 2\]"),
    ("sample context rows != a tensor n",
     lambda f: f["conditional"].sample(tf.constant(3),
                                       np.zeros((2, 2), np.float32)),
     ValueError, r"context must have shape \[2\] or \[n=3, 2\]; got shape "
     r"\[2, 2\]"),
    ("sample context on unconditional",
     lambda f: f["maf"].sample(2, np.zeros((2, 2), np.float32)),
     ValueError, "sample got a context"),
    ("sample() at a NaN context",
     lambda f: f["conditional"].sample(2, [np.nan, 0.0]), ValueError,
     "sample's context must be finite"),
    ("distribution() of conditional without context",
     lambda f: f["conditional"].distribution(), ValueError,
     "distribution needs a context"),
    ("PixelMAF alpha=0.7",
     lambda f: PixelMAF(event_size=4, alpha=0.7), ValueError,
     r"alpha must be in \(0, 0\.5\); got 0\.7"),
    ("PixelMAF uint8 pixels",
     lambda f: f["pixel"].log_prob(np.full((2, 4), 3, np.uint8)), TypeError,
     "x must be a floating-point tensor .* got dtype uint8"),
    ("compile clip_norm=-1",
     lambda f: _maf().compile(keras.optimizers.Adam(), clip_norm=-1.0),
     ValueError, "clip_norm must be None or a finite number > 0; got -1.0"),
    ("compile weight_decay=nan",
     lambda f: _maf().compile(keras.optimizers.Adam(),
                              weight_decay=float("nan")),
     ValueError, "weight_decay must be a finite number >= 0; got nan"),
    ("fit wrong width",
     lambda f: _compiled(_maf()).fit(np.zeros((8, 5), np.float32), verbose=0),
     ValueError, r"x must have shape \[\.\.\., 3\]"),
    ("fit int32 x",
     lambda f: _compiled(_maf()).fit(np.zeros((8, 3), np.int32), verbose=0),
     TypeError, "x must be a floating-point tensor .* got dtype int32"),
    ("fit no examples",
     lambda f: _compiled(_maf()).fit(np.zeros((0, 3), np.float32), verbose=0),
     ValueError, "fit needs at least one example; x has 0 rows"),
    ("fit an unbatched dataset",
     lambda f: _compiled(_maf()).fit(tf.data.Dataset.from_tensor_slices(X),
                                     verbose=0),
     ValueError, r"a dataset for fit must be batched: x \[batch, 3\]; got "
     r"elements of shape \[3\] \(call \.batch\(\.\.\.\) on it first\)"),
    ("fit a dataset of the wrong width",
     lambda f: _compiled(_maf()).fit(tf.data.Dataset.from_tensor_slices(
         np.zeros((4, 5), np.float32)).batch(2), verbose=0),
     ValueError, r"x must have shape \[\.\.\., 3\]; got shape \[None, 5\]"),
    ("fit a dataset of strings",
     lambda f: _compiled(_maf()).fit(tf.data.Dataset.from_tensor_slices(
         ["a", "b"]).batch(2), verbose=0),
     ValueError, r"a dataset for fit must be batched"),
    ("fit batch_size=0",
     lambda f: _compiled(_maf()).fit(X, batch_size=0, verbose=0),
     ValueError, "batch_size must be None or a positive integer; got 0"),
    ("fit before compile", lambda f: _maf().fit(X, verbose=0), ValueError,
     "You must call `compile\\(\\)` before using the model"),
    ("fit conditional without context",
     lambda f: _compiled(_maf(context_size=2)).fit(X, verbose=0), ValueError,
     "log_prob needs a context"),
    ("save into a missing directory",
     lambda f: f["maf"].save("/no/such/dir/flow.keras"), FileNotFoundError,
     "No such file or directory"),
]


@pytest.mark.parametrize("name, call, error, message", CALLS,
                         ids=[c[0] for c in CALLS])
def test_bad_calls(flows, name, call, error, message):
  with pytest.raises(error, match=message) as info:
    call(flows)
  assert "\n" not in str(info.value)


def test_special_values_have_their_documented_meaning(flows):
  maf, pixel = flows["maf"], flows["pixel"]
  # NaN in an example: NaN for that example only; +-Inf: NaN; a finite
  # value too large for the flow: -inf (zero density, not an error).
  scores = maf.log_prob(np.array([[np.nan, 0, 0], [0, 0, 0], [np.inf, 0, 0],
                                  [1e30, 0, 0]], np.float32)).numpy()
  assert np.isnan(scores[0]) and np.isfinite(scores[1])
  assert np.isnan(scores[2]) and scores[3] == -np.inf
  # Pixels outside [0, 1] are outside the support: NaN; 0 and 1 exactly
  # are inside (the alpha squeeze keeps their logits finite).
  outside = pixel.log_prob(np.array([[2, .5, .5, .5], [-.5, .5, .5, .5]],
                                    np.float32)).numpy()
  assert np.isnan(outside).all()
  edges = pixel.log_prob(np.array([[0, 1, 0, 1]], np.float32)).numpy()
  assert np.isfinite(edges).all()
  # Empty batches are empty results; one event without a batch axis is one
  # score; extra batch axes broadcast.
  assert maf.log_prob(np.zeros((0, 3), np.float32)).shape == (0,)
  assert maf.log_prob(np.zeros(3, np.float32)).shape == ()
  assert maf.log_prob(np.zeros((2, 5, 3), np.float32)).shape == (2, 5)
  assert maf.sample(0).shape == (0, 3)
  # float64 input is computed in the flow's float32; the result says so.
  assert maf.log_prob(np.zeros((2, 3))).dtype == tf.float32


def test_iaf_sample_honours_the_sampler_argument():
  iaf = IAF(event_size=3, num_layers=1, hidden_units=[4])
  with pytest.raises(ValueError,
                     match="sampler must be one of 'fast', 'naive'"):
    iaf.sample(2, sampler="foo")
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    assert iaf.sample(2, sampler="naive").shape == (2, 3)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
  run_dir = str(tmp_path_factory.mktemp("evaluate") / "run")
  assert run_in_process(["--dataset=digits", "--epochs=1",
                         f"--model_dir={run_dir}", *TINY]) is None
  return run_dir


def _copy_with(run_dir, tmp_path, damage):
  copy = str(tmp_path / "copy")
  shutil.copytree(run_dir, copy)
  damage(copy)
  return copy


def _write(path, text):
  with open(path, "w") as stream:
    stream.write(text)


def _truncate_best(run_dir):
  for path in glob.glob(os.path.join(run_dir, "checkpoints", "best",
                                     "*.data-*")):
    os.truncate(path, 100)


EVALUATE = [
    ("no run named", lambda run: [], None,
     r"give --model_dir \(a run directory\) or --dataset"),
    ("missing directory", lambda run: ["--model_dir=/no/such"], None,
     "/no/such holds no config.json: not a run directory"),
    ("--num_samples=0", lambda run: [f"--model_dir={run}", "--num_samples=0"],
     None, "num_samples must be a positive integer; got 0"),
    ("--version=-1", lambda run: [f"--model_dir={run}", "--export",
                                  "--version=-1"],
     None, "version must be a positive integer; got -1"),
    ("--version of an existing export",
     lambda run: [f"--model_dir={run}", "--export", "--version=1"], None,
     r"SavedModel version .*/1 exists; choose another version"),
    ("unknown --source", lambda run: [f"--model_dir={run}", "--source=torrent"],
     None, "unknown data source 'torrent'; expected one of"),
    ("config.json not JSON", lambda run: [f"--model_dir={run}"],
     lambda run: _write(os.path.join(run, "config.json"), "{garbage"),
     r"config.json is not a run config \(JSONDecodeError"),
    ("config.json edited (3 layers)", lambda run: [f"--model_dir={run}"],
     lambda run: _write(os.path.join(run, "config.json"), json.dumps(
         {**json.load(open(os.path.join(run, "config.json"))),
          "num_layers": 3})),
     r"does not match the model of config.json: made_2\..* \(missing\)"),
    ("config.json edited to 10^9 hidden units",
     lambda run: [f"--model_dir={run}"],
     lambda run: _write(os.path.join(run, "config.json"), json.dumps(
         {**json.load(open(os.path.join(run, "config.json"))),
          "hidden_units": [10**9]})),
     r"config.json: this model would have .* weights, more than "
     "max_parameters"),
    ("truncated best checkpoint", lambda run: [f"--model_dir={run}"],
     _truncate_best, r"checkpoint .*best/ckpt-1 is unreadable"),
    ("no checkpoints", lambda run: [f"--model_dir={run}"],
     lambda run: shutil.rmtree(os.path.join(run, "checkpoints")),
     "has no checkpoints/best to evaluate"),
    ("a dataset name that is a path", lambda run: ["--dataset=../../x"],
     None, r"unknown dataset '\.\./\.\./x'; expected one of"),
    ("--num_samples=10^8 (uncapped, the trainer caps it)",
     lambda run: [f"--model_dir={run}", "--num_samples=100000000"], None,
     r"num_samples must be at most 156250 for digits"),
    ("evaluation.json a directory (it exported first)",
     lambda run: [f"--model_dir={run}", "--export"],
     lambda run: os.makedirs(os.path.join(run, "evaluation.json")),
     r"evaluation.json is a directory; evaluate writes a file there"),
]


@pytest.mark.parametrize("name, args, damage, message", EVALUATE,
                         ids=[c[0] for c in EVALUATE])
def test_evaluate_command_errors(digits_run, tmp_path, name, args, damage,
                                 message):
  run_dir = _copy_with(digits_run, tmp_path, damage or (lambda _: None))
  before = sorted(os.listdir(run_dir))
  error = run_in_process(args(run_dir), "evaluate")
  assert error is not None and error.startswith("evaluate: error: ")
  assert re.search(message, error), error
  assert "\n" not in error
  if os.path.isdir(run_dir):
    assert sorted(os.listdir(run_dir)) == before  # nothing written


def test_a_damaged_training_log_costs_only_its_picture(digits_run, tmp_path,
                                                       caplog):
  """It was a one-line error naming no file: "invalid literal for int()
  with base 10: 'abc'"."""
  run_dir = _copy_with(digits_run, tmp_path, lambda run: _write(
      os.path.join(run, "training_log.csv"), "epoch,nll,val_nll\nabc,1,2\n"))
  assert run_in_process([f"--model_dir={run_dir}"], "evaluate") is None
  assert os.path.isfile(os.path.join(run_dir, "evaluation.json"))
  assert not os.path.exists(os.path.join(run_dir, "training_curve.png"))
  assert re.search(r"training_log.csv is not a training log \(expected "
                   r"Keras CSVLogger's rows", caplog.text)


def test_a_damaged_results_json_is_named(digits_run, tmp_path):
  """It was "Invalid control character at: line 1 column 24"."""
  run_dir = _copy_with(digits_run, tmp_path, lambda run: _write(
      os.path.join(run, "results.json"), '{"a": "\x01'))
  error = run_in_process(["--dataset=digits", f"--model_dir={run_dir}",
                          "--epochs=1", *TINY])
  assert re.fullmatch(r"train: error: .*results.json is not a run's results "
                      r"\(expected the JSON object a finished run writes; "
                      r".*\); move it aside to finish the run again", error)
