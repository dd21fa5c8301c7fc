"""Temporal consistency of each ``--temporal`` mode on a real clip: warping error, style and content loss.

    python benchmarks/temporal.py [--model PATH] [--style-image IMG] [--frames 40] [--ruder-frames 8]
                                  [--size 256] [--out benchmarks/results/temporal.json]

Warping error after Lai et al. 2018 (stylecam.video.metrics: Farneback flow and Ruder's occlusion check on
the input frames; mean over frames of the masked squared RGB difference between each output frame and the next
one warped onto it). Style loss: Gram MSE against the style image at relu1_1/2_1/3_1; content loss: feature
MSE at relu3_2 against the input frame (the real, truncated VGG19). Means over frames.

The stylizer is a trained Johnson network: ``--model``, else the first one in trained_models/. Optimisation is
slow on a CPU, so ``gatys`` (every frame optimised alone from the network's result: the baseline for ``ruder``)
and ``ruder`` run on the first ``--ruder-frames`` frames only; ``none`` and ``flow`` are also scored on that
prefix. Also written: a strip of consecutive frames per mode and one of their warping-error maps
(``--strip``), and the cost of the ``flow`` step alone at 640×360.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from machine import cpu_name, write_result

from stylecam import zoo
from stylecam.imaging.io import read_image, write_image
from stylecam.imaging.sheet import contact_sheet
from stylecam.imaging.tensors import to_tensor
from stylecam.losses.perceptual import content_loss, style_loss
from stylecam.nets.vgg import WEIGHTS_ENV, VGGFeatures, load_vgg
from stylecam.runtime.select import open_backend
from stylecam.stylize.gatys import GatysSettings, blended_grams, resize_to
from stylecam.video.flow import FlowEstimator
from stylecam.video.keyframes import GatysRenderer
from stylecam.video.metrics import WarpingError
from stylecam.video.reader import VideoReader, probe, processing_size
from stylecam.video.temporal import (
    FirstPass,
    FlowBlend,
    PerFrame,
    RuderOptimised,
    Temporal,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_VGG = SHARED / "weights" / "vgg19_imagenet_conv1_1-conv3_4.pth"


def default_model() -> Path:
    """The first trained Johnson network in the zoo."""
    models = [entry for entry in zoo.list_models() if entry.kind == "johnson"]
    if not models:
        raise SystemExit("no trained model in trained_models/: pass --model PATH")
    return models[0].path


def style_from_card(model: Path) -> Path | None:
    """The style image named in a model's card, looked up in ../shared/images/styles/."""
    card = model.with_suffix(".json")
    if not card.is_file():
        return None
    names = [entry["name"] for entry in json.loads(card.read_text()).get("style_images", [])]
    found = [SHARED / "images" / "styles" / name for name in names]
    return next((path for path in found if path.is_file()), None)


def read_frames(video: Path, start: float, count: int, size: int) -> list[np.ndarray]:
    """``count`` consecutive upright RGB frames from ``start`` s, long side ``size``."""
    info = probe(video)
    with VideoReader(info, processing_size(info, size), start) as reader:
        frames = []
        for frame in reader:
            frames.append(frame.image)
            if len(frames) == count:
                break
    return frames


def run(temporal: Temporal, frames: Sequence[np.ndarray], all_keys: bool = False) -> tuple[list[np.ndarray], float]:
    """Outputs of a temporal strategy over the frames (the first, or every one, a cut) and seconds per frame."""
    started = time.perf_counter()
    outputs = [temporal.step(frame, all_keys or index == 0) for index, frame in enumerate(frames)]
    return outputs, (time.perf_counter() - started) / len(frames)


class Losses:
    """Mean style and content loss of output frames against the style image and the input frames."""

    def __init__(self, vgg: VGGFeatures, style: torch.Tensor, frame_side: int) -> None:
        self.vgg = vgg
        self.content_layers, self.style_layers = GatysSettings().layers_for(vgg)
        self.grams = blended_grams(vgg, [resize_to(style, frame_side)], [1.0], self.style_layers)
        self.weights = {name: 1.0 / len(self.style_layers) for name in self.style_layers}

    @torch.no_grad()
    def __call__(self, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> dict[str, float]:
        style, content = [], []
        for source, result in zip(inputs, outputs):
            features = self.vgg(to_tensor(result), self.content_layers + self.style_layers)
            targets = self.vgg(to_tensor(source), self.content_layers)
            style.append(style_loss(features, self.grams, self.weights).item())
            content.append(content_loss(features, targets).item())
        return {"style_loss": float(np.mean(style)), "content_loss": float(np.mean(content))}


def scores(scorer: WarpingError, losses: Losses, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]
           ) -> dict[str, float]:
    """Warping error (absolute, and relative to the outputs' own pixel variance), style and content loss."""
    error = scorer(outputs)
    variance = float(np.mean([(o.astype(np.float32) / 255).reshape(-1, 3).var(axis=0).sum() for o in outputs]))
    return {"warping_error": error, "relative_warping_error": error / variance, **losses(inputs, outputs)}


def flow_step_cost(video: Path, repeats: int = 30) -> dict[str, float]:
    """Milliseconds of the ``flow`` mode's own work (flow, check, warp, blend) per 640×360 frame."""
    frames = read_frames(video, 1.0, 2, 640)
    frames = [np.ascontiguousarray(f[: 360]) for f in frames]
    mode = FlowBlend(FirstPass(_Identity()))
    mode.step(frames[0], True)
    started = time.perf_counter()
    for index in range(repeats):
        mode.step(frames[1 - index % 2], False)
    ms = 1000 * (time.perf_counter() - started) / repeats
    return {"ms_per_frame": round(ms, 2), "fps": round(1000 / ms, 1), "size": "640x360"}


class _Identity:
    def run(self, frame: np.ndarray) -> np.ndarray:
        return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=SHARED / "video" / "ntu.mp4")
    parser.add_argument("--model", type=Path, help="trained Johnson network (default: first in trained_models/)")
    parser.add_argument("--style-image", type=Path, help="style image (default: the model card's, in ../shared)")
    parser.add_argument("--start", type=float, default=1.0, help="seconds into the clip (default 1)")
    parser.add_argument("--frames", type=int, default=40, help="frames for none and flow (default 40)")
    parser.add_argument("--ruder-frames", type=int, default=8, help="frames for ruder and gatys (default 8)")
    parser.add_argument("--ruder-iters", type=int, default=40, help="L-BFGS iterations per ruder/gatys frame")
    parser.add_argument("--key-iters", type=int, default=100, help="iterations for ruder's first frame")
    parser.add_argument("--temporal-weight", type=float, default=1e8)
    parser.add_argument("--blend", type=float, default=0.5, help="flow mode weight (default 0.5, as stylevideo)")
    parser.add_argument("--size", type=int, default=256, help="long side of the frames (default 256)")
    parser.add_argument("--vgg-weights", type=Path, help="VGG19 weights (default: $STYLECAM_VGG_WEIGHTS, else "
                        "../shared/weights/vgg19_imagenet_conv1_1-conv3_4.pth)")
    parser.add_argument("--threads", type=int, default=1,
                        help="PyTorch and OpenCV threads (default 1: on a shared machine more threads spin and stall)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "temporal.json")
    parser.add_argument("--strip", type=Path, default=ROOT / "docs" / "temporal_strip.jpg")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    model = args.model or default_model()
    style_path = args.style_image or style_from_card(model)
    if style_path is None:
        raise SystemExit("cannot tell the model's style image: pass --style-image IMG")
    device = torch.device("cpu")
    frames = read_frames(args.video, args.start, args.frames, args.size)
    style = to_tensor(read_image(style_path, max_side=1024, size_option=None))
    vgg = load_vgg(args.vgg_weights or os.environ.get(WEIGHTS_ENV) or SHARED_VGG).eval()
    stylizer = open_backend(str(model), "torch", "cpu")
    gatys = GatysRenderer(vgg, [style], GatysSettings(), device)
    short = args.ruder_frames
    modes: list[tuple[str, Temporal, int, bool]] = [  # name, strategy, frames, every frame a key frame
        ("none", PerFrame(FirstPass(stylizer)), len(frames), False),
        ("flow", FlowBlend(FirstPass(stylizer), FlowEstimator("dis"), args.blend), len(frames), False),
        ("gatys", PerFrame(FirstPass(stylizer, gatys, args.ruder_iters)), short, True),
        ("ruder", RuderOptimised(gatys, stylizer, FlowEstimator("dis"), args.temporal_weight, (),
                                 args.ruder_iters, args.key_iters), short, False),
    ]
    scorer = WarpingError(frames)
    losses = Losses(vgg, style, max(frames[0].shape[:2]))
    outputs: dict[str, list[np.ndarray]] = {}
    rows = []
    for name, temporal, count, all_keys in modes:
        outputs[name], seconds = run(temporal, frames[:count], all_keys)
        print(f"{name}: {count} frames, {seconds:.2f} s/frame", flush=True)
        result = outputs[name]
        row: dict[str, object] = {"mode": name, "frames": count, "s_per_frame": round(seconds, 3),
                                  **scores(scorer, losses, frames[:count], result)}
        if count > short:
            row[f"first_{short}"] = scores(scorer, losses, frames[:short], result[:short])
        rows.append(row)
    by_mode = {row["mode"]: row for row in rows}

    def ratio(a: str, b: str, key: str = "warping_error", prefix: bool = False) -> float:
        other = by_mode[b][f"first_{short}"] if prefix else by_mode[b]
        return round(by_mode[a][key] / other[key], 3)  # type: ignore[index, operator]

    goal = {
        "flow_over_none_warping_error": ratio("flow", "none"),
        "flow_over_none_style_loss": ratio("flow", "none", "style_loss"),
        "ruder_over_gatys_warping_error": ratio("ruder", "gatys"),
        "ruder_over_gatys_style_loss": ratio("ruder", "gatys", "style_loss"),
        "ruder_over_flow_warping_error": ratio("ruder", "flow", prefix=True),
        "ruder_over_flow_relative_warping_error": ratio("ruder", "flow", "relative_warping_error", prefix=True),
    }
    goal["flow_goal_met"] = goal["flow_over_none_warping_error"] <= 0.5 and goal["flow_over_none_style_loss"] < 1.1
    goal["ruder_below_flow"] = goal["ruder_over_flow_warping_error"] < 1.0
    goal["ruder_below_flow_relative"] = goal["ruder_over_flow_relative_warping_error"] < 1.0
    result = {
        "benchmark": "temporal", "video": args.video.name, "start_s": args.start, "size": args.size,
        "frame_size": f"{frames[0].shape[1]}x{frames[0].shape[0]}", "model": model.name, "style": style_path.name,
        "blend": args.blend, "ruder": {"iters": args.ruder_iters, "key_iters": args.key_iters,
                                       "temporal_weight": args.temporal_weight},
        "metric": "warping error (Lai et al. 2018), Farneback flow on the input, RGB 0..1, squared norm over "
                  "channels; relative: divided by the outputs' mean pixel variance (summed over channels)",
        "modes": rows, "goal": goal, "flow_step": flow_step_cost(args.video),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
        "cpu": cpu_name(), "cores": len(os.sched_getaffinity(0)), "load_average": os.getloadavg()[0],
    }
    write_result(args.out, result)
    write_strips(args.strip, frames, outputs, scorer)
    print(f"{'mode':<6} {'frames':>6} {'warp err':>10} {'relative':>9} {'style':>10} {'content':>10} {'s/frame':>8}")
    for row in rows:
        print(f"{row['mode']:<6} {row['frames']:>6} {row['warping_error']:>10.5f} "
              f"{row['relative_warping_error']:>9.4f} {row['style_loss']:>10.4g} {row['content_loss']:>10.4g} "
              f"{row['s_per_frame']:>8}")
    print(json.dumps(goal), json.dumps(result["flow_step"]))
    print(f"wrote {args.out}, {args.strip} and {error_strip_path(args.strip)}")


def error_strip_path(strip: Path) -> Path:
    """Where the warping-error maps go, beside the frame strip."""
    return strip.with_name(f"{strip.stem}_error{strip.suffix}")


def write_strips(path: Path, frames: Sequence[np.ndarray], outputs: dict[str, list[np.ndarray]],
                 scorer: WarpingError, count: int = 5) -> None:
    """The last ``count`` consecutive frames of the modes that have more than ``count`` (all modes when none
    has), a row per mode under the input; and beside it the maps of each frame's warping error
    (|O_t − Ô_t+1|², masked; brighter = less stable). A mode cut to fewer frames (``--ruder-frames``) is left out
    rather than shrinking every row to its length."""
    shown = {name: result for name, result in outputs.items() if len(result) > count} or outputs
    last = min(len(result) for result in shown.values()) - 1
    picks = list(range(max(0, last - count), last))
    rows = [[(f"input t={i}", frames[i]) for i in picks]]
    rows += [[(f"{name} t={i}", result[i]) for i in picks] for name, result in shown.items()]
    maps = [[(f"{name} error t={i}", scorer.error_map(result, i)) for i in picks]
            for name, result in shown.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, contact_sheet(rows, height=144), quality=90)
    write_image(error_strip_path(path), contact_sheet(maps, height=144), quality=90)


if __name__ == "__main__":
    main()
