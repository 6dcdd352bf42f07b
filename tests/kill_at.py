"""`python -m tests.kill_at POINT N [train flags]`: trainers.train, killed
by SIGKILL the N-th time it reaches write point POINT (for test_faults.py).

Points: config, state, results (just before the file's rename into
place); best, latest (just before that checkpoint is saved);
best_saved, latest_saved (just after); export (a complete SavedModel,
before its rename to a version).
"""

import os
import signal
import sys

from absl import app
import tensorflow as tf

POINTS = ("config", "state", "results", "best", "best_saved", "latest",
          "latest_saved", "export")


def arm(point: str, count: int) -> None:
  """Patches the write at `point` to kill this process on its count-th
  call."""
  calls = [0]

  def reached():
    calls[0] += 1
    if calls[0] == count:
      os.kill(os.getpid(), signal.SIGKILL)

  if point in ("config", "state", "results"):
    replace = os.replace

    def replace_or_die(source, target, *args, **kwargs):
      if os.path.basename(target) == f"{point}.json":
        reached()
      return replace(source, target, *args, **kwargs)

    os.replace = replace_or_die
  elif point == "export":
    from maf_tf import export
    publish = export._publish

    def publish_or_die(*args):
      reached()
      return publish(*args)

    export._publish = publish_or_die
  else:
    folder, _, when = point.partition("_")
    save = tf.train.CheckpointManager.save

    def save_or_die(manager, *args, **kwargs):
      mine = os.path.basename(manager.directory) == folder
      if mine and not when:
        reached()
      path = save(manager, *args, **kwargs)
      if mine and when:
        reached()
      return path

    tf.train.CheckpointManager.save = save_or_die


if __name__ == "__main__":
  point, count = sys.argv[1], int(sys.argv[2])
  if point not in POINTS:
    sys.exit(f"kill_at: point must be one of {POINTS}; got {point!r}")
  arm(point, count)
  from trainers import train
  from trainers.flags import define_train_flags
  define_train_flags()
  app.run(train.main, argv=[sys.argv[0], *sys.argv[3:]])
