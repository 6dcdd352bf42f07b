"""maf_tf.metrics: bits per dimension and mean ± 2 standard errors."""

import numpy as np
import pytest

from maf_tf.metrics import (bits_per_dim, format_mean_error, mean_and_error,
                            summarize)


def test_a_uniform_density_is_exactly_8_bits_per_dim():
  # p_x = 1 on [0, 1]^D, i.e. each of the 256 levels has probability 1/256.
  assert bits_per_dim(np.zeros(3), 784).tolist() == [8.0, 8.0, 8.0]
  # Halving the density of every one of D dimensions costs one bit each.
  assert bits_per_dim(-10 * np.log(2.0), 10) == pytest.approx(9.0)


def test_mean_and_two_standard_errors():
  mean, error = mean_and_error([1.0, 2.0, 3.0, 4.0])
  assert mean == 2.5
  assert error == pytest.approx(2 * np.sqrt(1.25) / 2)
  assert format_mean_error([1.0, 2.0, 3.0, 4.0]) == "2.50 ± 1.12"
  with pytest.raises(ValueError, match="at least one value"):
    mean_and_error([])
  summary = summarize({"nll": [1.0, 2.0, 3.0, 1000.0]}, "test_")
  assert summary["test_nll"] == 251.5 and summary["test_nll_median"] == 2.5
  assert summary["test_nll_2se"] == pytest.approx(
      2 * np.std([1.0, 2.0, 3.0, 1000.0]) / 2)
