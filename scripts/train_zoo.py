"""Train the shipped zoo with ``styletrain``, resuming whatever was interrupted.

    python scripts/train_zoo.py [--tiers fast quality adain] [--styles mosaic candy ...] [--iterations 6000]
                                [--runs DIR] [--data DIR] [--parallel] [-- more styletrain options]

Each Johnson tier is one several-style network (``fast_zoo.pth``, ``quality_zoo.pth``) holding the tier's styles;
the zoo names them ``mosaic`` … and ``mosaic_quality`` …. Finished models land in trained_models/ with their cards; run folders (checkpoints, samples, logs) stay in
``--runs`` (default ~/.cache/stylecam/runs), outside git. Re-running the same command continues where it stopped.
``--parallel`` starts every run at once, for one big GPU: ten runs shared an H100 under CUDA MPS
(``nvidia-cuda-mps-control -d``) at about 10 steps a second each, e.g.
``python scripts/train_zoo.py --tiers fast quality adain --parallel -- --device cuda --batch-size 8 --max-minutes 8``.
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


def jobs_for(tier: str, styles: list[str] | None) -> list[tuple[str, list[str]]]:
    """(model name, styletrain arguments) of every model of ``tier``."""
    style_dir = SHARED / "images" / "styles"
    if tier == "adain":
        return [("adain_decoder", ["adain", "--style-data", str(style_dir)])]
    chosen = styles or (FAST_STYLES if tier == "fast" else QUALITY_STYLES)
    images = [str(next(style_dir.glob(f"{style}.*"))) for style in chosen]
    return [(f"{tier}_zoo", ["johnson", "--tier", tier, "--style-image", *images])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiers", nargs="+", choices=("fast", "quality", "adain"), default=["fast"])
    parser.add_argument("--styles", nargs="+", help="default: the issue's list for each tier")
    parser.add_argument("--iterations", type=int, default=6000)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--data", type=Path, default=SHARED / "datasets" / "photos")
    parser.add_argument("--runs", type=Path, default=Path.home() / ".cache" / "stylecam" / "runs")
    parser.add_argument("--parallel", action="store_true", help="start all runs at once (one big GPU)")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="more styletrain options after --")
    args = parser.parse_args()
    extra = [a for a in args.extra if a != "--"]
    running: list[tuple[str, subprocess.Popen[bytes]]] = []
    for name, command in [job for tier in args.tiers for job in jobs_for(tier, args.styles)]:
        output = ROOT / "trained_models" / f"{name}.pth"
        if output.exists():
            print(f"{name}: done already ({output})", flush=True)
            continue
        cmd = [sys.executable, "-m", "stylecam.cli.train", *command, "--data", str(args.data), "-o", str(output),
               "--run-dir", str(args.runs / name), "--iterations", str(args.iterations),
               "--image-size", str(args.image_size), "--resume", *extra]
        print(" ".join(cmd), flush=True)
        running.append((name, subprocess.Popen(cmd)))
        if not args.parallel and running[-1][1].wait() != 0:
            break
    failed = [(name, proc.wait()) for name, proc in running if proc.wait() != 0]
    for name, code in failed:
        print(f"{name}: styletrain exited {code}; re-run to resume", flush=True)
    return failed[0][1] if failed else 0


if __name__ == "__main__":
    sys.exit(main())
