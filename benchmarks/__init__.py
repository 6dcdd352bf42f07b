"""Benchmarks, each a command: python -m benchmarks.<name>.

`trainers` is imported first so that a benchmark starts as quietly as the
trainer does (TensorFlow's C++ start-up lines silenced unless --verbose;
see trainers/__init__.py): a usage error is then one line. The peers'
reference scripts (zuko_reference, sbi_reference) run in a PyTorch
environment without TensorFlow, where this is skipped.
"""

import importlib.util

if importlib.util.find_spec("tensorflow") is not None:
  import trainers  # noqa: F401
