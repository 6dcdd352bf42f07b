"""maf_tf.distributions: the base densities, against closed forms, their
saved configs, and make_base by name."""

import numpy as np
import pytest
from scipy import special, stats
import tensorflow as tf

from maf_tf.distributions import (BASES, GaussianMixture, StandardNormal,
                                  make_base)

Z = np.random.default_rng(0).normal(size=(7, 3)) * 2


def test_the_standard_normal_is_the_closed_form_and_ignores_context():
  base = StandardNormal(3, dtype="float64")
  expected = stats.multivariate_normal(np.zeros(3)).logpdf(Z)
  np.testing.assert_allclose(base.log_prob(Z), expected, rtol=1e-12)
  np.testing.assert_array_equal(base.log_prob(Z, context=np.ones((7, 2))),
                                base.log_prob(Z))
  assert not base.weights
  assert base.sample(5, seed=1).shape == (5, 3)


def test_the_gaussian_mixture_is_the_closed_form_of_its_weights():
  base = GaussianMixture(3, num_components=4, seed=2, dtype="float64")
  base.build()
  rng = np.random.default_rng(1)
  base.logits.assign(rng.normal(size=4))
  base.log_scale.assign(0.3 * rng.normal(size=(4, 3)))
  weights = special.softmax(base.logits.numpy())
  loc, scale = base.loc.numpy(), np.exp(base.log_scale.numpy())
  per_component = np.stack([
      stats.norm(loc[k], scale[k]).logpdf(Z).sum(-1) for k in range(4)], -1)
  expected = special.logsumexp(per_component + np.log(weights), axis=-1)
  np.testing.assert_allclose(base.log_prob(Z), expected, rtol=1e-10)


def test_a_saved_config_gives_the_same_density():
  base = GaussianMixture(3, num_components=2, seed=5, dtype="float64")
  base.build()
  copy = GaussianMixture.from_config(base.get_config())
  copy.build()
  np.testing.assert_array_equal(copy.loc.numpy(), base.loc.numpy())
  assert StandardNormal.from_config(
      StandardNormal(4).get_config()).event_size == 4


@pytest.mark.parametrize("kind", BASES)
def test_make_base_builds_each_kind_by_name(kind):
  base = make_base(kind, 2, 3, seed=0, dtype="float64", hidden_units=[4])
  assert base.name == "base"
  base.build((None, 2))
  assert base.log_prob(tf.constant(Z[:, :2])).shape == (7,)


def test_an_unknown_base_is_one_line():
  with pytest.raises(ValueError, match="base must be one of 'normal', "
                     "'mixture', 'made_mog', 'gaussian'; got 'laplace'"):
    make_base("laplace", 2, 3, seed=0, dtype="float64")
  with pytest.raises(ValueError, match="num_components must be a positive"):
    GaussianMixture(2, num_components=0)
