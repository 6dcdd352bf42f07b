"""Evaluation protocol, pictures, and the SavedModel for TF Serving."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers import random_flow
from maf_tf import PixelMAF
from maf_tf.data import evaluation_dataset
from maf_tf.evaluation import log_likelihoods, recompute_batch_norm
from maf_tf.export import default_max_samples, export_saved_model
from maf_tf.made import MaskedDense
from helpers import TINY, run_in_process


def _pixel_flow(context_size=0):
  return random_flow(PixelMAF, weights_seed=1, scale=0.2, dtype=None,
                     event_size=6, alpha=0.05, num_layers=2, hidden_units=[12],
                     batch_norm="between", context_size=context_size,
                     context_type="labels" if context_size else None,
                     image_shape=(2, 3, 1))


def test_conditional_score_is_logsumexp_over_labels():
  flow = _pixel_flow(context_size=3)
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (7, 6), dtype=np.uint8)
  labels = rng.integers(0, 3, 7)
  dataset = evaluation_dataset(images, labels, batch_size=4, seed=0,
                               num_classes=3)
  scores = log_likelihoods(flow, dataset)
  x = np.concatenate([b[0].numpy() for b in dataset])
  per_label = np.stack([flow.log_prob_pixel_and_logit(x, tf.one_hot([k] * 7, 3))[1].numpy()
                        for k in range(3)], 1).astype(np.float64)
  expected = np.log(np.exp(per_label).sum(1) / 3)
  np.testing.assert_allclose(scores["log_likelihood"], expected, rtol=1e-5)
  np.testing.assert_allclose(scores["conditional_log_likelihood"],
                             per_label[np.arange(7), labels], rtol=1e-5)
  assert scores["bits_per_dim"].shape == (7,)


def test_recomputed_batch_norm_statistics_are_exact():
  flow = _pixel_flow()
  x = np.random.default_rng(1).uniform(size=(50, 6)).astype(np.float32)
  recompute_batch_norm(flow, tf.data.Dataset.from_tensor_slices(x).batch(8))
  inputs, _ = flow.to_base(x, until_norm=0)
  np.testing.assert_allclose(flow.batch_norms[0].moving_mean.numpy(),
                             inputs.numpy().mean(0), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(flow.batch_norms[0].moving_variance.numpy(),
                             inputs.numpy().var(0), rtol=1e-3, atol=1e-5)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  """A tiny conditional run with batch norm on the offline digits,
  evaluated (statistics recomputed) and exported."""
  run_dir = str(tmp_path_factory.mktemp("digits") / "run")
  assert run_in_process(["--dataset=digits", f"--model_dir={run_dir}",
                         "--epochs=1", "--conditional",
                         "--batch_norm=between", *TINY]) is None
  from trainers import evaluate
  report = evaluate.evaluate(run_dir, recompute_batch_norm=True,
                             num_samples=20, export=True)
  return run_dir, report


def test_evaluation_writes_scores_pictures_and_summary(trained_run):
  run_dir, report = trained_run
  with open(os.path.join(run_dir, "evaluation.json")) as stream:
    assert json.load(stream)["log_likelihood"] == report["log_likelihood"]
  assert report["test_examples"] == 270 and report["recomputed_batch_norm"]
  for name in ("log_likelihood", "conditional_log_likelihood",
               "bits_per_dim", "conditional_bits_per_dim"):
    assert np.isfinite(report[name]) and report[name + "_2se"] > 0
  # log p(x) >= log p(x|y_true) - log 10 always.
  assert report["log_likelihood"] >= report["conditional_log_likelihood"] \
      - np.log(10)
  for name in ("evaluation.txt", "evaluation_samples.png", "latents.png",
               "extremes.png", "training_curve.png"):
    assert os.path.getsize(os.path.join(run_dir, name)) > 100
  assert report["paper"] is None  # the paper has no digits numbers


def test_evaluation_lists_the_most_extreme_test_points(trained_run):
  run_dir, report = trained_run
  worst, best = report["worst_test_points"], report["best_test_points"]
  assert len(worst) == len(best) == 8
  values = [p["log_likelihood"] for p in worst]
  assert values == sorted(values)
  assert values[0] <= report["log_likelihood_median"] <= \
      best[0]["log_likelihood"]
  assert all(set(p) == {"index", "log_likelihood", "bits_per_dim"}
             for p in worst + best)
  with open(os.path.join(run_dir, "evaluation.txt")) as stream:
    text = stream.read()
  assert f"{worst[0]['index']}: {worst[0]['log_likelihood']:.4g}" in text
  from PIL import Image
  from trainers.pictures import LINE
  with Image.open(os.path.join(run_dir, "extremes.png")) as image:
    # under a title, two rows of 8 digits enlarged 7 times, each with two
    # lines of caption (index, bits/dim) below it
    assert image.size[1] == LINE + 2 * (56 + 2 * LINE + 1) + 1
    assert image.size[0] >= 8 * 57 + 1
    picture = np.asarray(image.convert("L"))
  assert (picture[:LINE] < 128).any()
  caption = picture[LINE + 58:LINE + 57 + 2 * LINE, :58]
  assert (caption < 128).any()


def test_reports_give_units():
  from trainers.evaluate import _describe
  report = {"run_dir": "run", "dataset": "mnist", "test_examples": 3,
            "recomputed_batch_norm": False, "paper": None,
            "worst_test_points": [], "best_test_points": []}
  for name in ("log_likelihood", "bits_per_dim"):
    report.update({name: 1.0, name + "_2se": 0.1, name + "_median": 1.0})
  text = _describe(report)
  assert "± 0.1000 nats per image, in logit space as in the paper's " \
         "Table 2" in text
  # The paper's Table 2 is MNIST and CIFAR-10 only.
  assert "Table 2" not in _describe({**report, "dataset": "fashion_mnist"})
  assert "bits per pixel value, in pixel space" in text
  assert "± is 2 standard errors" in text
  del report["bits_per_dim"]
  assert "nats per point" in _describe(report)


@pytest.mark.parametrize("change, message", [
    ({"num_layers": 3}, r"made_2\.hidden_0\.kernel \(missing\)"),
    ({"hidden_units": [17]},
     r"made_0\.hidden_0\.kernel \(shape \[64, 16\], model \[64, 17\]\)"),
])
def test_evaluate_refuses_a_checkpoint_that_does_not_match_the_config(
    trained_run, tmp_path, change, message):
  run_dir = str(tmp_path / "edited")
  shutil.copytree(trained_run[0], run_dir)
  path = os.path.join(run_dir, "config.json")
  with open(path) as stream:
    config = json.load(stream)
  with open(path, "w") as stream:
    json.dump({**config, **change}, stream)
  text = run_in_process([f"--model_dir={run_dir}"], "evaluate")
  assert text.startswith("evaluate: error: checkpoint ") and "\n" not in text
  assert re.search(message, text), text
  assert "does not match the model of config.json" in text


def test_extremes_of_hand_made_scores():
  from trainers.evaluate import extremes
  scores = {"log_likelihood": np.array([-1.0, -5.0, 3.0, -np.inf, 0.0,
                                        np.nan])}
  result = extremes(scores, count=3)
  assert [p["index"] for p in result["worst_test_points"]] == [3, 5, 1]
  assert [p["index"] for p in result["best_test_points"]] == [2, 4, 0]


def _load_and_run(path, code):
  """Runs `code` in a fresh process that cannot import this project."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  script = ("import sys, json, numpy as np, tensorflow as tf\n"
            f"m = tf.saved_model.load({path!r})\n" + code)
  return subprocess.run([sys.executable, "-c", script], cwd="/", env=env,
                        capture_output=True, text=True, timeout=300)


def test_saved_model_matches_keras_in_a_fresh_process(trained_run):
  run_dir, report = trained_run
  path = report["saved_model"]
  assert os.path.basename(path) == "2"  # 1 was written at the end of training
  from trainers import evaluate
  _, data, model = evaluate.restore(run_dir)
  recompute_batch_norm(model, evaluation_dataset(
      *data.train, batch_size=1000, seed=3, num_classes=10))
  x = np.random.default_rng(2).uniform(size=(5, 64)).astype(np.float32)
  labels = np.array([0, 1, 2, 3, 4])
  expected = model.log_prob(x, tf.one_hot(labels, 10)).numpy()
  code = (f"x = np.array({x.tolist()}, np.float32)\n"
          f"out = m.signatures['serving_default'](x=tf.constant(x), "
          f"label=tf.constant({labels.tolist()}))\n"
          "s = m.signatures['sample'](num_samples=tf.constant(3), "
          "seed=tf.constant(1), label=tf.constant([1, 2, 3]))\n"
          "b = m.signatures['bits_per_dim'](images=tf.zeros([2, 64], "
          "tf.uint8), label=tf.constant([0, 1]))\n"
          "print(json.dumps({'log_prob': out['log_prob'].numpy().tolist(), "
          "'images': [list(s['images'].shape), s['images'].dtype.name], "
          "'samples': list(s['samples'].shape), "
          "'bits': b['bits_per_dim'].numpy().tolist(), "
          "'signatures': sorted(m.signatures)}))")
  done = _load_and_run(path, code)
  assert done.returncode == 0, done.stderr[-2000:]
  out = json.loads(done.stdout.strip().splitlines()[-1])
  np.testing.assert_allclose(out["log_prob"], expected, rtol=1e-5, atol=1e-5)
  assert out["images"] == [[3, 8, 8, 1], "uint8"]
  assert out["samples"] == [3, 64] and len(out["bits"]) == 2
  assert out["signatures"] == ["bits_per_dim", "log_prob_logit",
                               "log_prob_pixels", "sample",
                               "serving_default"]


def test_saved_model_cli_shows_and_runs_the_signatures(trained_run, tmp_path):
  path = trained_run[1]["saved_model"]
  inputs = str(tmp_path / "inputs.npz")
  np.savez(inputs, images=np.zeros((2, 64), np.uint8),
           label=np.array([1, 2], np.int32))
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  shown = subprocess.run([cli, "show", "--dir", path, "--all"],
                         capture_output=True, text=True, timeout=300)
  assert shown.returncode == 0, shown.stderr[-2000:]
  for text in ("signature_def['serving_default']", "signature_def['sample']",
               "signature_def['bits_per_dim']", "shape: (-1, 64)",
               "dtype: DT_UINT8", "dtype: DT_INT32"):
    assert text in shown.stdout
  ran = subprocess.run(
      [cli, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
       "bits_per_dim", "--inputs",
       f"images={inputs}[images];label={inputs}[label]"],
      capture_output=True, text=True, timeout=300)
  assert ran.returncode == 0, ran.stderr[-2000:]
  assert "bits_per_dim" in ran.stdout


def test_saved_model_rejects_bad_inputs_naming_the_shape(trained_run):
  path = trained_run[1]["saved_model"]
  code = ("import traceback\n"
          "for name, kwargs in [\n"
          "  ('serving_default', dict(x=tf.zeros([2, 63]), label=tf.zeros([2], tf.int32))),\n"
          "  ('serving_default', dict(x=tf.zeros([2, 64], tf.int32), label=tf.zeros([2], tf.int32))),\n"
          "  ('bits_per_dim', dict(images=tf.zeros([2, 64]), label=tf.zeros([2], tf.int32))),\n"
          "  ('sample', dict(num_samples=tf.constant([3]), seed=tf.constant(1), label=tf.zeros([3], tf.int32))),\n"
          "  ('serving_default', dict(x=tf.zeros([2, 64]), label=tf.constant([3, 10]))),\n"
          "  ('serving_default', dict(x=tf.zeros([2, 64]), label=tf.constant([3, -1]))),\n"
          "  ('serving_default', dict(x=tf.zeros([2, 64]), label=tf.zeros([3], tf.int32))),\n"
          "  ('sample', dict(num_samples=tf.constant(3), seed=tf.constant(1), label=tf.zeros([2], tf.int32))),\n"
          "  ('sample', dict(num_samples=tf.constant(20000), seed=tf.constant(1), label=tf.zeros([20000], tf.int32))),\n"
          "  ('serving_default', dict(x=tf.zeros([2, 64]), label=tf.zeros([2, 1], tf.int32))),\n"
          "  ('sample', dict(num_samples=tf.constant(2), seed=tf.constant(1), label=tf.zeros([2, 1], tf.int32))),\n"
          "  ('serving_default', dict(x=tf.zeros([2, 1, 64]), label=tf.zeros([2], tf.int32)))]:\n"
          "  try:\n"
          "    m.signatures[name](**kwargs)\n"
          "    print('ACCEPTED', name)\n"
          "  except Exception as e:\n"
          "    print('REJECTED', name, str(e).replace(chr(10), ' ')[:400])\n")
  done = _load_and_run(path, code)
  lines = [l for l in done.stdout.splitlines() if l.startswith(("ACC", "REJ"))]
  assert len(lines) == 12 and all(l.startswith("REJECTED") for l in lines)
  assert "x must have shape [N, 64]" in lines[0]
  assert "expected to be a float tensor but is a int32" in lines[1]
  assert "label must be in 0..9" in lines[4] and "0..9" in lines[5]
  assert "label must have one entry per row of x" in lines[6]
  assert "label must have one entry per sample" in lines[7]
  assert "num_samples must be in 0..10000" in lines[8]
  assert "label [2,1] is not compatible with expected shape [?]" in lines[9]
  assert "label [2,1] is not compatible with expected shape [?]" in lines[10]
  assert "x [2,1,64] is not compatible with expected shape [?,?]" in lines[11]


def test_export_never_overwrites_a_version(tmp_path):
  flow = _pixel_flow()
  first = export_saved_model(flow, str(tmp_path))
  assert first.endswith("/1")
  with pytest.raises(ValueError, match="exists; choose another version"):
    export_saved_model(flow, str(tmp_path), version=1)
  assert export_saved_model(flow, str(tmp_path)).endswith("/2")


def test_a_failed_export_leaves_no_version(tmp_path, monkeypatch):
  flow = _pixel_flow()

  def save_half_then_fail(module, path, signatures):
    with open(os.path.join(path, "saved_model.pb"), "wb") as stream:
      stream.write(b"half")
    raise OSError("No space left on device")

  monkeypatch.setattr(tf.saved_model, "save", save_half_then_fail)
  with pytest.raises(OSError, match="No space left"):
    export_saved_model(flow, str(tmp_path))
  assert os.listdir(tmp_path) == []


def test_a_version_taken_meanwhile_is_never_replaced(tmp_path, monkeypatch):
  """Another process publishes version 1 while this export is saving:
  this one becomes version 2 and version 1 keeps its files."""
  flow = _pixel_flow()
  save = tf.saved_model.save

  def save_while_another_publishes(module, path, signatures):
    save(module, path, signatures=signatures)
    os.makedirs(tmp_path / "1")
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"the other export")

  monkeypatch.setattr(tf.saved_model, "save", save_while_another_publishes)
  path = export_saved_model(flow, str(tmp_path))
  assert path.endswith("/2") and os.path.isfile(
      os.path.join(path, "saved_model.pb"))
  assert (tmp_path / "1" / "saved_model.pb").read_bytes() == \
      b"the other export"
  assert sorted(os.listdir(tmp_path)) == ["1", "2"]  # no staging left


def test_sample_signature_serves_0_to_max_samples_and_refuses_the_rest(
    tmp_path):
  flow = _pixel_flow()
  path = export_saved_model(flow, str(tmp_path),
                            max_samples=5)
  sample = tf.saved_model.load(path).signatures["sample"]
  seed = tf.constant(1)
  empty = sample(num_samples=tf.constant(0), seed=seed)
  assert empty["samples"].shape == (0, 6)
  assert empty["images"].shape == (0, 2, 3, 1)
  assert sample(num_samples=tf.constant(5), seed=seed)["samples"].shape == \
      (5, 6)
  for count in (6, -1, 10**7):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"num_samples must be in 0\.\.5"):
      sample(num_samples=tf.constant(count), seed=seed)
  with pytest.raises(ValueError, match="max_samples must be a positive"):
    export_saved_model(flow, str(tmp_path), max_samples=0)
  assert default_max_samples(784) == 10_000
  assert default_max_samples(3072) == 3255


def test_export_serves_frozen_masked_kernels_and_leaves_the_model_live(
    tmp_path):
  flow = _pixel_flow()
  x = tf.constant(np.random.default_rng(4).uniform(size=(3, 6)), tf.float32)
  expected = flow.log_prob_pixel_and_logit(x)[0].numpy()
  path = export_saved_model(flow, str(tmp_path))
  reader = tf.train.load_checkpoint(os.path.join(path, "variables",
                                                 "variables"))
  saved = {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
           if k.endswith("VARIABLE_VALUE")}
  kernels = [saved[k] for k in sorted(saved) if k.startswith("masked_kernels")]
  layers = [l for l in flow._flatten_layers() if isinstance(l, MaskedDense)]
  assert len(kernels) == len(layers) == 4
  for kernel, layer in zip(kernels, layers):
    np.testing.assert_array_equal(kernel, layer.masked_kernel())
    assert (kernel[layer.mask.numpy() == 0] == 0).all()
  # Each variable once: as many numbers as the model has.
  assert sum(v.size for v in saved.values()) == sum(
      int(np.prod(w.shape)) for w in flow.weights)
  # The model keeps its live kernels; the SavedModel keeps its snapshot.
  layers[0].kernel.assign(layers[0].kernel * 2.0)
  assert not np.allclose(flow.log_prob_pixel_and_logit(x)[0], expected)
  served = tf.saved_model.load(path).signatures["serving_default"](x=x)
  np.testing.assert_allclose(served["log_prob"], expected, rtol=1e-6)
