"""One preset per dataset, plus the paper's settings as named variants.

    seed presets:  MNIST 5 MADE layers x [512], sequential degrees;
                   CIFAR-10 10 MADE layers x [1024], random degrees.
    paper variants ('<dataset>_paper'): MNIST 5 layers x [1024, 1024];
                   CIFAR-10 10 layers x [2048, 2048], random degrees;
                   batch norm after every MADE (REFERENCE.md section 3).
"""

from configs.base import TrainConfig

__all__ = ["PRESETS", "preset"]

_MNIST = TrainConfig(dataset="mnist")
_CIFAR10 = TrainConfig(dataset="cifar10", num_layers=10,
                       hidden_units=(1024,), hidden_degrees="random",
                       flips=True, num_samples=64)
_TOY = TrainConfig(num_layers=5, hidden_units=(64, 64), learning_rate=1e-3,
                   batch_size=256, epochs=20, patience=5, weight_decay=0.0,
                   eval_batch_size=10_000, sample_every=5, num_samples=2000)

PRESETS = {
    "mnist": _MNIST,
    "mnist_paper": _MNIST.replace(hidden_units=(1024, 1024),
                                  batch_norm="after_each"),
    "fashion_mnist": _MNIST.replace(dataset="fashion_mnist"),
    "cifar10": _CIFAR10,
    "cifar10_paper": _CIFAR10.replace(hidden_units=(2048, 2048),
                                      batch_norm="after_each"),
    "digits": TrainConfig(dataset="digits", num_layers=5, hidden_units=(256,),
                          learning_rate=1e-3, epochs=100, patience=10,
                          batch_size=100, eval_batch_size=300),
    **{name: _TOY.replace(dataset=name) for name in (
        "two_moons", "circles", "eight_gaussians", "checkerboard",
        "pinwheel", "two_spirals")},
}


def preset(name: str) -> TrainConfig:
  """The preset called `name`; ValueError naming the choices if unknown."""
  if name not in PRESETS:
    raise ValueError(f"unknown dataset {name!r}; expected one of "
                     f"{sorted(PRESETS)}")
  return PRESETS[name]
