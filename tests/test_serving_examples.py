"""The README's serving examples, run as written against an exported
784-pixel model: its saved_model_cli commands, and its REST request
bodies (docs/rest/*.json) converted as TF Serving's REST API does and fed
to the SavedModel in a fresh process. (TF Serving itself is not run.)"""

import glob
import json
import os
import re
import subprocess
import sys

import pytest

from helpers import documentation
from maf_tf import PixelMAF
from maf_tf.export import export_saved_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_MODEL = "saved_models/mnist/1"

# What the README shows for each request: the response's layout.
EXPECTED = {
    "log_prob.json": ("predictions", {"log_prob", "log_prob_logit"}, 2),
    "log_prob_logit.json": ("predictions", None, 1),
    "bits_per_dim.json": ("predictions", None, 1),
    "sample.json": ("outputs", {"samples": [4, 784],
                                "images": [4, 28, 28, 1]}, None),
}

# A fresh process that imports only TensorFlow: TF Serving's REST
# conversion of one request (row "instances" or columnar "inputs") and of
# the response, as its API documentation describes them.
SERVE = """
import json, sys
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
for path in sys.argv[2:]:
  request = json.load(open(path))
  function = model.signatures[request.get("signature_name",
                                          "serving_default")]
  specs = function.structured_input_signature[1]
  if "instances" in request:
    rows = request["instances"]
    inputs = {k: [row[k] for row in rows] for k in rows[0]}
  else:
    inputs = request["inputs"]
  tensors = {k: tf.constant(np.asarray(v), dtype=specs[k].dtype)
             for k, v in inputs.items()}
  outputs = {k: v.numpy().tolist() for k, v in function(**tensors).items()}
  if "instances" in request:
    count = len(request["instances"])
    rows = [{k: v[i] for k, v in outputs.items()} for i in range(count)]
    response = {"predictions": [next(iter(r.values())) if len(r) == 1
                                else r for r in rows]}
  else:
    response = {"outputs": outputs}
  print(json.dumps({"file": path.rsplit("/", 1)[-1], "response": response}))
"""


@pytest.fixture(scope="module")
def mnist_export(tmp_path_factory):
  """An (untrained) MNIST-sized PixelMAF exported as version 1."""
  base = tmp_path_factory.mktemp("serving") / "mnist"
  flow = PixelMAF(event_size=784, alpha=1e-6, num_layers=1,
                  hidden_units=[16], image_shape=(28, 28, 1))
  return export_saved_model(flow, str(base))


def _fresh_python(args, cwd=None):
  environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
  return subprocess.run(args, cwd=cwd, env=environment, capture_output=True,
                        text=True, timeout=300)


def _shape(value):
  shape = []
  while isinstance(value, list):
    shape.append(len(value))
    value = value[0] if value else None
  return shape


def test_rest_request_files_give_the_readme_responses(mnist_export):
  files = sorted(glob.glob(os.path.join(ROOT, "docs", "rest", "*.json")))
  assert sorted(os.path.basename(f) for f in files) == sorted(EXPECTED)
  readme = documentation()
  done = _fresh_python([sys.executable, "-c", SERVE, mnist_export, *files])
  assert done.returncode == 0, done.stderr[-3000:]
  answers = [json.loads(line) for line in done.stdout.splitlines()
             if line.startswith("{")]
  assert len(answers) == len(files)
  for answer in answers:
    name, response = answer["file"], answer["response"]
    assert f"curl -d @docs/rest/{name}" in readme
    layout, content, count = EXPECTED[name]
    assert list(response) == [layout]
    if layout == "predictions":
      predictions = response["predictions"]
      assert len(predictions) == count
      if content:  # several outputs: one dict per instance
        assert all(set(p) == content for p in predictions)
      else:
        assert all(isinstance(p, float) for p in predictions)
    else:
      assert {k: _shape(v) for k, v in response["outputs"].items()} == \
          content


def test_readme_saved_model_cli_commands_run_as_written(mnist_export,
                                                        tmp_path):
  blocks = re.findall(r"^```sh\n(.*?)^```", documentation(), re.S | re.M)
  block = next(b for b in blocks if "saved_model_cli run" in b)
  commands = re.sub(r"\\\n\s*", "", block).splitlines()
  commands = [c for c in commands
              if c.startswith(("saved_model_cli", "python -c"))]
  assert len(commands) == 4
  bin_dir = os.path.dirname(sys.executable)
  for line in commands:
    line = line.replace(README_MODEL, mnist_export)
    line = re.sub(r"^(saved_model_cli|python)",
                  lambda m: os.path.join(bin_dir, m.group(1)), line)
    done = _fresh_python(["bash", "-c", line], cwd=tmp_path)
    assert done.returncode == 0, line + done.stderr[-3000:]
    if "--signature_def sample" in line:
      assert "Result for output key samples" in done.stdout
    if "--signature_def bits_per_dim" in line:
      assert "Result for output key bits_per_dim" in done.stdout
