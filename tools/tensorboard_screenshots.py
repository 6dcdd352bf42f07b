"""Screenshots of a run's TensorBoard in headless Chromium, to check what
the trainer logs looks right (docs/ holds one):

  python -m tools.tensorboard_screenshots RUN_DIR OUT_DIR

starts `tensorboard --logdir RUN_DIR/tensorboard` on a free local port,
saves OUT_DIR/tensorboard_scalars.png (the time-series dashboard) and
OUT_DIR/tensorboard_images.png, and stops TensorBoard. Needs Chromium
(Debian's `chromium`).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

PAGES = {"scalars": "?darkMode=false#scalars&_smoothingWeight=0",
         "images": "#images"}


def _free_port() -> int:
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


def _wait_for(url: str, seconds: float = 60) -> None:
  deadline = time.time() + seconds
  while time.time() < deadline:
    try:
      urllib.request.urlopen(url, timeout=2).close()
      return
    except OSError:
      time.sleep(0.5)
  raise RuntimeError(f"TensorBoard did not answer at {url}")


def screenshots(run_dir: str, out_dir: str) -> list:
  browser = shutil.which("chromium") or shutil.which("chromium-browser")
  if browser is None:
    raise RuntimeError("no chromium on PATH (Debian: apt-get install "
                       "chromium)")
  port = _free_port()
  tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
  server = subprocess.Popen(
      [tensorboard, "--logdir", os.path.join(run_dir, "tensorboard"),
       "--port", str(port), "--host", "127.0.0.1"],
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  written = []
  try:
    url = f"http://127.0.0.1:{port}/"
    _wait_for(url)
    os.makedirs(out_dir, exist_ok=True)
    for name, page in PAGES.items():
      path = os.path.join(out_dir, f"tensorboard_{name}.png")
      subprocess.run(
          [browser, "--headless", "--no-sandbox", "--disable-gpu",
           "--hide-scrollbars", "--window-size=1400,1000",
           "--virtual-time-budget=20000", f"--screenshot={path}",
           url + page], check=True, capture_output=True, timeout=180)
      written.append(path)
  finally:
    server.terminate()
    server.wait(timeout=30)
  return written


if __name__ == "__main__":
  if len(sys.argv) != 3:
    sys.exit("usage: python -m tools.tensorboard_screenshots RUN_DIR OUT_DIR")
  for written_path in screenshots(sys.argv[1], sys.argv[2]):
    print(written_path)
