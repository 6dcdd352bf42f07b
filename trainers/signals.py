"""Ctrl-C (SIGINT) and SIGTERM end a command with one line saying what
happens next and exit status 128 + signal, instead of a traceback: a
single machine's version of tf.distribute's preemption story."""

import contextlib
import signal
import sys

__all__ = ["exit_on_signals"]


class Stopped(BaseException):
  """SIGTERM during a command; `code` is the exit status (128 + signal)."""

  def __init__(self, signum: int):
    super().__init__(signum)
    self.code = 128 + signum


def _stop(signum, frame):
  raise Stopped(signum)


@contextlib.contextmanager
def exit_on_signals(command: str, what_next: str):
  """Within the block, SIGINT or SIGTERM prints "COMMAND: stopped by
  SIGINT; WHAT_NEXT" and exits 130 or 143. Every file the commands write
  is written whole (run_dir.write_file) or checkpointed, so a stop at any
  point leaves nothing half-written."""
  previous = signal.signal(signal.SIGTERM, _stop)
  try:
    yield
  except (KeyboardInterrupt, Stopped) as stop:
    code = stop.code if isinstance(stop, Stopped) else 128 + signal.SIGINT
    print(f"{command}: stopped by {signal.Signals(code - 128).name}; "
          f"{what_next}", file=sys.stderr)
    sys.exit(code)
  finally:
    signal.signal(signal.SIGTERM, previous)
