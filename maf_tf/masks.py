"""Degrees and masks of a MADE, as pure NumPy functions.

A MADE (Germain et al. 2015, arXiv 1502.03509) gives every input, hidden
unit and output a *degree*. Input d has degree equal to its position (1..D)
in the autoregressive order. A hidden unit of degree k may see inputs of
degree <= k, so it depends only on inputs 1..k of the order; an output of
degree d may see hidden units of degree < d. Multiplying each weight matrix
by the mask built from these degrees makes output d a function of the inputs
that come before it in the order, which is what makes the Jacobian of a MADE
strictly triangular.

Kernels in this project have shape (inputs, outputs), as in Keras, so masks
do too.
"""

from typing import Optional, Sequence, Union

import numpy as np

from maf_tf.checks import check_hidden_units, check_positive_int

__all__ = ["input_degrees", "hidden_degrees", "made_degrees", "mask",
           "HIDDEN_DEGREES"]

Order = Union[str, Sequence[int], np.ndarray]
HIDDEN_DEGREES = ("sequential", "random")


def input_degrees(event_size: int, order: Order = "natural",
                  seed: Optional[int] = None) -> np.ndarray:
  """Degrees 1..D of the inputs for an autoregressive order.

  Args:
    event_size: D, the number of inputs.
    order: 'natural' (input 0 first), 'reversed' (input D-1 first), 'random'
      (a permutation drawn from `seed`), or an explicit permutation of
      0..D-1 listing the inputs in the order they are generated.
    seed: seed for order='random'.

  Returns:
    int array of shape (D,): degrees[i] is the position (1-based) of input i.

  Raises:
    ValueError: on an unknown order name or a list that is not a permutation.
  """
  check_positive_int("event_size", event_size)
  if isinstance(order, str):
    if order == "natural":
      sequence = np.arange(event_size)
    elif order == "reversed":
      sequence = np.arange(event_size)[::-1]
    elif order == "random":
      sequence = np.random.default_rng(seed).permutation(event_size)
    else:
      raise ValueError(
          "order must be 'natural', 'reversed', 'random' or a permutation of "
          f"0..{event_size - 1}; got {order!r}")
  else:
    sequence = np.asarray(order)
    if (sequence.shape != (event_size,) or
        not np.array_equal(np.sort(sequence), np.arange(event_size))):
      raise ValueError(f"order must be a permutation of 0..{event_size - 1}; "
                       f"got {list(np.asarray(order).ravel())[:10]}")
  degrees = np.empty(event_size, dtype=np.int64)
  degrees[sequence] = np.arange(1, event_size + 1)
  return degrees


def hidden_degrees(num_units: int, event_size: int, kind: str = "sequential",
                   min_degree: int = 1,
                   seed: Optional[int] = None) -> np.ndarray:
  """Degrees of one hidden layer.

  Degrees run from `min_degree` (the smallest degree of the layer below, so
  that no unit is disconnected) to D-1: a unit of degree D could only feed
  outputs of degree > D, which do not exist.

  Args:
    num_units: number of hidden units.
    event_size: D.
    kind: 'sequential' cycles through min_degree..D-1 (the MAF paper's
      default); 'random' draws uniformly from that range.
    min_degree: smallest degree allowed.
    seed: seed for kind='random'.

  Returns:
    int array of shape (num_units,). With D = 1 every degree is 0: such units
    see no input, only the bias and the context.
  """
  check_positive_int("num_units", num_units)
  check_positive_int("event_size", event_size)
  high = event_size - 1
  low = min(min_degree, high)
  if kind == "sequential":
    return low + np.arange(num_units) % max(high - low + 1, 1)
  if kind == "random":
    return np.random.default_rng(seed).integers(low, high + 1, size=num_units)
  raise ValueError(f"hidden degrees must be "
                   f"{' or '.join(map(repr, HIDDEN_DEGREES))}; got {kind!r}")


def made_degrees(event_size: int, hidden_units: Sequence[int],
                 order: Order = "natural", kind: str = "sequential",
                 seed: Optional[int] = None,
                 conditional: bool = False) -> list:
  """Degrees of every layer of a MADE: [inputs, hidden_1, ..., hidden_L].

  In a conditional MADE hidden degrees start at 0: units of degree 0 see
  only the context, and they are what lets the context reach the output of
  degree 1 (which may see no input at all).

  Args:
    event_size: D.
    hidden_units: sizes of the hidden layers (at least one).
    order: input order, see `input_degrees`.
    kind: hidden degree assignment, see `hidden_degrees`.
    seed: seeds the random order and the random hidden degrees.
    conditional: True when a context feeds the first hidden layer.

  Returns:
    list of int arrays.
  """
  check_hidden_units(hidden_units)
  rng = np.random.default_rng(seed)
  degrees = [input_degrees(event_size, order, seed=rng.integers(2**31))]
  min_degree = 0 if conditional else 1
  for units in hidden_units:
    degrees.append(hidden_degrees(units, event_size, kind,
                                  min_degree=min(min_degree,
                                                 int(degrees[-1].min())),
                                  seed=rng.integers(2**31)))
  return degrees


def mask(in_degrees: np.ndarray, out_degrees: np.ndarray,
         strict: bool = False) -> np.ndarray:
  """The (inputs, outputs) mask connecting two layers of degrees.

  Args:
    in_degrees: degrees of the layer below, shape (n_in,).
    out_degrees: degrees of the layer above, shape (n_out,).
    strict: False for hidden layers (connect when out >= in), True for the
      output layer (connect when out > in).

  Returns:
    float32 array of 0s and 1s with shape (n_in, n_out).
  """
  in_degrees = np.asarray(in_degrees)[:, None]
  out_degrees = np.asarray(out_degrees)[None, :]
  connected = out_degrees > in_degrees if strict else out_degrees >= in_degrees
  return connected.astype(np.float32)
