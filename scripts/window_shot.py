"""Screenshot of ``stylecam``'s window, on a virtual X display, playing a video file (docs/stylecam_window.jpg).

    python scripts/window_shot.py [--style rain-princess] [--source ../shared/video/ntu.mp4] [--seconds 12]
                                  [--out docs/stylecam_window.jpg] [-- more stylecam options]

Needs Xvfb and ImageMagick (``apt-get install xvfb imagemagick``). The window is the real one (OpenCV's
HighGUI with the overlay), captured with ``import -window root`` after ``--seconds`` and trimmed to the window.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="rain-princess")
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "video" / "ntu.mp4")
    parser.add_argument("--seconds", type=float, default=12.0, help="how long the window runs before the shot")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "stylecam_window.jpg")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="more stylecam options after --")
    args = parser.parse_args()
    missing = [tool for tool in ("Xvfb", "import", "convert") if shutil.which(tool) is None]
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
            time.sleep(args.seconds)
            if live.poll() is not None:
                print(f"stylecam exited early ({live.returncode})", file=sys.stderr)
                return 1
            with tempfile.TemporaryDirectory() as tmp:
                shot = Path(tmp) / "root.png"
                subprocess.run(["import", "-window", "root", str(shot)], env=env, check=True)
                subprocess.run(["convert", str(shot), "-trim", "+repage", "-quality", "90", str(args.out)], check=True)
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
