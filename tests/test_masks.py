"""Degrees and masks against hand-written matrices and the MADE property."""

import numpy as np
import pytest

from maf_tf import masks


def test_input_degrees_for_each_order():
  assert list(masks.input_degrees(3, "natural")) == [1, 2, 3]
  assert list(masks.input_degrees(3, "reversed")) == [3, 2, 1]
  # Input 2 is generated first, then 0, then 1.
  assert list(masks.input_degrees(3, [2, 0, 1])) == [2, 3, 1]
  random = masks.input_degrees(5, "random", seed=3)
  assert sorted(random) == [1, 2, 3, 4, 5]
  assert list(random) == list(masks.input_degrees(5, "random", seed=3))


def test_sequential_hidden_degrees_cycle_through_1_to_d_minus_1():
  assert list(masks.hidden_degrees(5, 3, "sequential")) == [1, 2, 1, 2, 1]
  assert list(masks.hidden_degrees(4, 1, "sequential")) == [0, 0, 0, 0]


def test_random_hidden_degrees_are_seeded_and_in_range():
  first = masks.hidden_degrees(200, 6, "random", seed=1)
  assert first.min() >= 1 and first.max() <= 5
  assert set(first) == {1, 2, 3, 4, 5}
  np.testing.assert_array_equal(first,
                                masks.hidden_degrees(200, 6, "random", seed=1))
  assert not np.array_equal(first,
                            masks.hidden_degrees(200, 6, "random", seed=2))


def test_masks_equal_hand_written_matrices():
  inputs, hidden = masks.made_degrees(3, [4])
  np.testing.assert_array_equal(masks.mask(inputs, hidden), [
      [1, 1, 1, 1],
      [0, 1, 0, 1],
      [0, 0, 0, 0]])
  np.testing.assert_array_equal(masks.mask(hidden, inputs, strict=True), [
      [0, 1, 1],
      [0, 0, 1],
      [0, 1, 1],
      [0, 0, 1]])


def test_reversed_order_masks_equal_hand_written_matrices():
  inputs, hidden = masks.made_degrees(3, [2], order="reversed")
  np.testing.assert_array_equal(masks.mask(inputs, hidden), [
      [0, 0],
      [0, 1],
      [1, 1]])
  np.testing.assert_array_equal(masks.mask(hidden, inputs, strict=True), [
      [1, 1, 0],
      [1, 0, 0]])


@pytest.mark.parametrize("kind", ["sequential", "random"])
@pytest.mark.parametrize("hidden_units", [[7], [9, 6], [5, 8, 7]])
@pytest.mark.parametrize("order", ["natural", "reversed", "random",
                                   [3, 0, 4, 1, 2]])
def test_mask_product_is_strictly_triangular_in_the_order(kind, hidden_units,
                                                          order):
  degrees = masks.made_degrees(5, hidden_units, order, kind, seed=7)
  connection = np.eye(5)
  for lower, upper in zip(degrees[:-1], degrees[1:]):
    connection = connection @ masks.mask(lower, upper)
  connection = connection @ masks.mask(degrees[-1], degrees[0], strict=True)
  later = degrees[0][None, :] > degrees[0][:, None]  # [input, output]
  assert np.all(connection[~later] == 0)
  if kind == "sequential":  # enough units: every allowed path exists
    assert np.all(connection[later] > 0)


@pytest.mark.parametrize("call, message", [
    (lambda: masks.input_degrees(3, "sideways"), "order must be"),
    (lambda: masks.input_degrees(3, [0, 0, 1]), "permutation of 0..2"),
    (lambda: masks.input_degrees(0), "event_size must be a positive"),
    (lambda: masks.hidden_degrees(4, 3, "cyclic"), "'sequential' or 'random'"),
    (lambda: masks.made_degrees(3, []), "hidden_units must be one or more positive integers"),
])
def test_bad_arguments_name_what_was_expected(call, message):
  with pytest.raises(ValueError, match=message):
    call()
