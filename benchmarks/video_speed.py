"""``stylevideo``'s speed beside the live loop's, on the same network, backend and size, in one run.

    python benchmarks/video_speed.py [--video ../shared/video/ntu.mp4] [--style mosaic] [--loops 2]
                                     [--sizes 640x360 1280x720] [--out benchmarks/results/video_speed.json]

The clip is ``--video`` scaled to 1280×720 at its own frame rate (ntu.mp4: 60 fps), played ``--loops`` times,
with its AAC track copied (made with PyAV in a temporary folder). For each size, in turn and so under the same
load: the live loop (``stylecam --source CLIP --no-window --stats-json``, frames shown per second; it plays the
file at its 60 fps, which caps it there), then ``stylevideo --temporal none`` and ``--temporal flow`` on the
whole clip with the default encoder settings (frames/s from its closing line: decoding, network, flow and
encoding, after the model is loaded). Both use ONNX Runtime, as ``--backend auto`` does on a CPU. The load
average is recorded with every run: compare the ratios, measured side by side, more than absolute fps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
from machine import cpu_name, write_result

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "video" / "ntu.mp4"
CLIP_SIZE = (1280, 720)
LIVE = "import sys; from stylecam.cli.live import main; sys.exit(main())"
VIDEO = "import sys; from stylecam.cli.video import main; sys.exit(main())"
WROTE = re.compile(r"wrote .*: (\d+) frames.*\(([\d.]+) frames/s\)")


def make_clip(source: Path, target: Path, loops: int) -> Path:
    """``source`` scaled to 1280×720, ``loops`` times over, its first audio stream copied alongside."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        video_in, audio_in = inp.streams.video[0], inp.streams.audio[0]
        video = out.add_stream("libx264", rate=video_in.average_rate)
        video.width, video.height = CLIP_SIZE
        video.pix_fmt = "yuv420p"
        video.time_base = video.codec_context.time_base = video_in.time_base
        video.options = {"crf": "20", "preset": "veryfast"}
        audio = out.add_stream_from_template(audio_in)
        last_dts = None
        for loop in range(loops):
            inp.seek(0)
            for packet in inp.demux(video_in, audio_in):
                if packet.pts is None:
                    continue
                if packet.stream is audio_in:
                    packet.pts += loop * audio_in.duration
                    packet.dts += loop * audio_in.duration
                    if last_dts is None or packet.dts > last_dts:  # the loops' priming packets overlap
                        last_dts, packet.stream = packet.dts, audio
                        out.mux(packet)
                    continue
                for frame in packet.decode():
                    scaled = frame.reformat(width=CLIP_SIZE[0], height=CLIP_SIZE[1], format="yuv420p")
                    scaled.pts, scaled.time_base = frame.pts + loop * video_in.duration, video_in.time_base
                    out.mux(video.encode(scaled))
        out.mux(video.encode(None))
    return target


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def run_live(clip: Path, style: str, size: str, frames: int, folder: Path, env: dict[str, str]) -> dict[str, object]:
    stats = folder / f"live-{size}.json"
    warmup = max(5, frames // 20)
    command = [sys.executable, "-c", LIVE, "--source", str(clip), "--style", style, "--backend", "onnx",
               "--size", size, "--no-window", "--max-frames", str(frames + warmup), "--warmup", str(warmup),
               "--stats-json", str(stats), "-q"]
    load = _load()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600, check=False)
    if result.returncode != 0:
        return {"run": "live", "size": size, "error": result.stderr.strip().splitlines()[-1:]}
    summary = json.loads(stats.read_text())
    return {"run": "live", "size": size, "fps": round(summary["fps"], 1), "frames": summary["counted_frames"],
            "inference_p50_ms": summary["inference_ms"]["p50"], "load_avg_1min": [load, _load()]}


def run_stylevideo(clip: Path, style: str, size: str, temporal: str, folder: Path, env: dict[str, str]
                   ) -> dict[str, object]:
    out = folder / f"out-{size}-{temporal}.mp4"
    long_side = max(int(side) for side in size.split("x"))
    command = [sys.executable, "-c", VIDEO, str(clip), str(out), "--style", style, "--backend", "onnx",
               "--size", str(long_side), "--temporal", temporal]
    load = _load()
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600, check=False)
    wrote = WROTE.search(result.stderr)
    if result.returncode != 0 or wrote is None:
        return {"run": f"stylevideo {temporal}", "size": size, "error": result.stderr.strip().splitlines()[-1:]}
    return {"run": f"stylevideo {temporal}", "size": size, "fps": float(wrote[2]), "frames": int(wrote[1]),
            "wall_s": round(time.monotonic() - started, 1), "output_kib": out.stat().st_size // 1024,
            "load_avg_1min": [load, _load()]}


def table(rows: list[dict[str, object]]) -> str:
    """Markdown: per size, the live loop's fps and each stylevideo mode's, relative to it."""
    lines = ["| size | live loop | stylevideo none | stylevideo flow |", "| --- | --- | --- | --- |"]
    for size in dict.fromkeys(str(r["size"]) for r in rows):
        fps = {str(r["run"]): r.get("fps") for r in rows if r["size"] == size}
        live = fps.get("live")

        def cell(run: str) -> str:
            value = fps.get(run)
            if value is None:
                return "failed"
            ratio = f" ({float(value) / float(live):.2f}× live)" if live else ""  # type: ignore[arg-type]
            return f"{float(value):.1f} fps{ratio}"  # type: ignore[arg-type]

        lines.append(f"| {size} | {cell('live')} | {cell('stylevideo none')} | {cell('stylevideo flow')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--style", default="mosaic", help="network: zoo name or file (default mosaic, fast tier)")
    parser.add_argument("--loops", type=int, default=2, help="times the video is played in the clip (default 2)")
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--live-frames", type=int, default=300, help="frames the live loop is timed over")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "video_speed.json")
    args = parser.parse_args()
    if not args.video.is_file():
        parser.error(f"{args.video}: no such file")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stylecam-video-speed-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "STYLECAM_CACHE": str(folder / "cache")}
        clip = make_clip(args.video, folder / "clip.mp4", args.loops)
        rows = []
        for size in args.sizes:
            for row in (run_live(clip, args.style, size, args.live_frames, folder, env),
                        run_stylevideo(clip, args.style, size, "none", folder, env),
                        run_stylevideo(clip, args.style, size, "flow", folder, env)):
                print(json.dumps(row), flush=True)
                rows.append(row)
    result = {
        "benchmark": "video_speed", "video": args.video.name, "clip": f"{CLIP_SIZE[0]}x{CLIP_SIZE[1]}",
        "loops": args.loops, "style": args.style, "cpu": cpu_name(), "cores": len(os.sched_getaffinity(0)),
        "machine": platform.machine(), "wall_s": round(time.monotonic() - started), "rows": rows,
    }
    write_result(args.out, result)
    print(table(rows))


if __name__ == "__main__":
    main()
