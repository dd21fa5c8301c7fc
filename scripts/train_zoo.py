"""Train the shipped zoo with ``styletrain``, one model after another, resuming whatever was interrupted.

    python scripts/train_zoo.py [--tier fast] [--styles mosaic candy ...] [--iterations 2000] [--runs DIR]

Finished models land in trained_models/ with their cards; run folders (checkpoints, samples, logs) stay in
``--runs`` (default ~/.cache/stylecam/runs), outside git. Re-running the same command continues where it stopped.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FAST_STYLES = ("mosaic", "candy", "udnie", "rain-princess", "starry_night", "the_scream")
QUALITY_STYLES = ("mosaic", "candy", "udnie")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=("fast", "quality", "adain"), default="fast")
    parser.add_argument("--styles", nargs="+", help="default: the issue's list for the tier")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--image-size", type=int, default=192)
    parser.add_argument("--runs", type=Path, default=Path.home() / ".cache" / "stylecam" / "runs")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="more styletrain options after --")
    args = parser.parse_args()
    data = SHARED / "datasets" / "photos"
    extra = [a for a in args.extra if a != "--"]
    if args.tier == "adain":
        jobs = [("adain_decoder", ["adain", "--style-data", str(SHARED / "images" / "styles")])]
    else:
        styles = args.styles or (FAST_STYLES if args.tier == "fast" else QUALITY_STYLES)
        suffix = "" if args.tier == "fast" else "_quality"
        jobs = [(f"{style}{suffix}", ["johnson", "--tier", args.tier, "--style-image",
                                       str(next((SHARED / "images" / "styles").glob(f"{style}.*")))])
                for style in styles]
    for name, command in jobs:
        output = ROOT / "trained_models" / f"{name}.pth"
        if output.exists():
            print(f"{name}: done already ({output})", flush=True)
            continue
        run_dir = args.runs / name
        cmd = ["styletrain", *command, "--data", str(data), "-o", str(output), "--run-dir", str(run_dir),
               "--iterations", str(args.iterations), "--image-size", str(args.image_size), "--resume", *extra]
        print(" ".join(cmd), flush=True)
        result = subprocess.run(cmd)
        if result.returncode != 0:
            print(f"{name}: styletrain exited {result.returncode}; re-run to resume", flush=True)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
