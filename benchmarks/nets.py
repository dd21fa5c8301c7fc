"""GFLOP and milliseconds per frame of each TransformerNet tier (eager PyTorch, CPU by default).

    python benchmarks/nets.py [--size 640x360] [--repeats 20] [--device cpu] [--fp16] [--out benchmarks/results/nets.json]

``--fp16`` runs under float16 autocast (CUDA), as the live torch backend does there.

Tiers are timed interleaved, round by round, so that machine noise hits them alike; the median is reported.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch
from machine import write_result

from realtime import benchmarked_configs

from stylecam.nets.transformer import TransformerNet, count_flops


def time_forward(net: TransformerNet, frame: torch.Tensor, fp16: bool = False) -> float:
    """Seconds for one forward pass (synchronised on CUDA)."""
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast(frame.device.type, torch.float16, enabled=fp16):
        net(frame)
    if frame.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x360", help="frame WxH (default 640x360)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true", help="float16 autocast")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "nets.json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    device = torch.device(args.device)
    frame = torch.rand(1, 3, height, width, device=device) * 255
    configs = benchmarked_configs()
    nets = {name: TransformerNet(config).to(device).eval() for name, config in configs.items()}
    for net in nets.values():  # warm-up
        for _ in range(3):
            time_forward(net, frame, args.fp16)
    samples: dict[str, list[float]] = {name: [] for name in nets}
    for _ in range(args.repeats):
        for name, net in nets.items():
            samples[name].append(time_forward(net, frame, args.fp16))
    rows = []
    for name, config in configs.items():
        ms = 1000 * statistics.median(samples[name])
        rows.append({
            "tier": name, "config": config.to_dict(), "gflop": round(count_flops(config, height, width) / 1e9, 2),
            "params": sum(p.numel() for p in nets[name].parameters()),
            "ms_median": round(ms, 1), "ms_p90": round(1000 * statistics.quantiles(samples[name], n=10)[-1], 1),
            "fps": round(1000 / ms, 1),
        })
    result = {
        "benchmark": "nets", "size": f"{width}x{height}", "device": str(device), "fp16": args.fp16,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "threads": torch.get_num_threads(),
        "torch": torch.__version__, "machine": platform.machine(), "repeats": args.repeats, "tiers": rows,
        "ratio_quality_over_fast": round(rows[0]["ms_median"] / rows[1]["ms_median"], 1),
    }
    write_result(args.out, result)
    print(f"{'tier':<22} {'GFLOP':>7} {'params':>9} {'ms':>8} {'fps':>6}")
    for row in rows:
        print(f"{row['tier']:<22} {row['gflop']:>7} {row['params']:>9} {row['ms_median']:>8} {row['fps']:>6}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
