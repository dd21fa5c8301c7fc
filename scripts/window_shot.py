"""Screenshot of ``stylecam``'s window, on a virtual X display, playing a video file (docs/stylecam_window.jpg).

    python scripts/window_shot.py [--style rain-princess] [--source ../shared/video/ntu.mp4] [--seconds 10]
                                  [--out docs/stylecam_window.jpg] [-- more stylecam options]

Needs Xvfb and ImageMagick (``apt-get install xvfb imagemagick``). The window is the real one (OpenCV's
HighGUI with the overlay), captured with ``import -window root`` ``--seconds`` after it first shows, trimmed to
the window.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISPLAY = ":87"
LIVE = "import sys; from stylecam.cli.live import main; sys.exit(main())"


def _capture(env: dict[str, str], shot: Path, trimmed: Path) -> bool:
    """The screen into ``shot`` and trimmed to the window into ``trimmed``; False when the screen is empty."""
    subprocess.run(["import", "-window", "root", str(shot)], env=env, check=True)
    subprocess.run(["convert", str(shot), "-trim", "+repage", "-quality", "90", str(trimmed)], check=True,
                   stderr=subprocess.DEVNULL)
    size = subprocess.run(["identify", "-format", "%w", str(trimmed)], capture_output=True, text=True, check=True)
    return int(size.stdout.strip() or 0) > 1


def _wait_for_window(live: subprocess.Popen[bytes], env: dict[str, str], shot: Path, trimmed: Path,
                     timeout: float) -> bool:
    """Poll the screen until stylecam's window shows (the first run exports the model to ONNX first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and live.poll() is None:
        if _capture(env, shot, trimmed):
            return True
        time.sleep(1.0)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="rain-princess")
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "video" / "ntu.mp4")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long the window runs, once it shows, before the shot (default 10)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "stylecam_window.jpg")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="more stylecam options after --")
    args = parser.parse_args()
    missing = [tool for tool in ("Xvfb", "import", "convert", "identify") if shutil.which(tool) is None]
    if missing:
        parser.error(f"needs {', '.join(missing)} (apt-get install xvfb imagemagick)")
    env = {**os.environ, "DISPLAY": DISPLAY}
    server = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1280x800x24"], stderr=subprocess.DEVNULL)
    try:
        socket = Path("/tmp/.X11-unix") / f"X{DISPLAY[1:]}"
        deadline = time.monotonic() + 30
        while not socket.exists() and time.monotonic() < deadline:  # Xvfb takes seconds on a busy machine
            time.sleep(0.2)
        time.sleep(0.5)
        live = subprocess.Popen([sys.executable, "-c", LIVE, "--source", str(args.source), "--style", args.style,
                                 *[a for a in args.extra if a != "--"]], env=env)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                shot, trimmed = Path(tmp) / "root.png", Path(tmp) / "window.jpg"
                if not _wait_for_window(live, env, shot, trimmed, timeout=120):
                    print(f"no window appeared (stylecam exit code {live.poll()})", file=sys.stderr)
                    return 1
                time.sleep(args.seconds)  # let the fps readout settle
                _capture(env, shot, trimmed)
                shutil.move(trimmed, args.out)
        finally:
            live.terminate()
            live.wait(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
