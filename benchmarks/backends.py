"""Per-frame cost of each tier on each backend on this machine: torch eager, torch.compile, ONNX Runtime (CPU).

    python benchmarks/backends.py [--sizes 640x360 320x180] [--repeats 10] [--out benchmarks/results/backends.json]

What is timed is the network alone (a float 1×3×H×W frame in 0..255 in, the output out), the same for every
backend, with the default thread count (the cores this process may use) and again with one thread: PyTorch's
OpenMP threads degrade badly when other jobs share the cores. ONNX Runtime runs the graph ``export-onnx`` writes
(dynamic height and width, the default) and a static graph of the frame's size, with the session options the onnx
backend uses. torch.compile is compiled per size (``dynamic=False``); if it fails here, its error is recorded
instead. Variants are timed interleaved, round by round, so that machine noise (other jobs on the same cores) hits
them alike; medians are reported, with ratios to torch eager (default threads) from the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from machine import cpu_name, write_result

from stylecam.export.onnx_export import ExportOptions, export_johnson
from stylecam.imaging.sizes import parse_size
from stylecam.nets.transformer import TIERS, TransformerNet
from stylecam.export.ort_session import default_threads, session_options


def make_variants(net: TransformerNet, width: int, height: int, errors: dict[str, str],
                  key: str) -> dict[str, Callable[[np.ndarray], object]]:
    """Name → a function running one frame."""
    import onnxruntime as ort

    variants: dict[str, Callable[[np.ndarray], object]] = {}

    def eager(x: np.ndarray) -> object:
        with torch.inference_mode():
            return net(torch.from_numpy(x))

    variants["torch eager"] = eager

    def eager_one_thread(x: np.ndarray) -> object:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return eager(x)
        finally:
            torch.set_num_threads(threads)

    variants["torch eager, 1 thread"] = eager_one_thread
    compiled = torch.compile(net, dynamic=False)

    def run_compiled(x: np.ndarray) -> object:
        with torch.inference_mode():
            return compiled(torch.from_numpy(x))

    try:
        start = time.perf_counter()
        run_compiled(np.zeros((1, 3, height, width), np.float32))
        errors[f"{key} compile seconds"] = f"{time.perf_counter() - start:.0f}"
        variants["torch.compile"] = run_compiled
    except Exception as exc:  # record why, keep benchmarking the rest
        errors[f"{key} torch.compile"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    dynamic = export_johnson(net, ExportOptions()).SerializeToString()
    static = export_johnson(net, ExportOptions(size=(width, height))).SerializeToString()
    for label, graph, threads in (("onnxruntime", dynamic, None), ("onnxruntime, 1 thread", dynamic, 1),
                                  ("onnxruntime static", static, None)):
        session = ort.InferenceSession(graph, session_options(threads), providers=["CPUExecutionProvider"])
        variants[label] = lambda x, s=session: s.run(None, {"input": x})
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["640x360", "320x180"], help="frame sizes WxH")
    parser.add_argument("--tiers", nargs="+", default=list(TIERS), choices=list(TIERS))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "backends.json")
    args = parser.parse_args()
    threads = default_threads()
    torch.set_num_threads(threads)
    load_before = os.getloadavg()
    errors: dict[str, str] = {}
    rows = []
    started = time.time()
    for size_text in args.sizes:
        width, height = parse_size(size_text)
        frame = (np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32) * 255)
        for tier in args.tiers:
            torch.manual_seed(0)
            net = TransformerNet(TIERS[tier]).eval()
            key = f"{tier} {width}x{height}"
            print(f"preparing {key} …", flush=True)
            variants = make_variants(net, width, height, errors, key)
            for run in variants.values():  # warm-up
                for _ in range(2):
                    run(frame)
            samples: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.repeats):
                for name, run in variants.items():
                    start = time.perf_counter()
                    run(frame)
                    samples[name].append(time.perf_counter() - start)
            eager_ms = 1000 * statistics.median(samples["torch eager"])
            for name, values in samples.items():
                ms = 1000 * statistics.median(values)
                rows.append({
                    "tier": tier, "size": f"{width}x{height}", "backend": name, "ms_median": round(ms, 1),
                    "ms_p90": round(1000 * statistics.quantiles(values, n=10)[-1], 1),
                    "fps": round(1000 / ms, 2), "speedup_vs_eager": round(eager_ms / ms, 2),
                })
                print(f"  {name:<20} {ms:8.1f} ms  {1000 / ms:6.2f} fps  ×{eager_ms / ms:.2f} vs eager", flush=True)
    import onnxruntime as ort

    result = {
        "benchmark": "backends", "cpu": cpu_name(), "threads": threads, "torch": torch.__version__,
        "onnxruntime": ort.__version__, "machine": platform.machine(), "repeats": args.repeats,
        "wall_s": round(time.time() - started), "rows": rows, "compile_and_errors": errors,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "notes": ("Network only (float frame in, float frame out), random-init weights, batch 1. Variants "
                  "interleaved round by round; medians. Absolute times depend on what else shares the cores (see "
                  "the load averages; PyTorch's OpenMP threads suffer most from contention); ratios from the same "
                  "run are the comparison."),
    }
    write_result(args.out, result)
    print("\n| tier | size | backend | ms | fps | vs eager |\n| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['tier']} | {row['size']} | {row['backend']} | {row['ms_median']} | {row['fps']} | "
              f"×{row['speedup_vs_eager']} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
