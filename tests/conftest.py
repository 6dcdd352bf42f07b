"""pytest's configuration of the tests (their shared helpers are in
helpers.py)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
