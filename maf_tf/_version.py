"""The package's version, written once: in pyproject.toml."""

import importlib.metadata
import os
import tomllib


def version() -> str:
  """The installed distribution's version; from a checkout that is not
  installed, pyproject.toml's beside the package."""
  pyproject = os.path.join(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))), "pyproject.toml")
  if os.path.exists(pyproject):  # a checkout: its own file wins
    with open(pyproject, "rb") as stream:
      return tomllib.load(stream)["project"]["version"]
  return importlib.metadata.version("maf-tf")
