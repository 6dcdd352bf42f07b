"""Benchmarks, each a command: python -m benchmarks.<name>.

`trainers` is imported first so that a benchmark starts as quietly as the
trainer does (TensorFlow's C++ start-up lines silenced unless --verbose;
see trainers/__init__.py): a usage error is then one line.
"""

import trainers  # noqa: F401  pylint: disable=unused-import
