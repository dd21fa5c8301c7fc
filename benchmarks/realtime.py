"""End-to-end speed of the live loop (``stylecam``), headless on a video file, per tier, backend and size — side by
side with the reference: Johnson et al.'s network as published (full resolution) in eager PyTorch at the same size.

    python benchmarks/realtime.py [--video ../shared/video/ntu.mp4] [--sizes 640x360 320x180] [--frames 300]
                                  [--tiers fast "fast, no skips" ...] [--out benchmarks/results/realtime.json]

Each configuration is one ``stylecam --source VIDEO --no-window --max-frames N --warmup W --stats-json …`` run in a
fresh process (so peak memory is that configuration's), with untrained networks of each tier (speed does not
depend on the weights). The file plays at its own rate (ntu.mp4: 60 fps, like a 60 fps camera) and the loop takes
the newest frame whenever it is free, so "fps" is frames shown per second end to end (decode, resize, network,
effects, upscaling to the source size), "latency" runs from a frame's arrival to its hand-over to the outputs,
and "dropped" counts source frames never shown. The machine's load average is recorded with every run: these
two cores are shared, and other jobs slow everything down.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from machine import cpu_name, write_result

from stylecam.nets.checkpoints import save_model
from stylecam.nets.transformer import PAPER, TIERS, TransformerConfig, TransformerNet

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "video" / "ntu.mp4"
FULL_RESOLUTION = "fast, full resolution"
SIX_STYLES = "fast, 6 styles"  # one several-style network (a style-weight input), as the zoo ships
SIX_NEAREST = "fast, 6 styles, nearest"  # the same with nearest upsampling in the decoder (the earlier zoo's)
NO_SKIPS = "fast, no skips"  # the fast tier before its U-Net skips (what the skips cost)
REFERENCE = "paper"  # Johnson et al.'s network at full resolution, the reference every row is divided by
CODE = "import sys; from stylecam.cli.live import main; sys.exit(main())"


def benchmarked_configs() -> dict[str, TransformerConfig]:
    """The tiers, the paper's network (the reference), the fast tier's widths at full resolution (no 2×2 blocks:
    what the blocks save), the fast tier holding six styles (what the conditional norms and their style input
    cost), the same with nearest upsampling (the earlier zoo's), and the fast tier without its skips."""
    styles = ("mosaic", "candy", "udnie", "rain-princess", "starry_night", "the_scream")
    return {**TIERS, REFERENCE: PAPER, FULL_RESOLUTION: replace(TIERS["fast"], space_to_depth=1),
            SIX_STYLES: replace(TIERS["fast"], styles=styles),
            SIX_NEAREST: replace(TIERS["fast"], styles=styles, upsample="nearest"),
            NO_SKIPS: replace(TIERS["fast"], skips=False)}


def configurations(sizes: list[str], frames: int) -> list[dict[str, object]]:
    """What to run: (label, tier, backend, size, frames, extra options, environment)."""
    slow = max(12, frames // 15)
    runs: list[dict[str, object]] = []
    for i, size in enumerate(sizes):
        runs += [
            {"tier": "fast", "backend": "auto", "size": size, "frames": frames, "variant": ""},
            {"tier": "fast", "backend": "auto", "size": size, "frames": frames, "variant": "smoothing",
             "args": ["--smooth"]},
            {"tier": "fast", "backend": "torch", "size": size, "frames": frames // 2, "variant": ""},
            {"tier": "quality", "backend": "auto", "size": size, "frames": slow, "variant": ""},
            {"tier": REFERENCE, "backend": "torch", "size": size, "frames": slow, "variant": "reference"},
        ]
        if i == 0:
            runs.append({"tier": FULL_RESOLUTION, "backend": "auto", "size": size, "frames": frames, "variant": ""})
            runs.append({"tier": SIX_STYLES, "backend": "auto", "size": size, "frames": frames, "variant": ""})
            runs.append({"tier": SIX_NEAREST, "backend": "auto", "size": size, "frames": frames, "variant": ""})
            runs.append({"tier": NO_SKIPS, "backend": "auto", "size": size, "frames": frames, "variant": ""})
            runs.append({"tier": "fast", "backend": "auto", "size": size, "frames": frames, "variant": "1 thread",
                         "args": ["--threads", "1"]})
            runs.append({"tier": "fast", "backend": "auto", "size": size, "frames": frames, "variant": "net-scale 0.5",
                         "args": ["--net-scale", "0.5"]})
            runs.append({"tier": REFERENCE, "backend": "torch", "size": size, "frames": slow,
                         "variant": "reference, glibc malloc untuned", "env": {"STYLECAM_MALLOC": "default"}})
    return runs


def run_one(config: dict[str, object], models: dict[str, Path], video: Path, cache: Path, folder: Path
            ) -> dict[str, object]:
    frames = int(config["frames"])  # type: ignore[arg-type]
    warmup = max(3, frames // 20)
    stats = folder / f"stats-{time.monotonic_ns()}.json"
    command = [sys.executable, "-c", CODE, "--source", str(video), "--style", str(models[str(config["tier"])]),
               "--backend", str(config["backend"]), "--size", str(config["size"]), "--no-window",
               "--max-frames", str(frames + warmup), "--warmup", str(warmup), "--stats-json", str(stats), "-q",
               *config.get("args", [])]  # type: ignore[misc]
    env = {**os.environ, "STYLECAM_CACHE": str(cache), **config.get("env", {})}  # type: ignore[dict-item]
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800, check=False)
    if result.returncode != 0:
        return {**config, "error": result.stderr.strip().splitlines()[-1:]}
    summary = json.loads(stats.read_text())
    shown = summary["frames"]
    captured = summary["captured_frames"]
    return {
        "tier": config["tier"], "backend": summary["backend"], "backend_name": summary["backend_name"],
        "variant": config["variant"], "size": config["size"], "frames": summary["counted_frames"],
        "fps": summary["fps"], "latency_p50_ms": summary["latency_ms"]["p50"],
        "latency_p95_ms": summary["latency_ms"]["p95"], "inference_p50_ms": summary["inference_ms"]["p50"],
        "dropped_frames": summary["dropped_frames"], "dropped_pct": round(100 * (captured - shown) / max(1, captured), 1),
        "peak_rss_mb": summary["peak_rss_mb"], "source_size": summary["source_size"],
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "wall_s": round(time.monotonic() - started, 1),
    }


def table(rows: list[dict[str, object]]) -> str:
    """Markdown, with each row's throughput relative to the reference at its size."""
    reference = {r["size"]: r["fps"] for r in rows if r.get("variant") == "reference" and "error" not in r}
    lines = ["| tier | backend | size | fps | × reference | latency p50 / p95 (ms) | dropped | peak memory |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['tier']} | {r['backend']} | {r['size']} | failed: {r['error']} | | | | |")
            continue
        name = str(r["backend_name"]) + (" eager" if r["backend_name"] == "torch" else "")
        if r["variant"]:
            name += f" ({r['variant']})"
        ref = reference.get(r["size"])
        ratio = f"{float(r['fps']) / float(ref):.1f}×" if ref else "n/a"  # type: ignore[arg-type]
        lines.append(f"| {r['tier']} | {name} | {r['size']} | {float(r['fps']):.1f} | {ratio} | "  # type: ignore[arg-type]
                     f"{float(r['latency_p50_ms']):.0f} / {float(r['latency_p95_ms']):.0f} | "  # type: ignore[arg-type]
                     f"{r['dropped_pct']} % | {float(r['peak_rss_mb']):.0f} MB |")  # type: ignore[arg-type]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--sizes", nargs="+", default=["640x360", "320x180"])
    parser.add_argument("--frames", type=int, default=300, help="frames per fast-tier run (quality runs: 1/15)")
    parser.add_argument("--tiers", nargs="+", metavar="TIER", help="only the rows of these tiers (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "realtime.json")
    args = parser.parse_args()
    if not args.video.is_file():
        parser.error(f"{args.video}: no such file")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stylecam-bench-") as tmp:
        folder = Path(tmp)
        models = {}
        for seed, (tier, config) in enumerate(benchmarked_configs().items()):
            torch.manual_seed(seed)
            models[tier] = folder / f"net{seed}.pth"
            save_model(models[tier], TransformerNet(config).eval())
        rows = []
        for config in configurations(args.sizes, args.frames):
            if args.tiers and config["tier"] not in args.tiers:
                continue
            row = run_one(config, models, args.video, folder / "cache", folder)
            print(json.dumps(row), flush=True)
            rows.append(row)
    result = {
        "benchmark": "realtime", "video": args.video.name, "cpu": cpu_name(), "cores": len(os.sched_getaffinity(0)),
        "machine": platform.machine(), "torch": torch.__version__, "wall_s": round(time.monotonic() - started),
        "rows": rows,
    }
    write_result(args.out, result)
    print(table(rows))


if __name__ == "__main__":
    main()
