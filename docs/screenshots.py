"""Screenshots of TensorBoard's Scalars, Custom Scalars and HParams dashboards for docs/TENSORBOARD.md.

    python docs/screenshots.py                 # trains a few small demo runs, then shoots docs/img/*.png
    python docs/screenshots.py --logdir outputs   # shoot existing runs instead

Needs Debian's chromium (`apt-get install -y chromium`); TensorBoard listens on 127.0.0.1 only and is stopped at
the end. PNGs are reduced to a palette when they exceed 300 KB.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

log = logging.getLogger("screenshots")

IMG = Path(__file__).resolve().parent / "img"
# dashboard -> (URL fragment, window width, height)
DASHBOARDS = {"scalars": ("#scalars", 1400, 900), "custom_scalars": ("#custom_scalars", 1400, 1500),
              "hparams": ("#hparams", 1800, 700)}
# runs that differ in model, size, learning rate and trainer (four keys: TensorBoard's HParams table ticks the
# first five differing ones), so every dashboard has something to compare
DEMO = {
    "lstm_u32": ["model=lstm", "model.units=32"],
    "gru_u32_tape": ["model=gru", "model.units=32", "trainer=tape"],
    "lstm_u8_lr0.01": ["model=lstm", "model.units=8", "trainer.lr=0.01"],
    "gru_u16_lr0.003_tape": ["model=gru", "model.units=16", "trainer.lr=0.003", "trainer=tape"],
}
COMMON = ["dataset=sine", "dataset.length=2000", "trainer.epochs=12", "trainer.verbose=0", "trainer.checkpoint.every=0",
          "trainer.tensorboard.update_freq=10"]
MAX_BYTES = 300_000


def make_demo_runs(outputs: Path) -> None:
    """Train the DEMO runs through the one path (seqlab.train.run), run folders named after what differs."""
    from seqlab.config import compose
    from seqlab.train import run

    for name, overrides in DEMO.items():
        log.info("training %s", name)
        run(compose(COMMON + overrides), outputs / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_runs(url: str, n_runs: int, timeout: float = 120.0) -> None:
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/data/plugin/scalars/tags", timeout=5) as r:
                if len(json.loads(r.read())) >= n_runs:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"TensorBoard at {url} did not load {n_runs} runs in {timeout:.0f} s")


def shoot(url: str, out: Path, width: int = 1400, height: int = 900, wait_ms: int = 20000) -> None:
    """One headless-Chromium screenshot of `url` with a fresh profile."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--window-size={width},{height}", f"--virtual-time-budget={wait_ms}",
               "--run-all-compositor-stages-before-draw", f"--screenshot={out}", url]
        subprocess.run(cmd, check=True, timeout=180, capture_output=True)
    shrink(out)


def shrink(png: Path) -> None:
    """Palette-quantise a PNG that is over MAX_BYTES (dashboards have few colours; text stays sharp)."""
    if png.stat().st_size <= MAX_BYTES:
        return
    from PIL import Image

    Image.open(png).convert("RGB").quantize(colors=128).save(png, optimize=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--logdir", type=Path, help="runs to show (default: train the demo runs in a temp folder)")
    p.add_argument("--out", type=Path, default=IMG)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = Path(tempfile.mkdtemp(prefix="seqlab-shots-"))
    logdir = args.logdir
    if logdir is None:
        os.chdir(work)  # HParams trial ids are run folders relative to the working directory: outputs/<name>
        logdir = work / "outputs"
        make_demo_runs(logdir)
    n_runs = sum(1 for _ in Path(logdir).rglob("summary"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    tb = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                           "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_runs(url.rstrip("/"), 3 * n_runs)
        args.out.mkdir(parents=True, exist_ok=True)
        for name, (fragment, width, height) in DASHBOARDS.items():
            path = args.out / f"tensorboard_{name}.png"
            shoot(url + fragment, path, width, height)
            log.info("wrote %s (%d KB)", path, path.stat().st_size // 1024)
    finally:
        tb.terminate()
        try:
            tb.wait(timeout=15)
        except subprocess.TimeoutExpired:
            tb.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
