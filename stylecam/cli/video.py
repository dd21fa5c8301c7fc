"""``stylevideo``: stylize a video file with sound, temporal consistency and optional Gatys key frames."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stylecam.cli.common import (
    add_backend_option,
    add_mix_option,
    add_common_options,
    add_size_option,
    positive_int,
    run_command,
    sigterm_interrupts,
)
from stylecam.errors import UsageError

if TYPE_CHECKING:
    import torch

    from stylecam.video.keyframes import GatysRenderer
    from stylecam.video.stylizers import Stylizer
    from stylecam.video.temporal import Temporal

PROG = "stylevideo"
TEMPORAL_MODES = ("flow", "ruder", "none")
KEYFRAME_MODES = ("none", "gatys")

EXAMPLES = """examples:
  stylevideo clip.mp4 clip_mosaic.mp4 --style mosaic
  stylevideo clip.mp4 out.mp4 --style-image starry.jpg --decoder adain_decoder --alpha 0.8
  stylevideo clip.mp4 out.mp4 --style mosaic --style-image mosaic.jpg --keyframes gatys
  stylevideo clip.mp4 final.mp4 --style-image starry.jpg --temporal ruder --size 512   # slow; GPU advised
"""


def seconds(text: str) -> float:
    """argparse type: seconds as ``S``, ``M:S`` or ``H:M:S`` (decimals allowed)."""
    try:
        value = 0.0
        for part in text.split(":"):
            value = value * 60 + float(part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (use seconds, M:S or H:M:S)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def unit_interval(text: str) -> float:
    """argparse type: a float in 0..1."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``stylevideo`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Stylize a video: sound, frame rate, duration and rotation kept; temporally "
                               "consistent output.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", help="video file (anything FFmpeg decodes)")
    parser.add_argument("output", metavar="OUTPUT", help="output video: .mp4, .m4v, .mov or .mkv (H.264)")
    style = parser.add_argument_group("style")
    style.add_argument("--style", "-m", "--model", dest="style", metavar="NAME|PATH",
                       help="trained Johnson network: zoo name, file, or FILE.pth:STYLE for one style of a "
                            "several-style file")
    add_mix_option(style)
    style.add_argument("--style-image", "-s", metavar="IMG",
                       help="style image: AdaIN (with a decoder), Gatys key frames, ruder optimisation")
    style.add_argument("--decoder", metavar="NAME|PATH", help="AdaIN decoder (default: the zoo's, if any)")
    style.add_argument("--alpha", type=unit_interval, help="AdaIN style strength 0..1 (default 1)")
    style.add_argument("--preserve-color", nargs="?", const="luminance", choices=("luminance", "histogram"),
                       help="keep the input's colours: luminance-only (default) or histogram matching")
    add_backend_option(style)
    frames = parser.add_argument_group("frames and encoding")
    add_size_option(frames, "output size, sides rounded to even (default: a long side of at most 1280; N only "
                            "shrinks, keeping the aspect ratio)", default=1280, allow_zero=True)
    frames.add_argument("--start", type=seconds, default=0.0, metavar="T", help="start at T (s, M:S or H:M:S)")
    frames.add_argument("--duration", type=seconds, metavar="T", help="stylize only T of the input")
    frames.add_argument("--crf", type=int, default=18, help="H.264 quality, 0 best … 51 worst (default 18)")
    frames.add_argument("--preset", default="veryfast",
                        help="x264 speed: ultrafast … veryslow (default veryfast: real time; medium: the same "
                             "size about 1 dB PSNR better, 3× the encoding time)")
    frames.add_argument("--no-audio", action="store_true", help="leave the sound out")
    frames.add_argument("--resume", action="store_true",
                        help="continue an interrupted render of the same input and options into OUTPUT")
    temporal = parser.add_argument_group("temporal consistency")
    temporal.add_argument("--temporal", choices=TEMPORAL_MODES, default="flow",
                          help="flow: warp and blend the previous output (default, real time); ruder: Ruder et "
                               "al.'s temporal loss, optimised per frame (slow); none: each frame alone")
    temporal.add_argument("--flow", choices=("dis", "farneback"), default="dis", help="optical flow (default dis)")
    temporal.add_argument("--blend", type=unit_interval, default=0.5,
                          help="flow: weight of the warped previous output where reliable (default 0.5)")
    temporal.add_argument("--keyframes", choices=KEYFRAME_MODES, default="none",
                          help="gatys: optimise the first frame and each scene cut with Gatys (needs --style-image)")
    temporal.add_argument("--cut-threshold", type=unit_interval, default=0.4,
                          help="histogram distance that counts as a scene cut (default 0.4)")
    gatys = parser.add_argument_group("optimisation (ruder, gatys key frames)")
    gatys.add_argument("--iters", type=positive_int, default=100,
                       help="L-BFGS iterations per ruder frame (default 100)")
    gatys.add_argument("--keyframe-iters", type=positive_int, default=300,
                       help="iterations for key frames (default 300)")
    gatys.add_argument("--temporal-weight", type=float, default=1e8,
                       help="ruder: weight of the temporal loss (default 1e8, against content 1 and style 500)")
    gatys.add_argument("--long-term", type=positive_int, nargs="+", default=[], metavar="J",
                       help="ruder: also hold frame t to the outputs J frames back (e.g. 2 4 8)")
    gatys.add_argument("--style-weight", type=float, default=500.0)
    gatys.add_argument("--content-weight", type=float, default=1.0)
    gatys.add_argument("--tv-weight", type=float, default=100.0)
    gatys.add_argument("--vgg-weights", metavar="PATH", help="VGG19 weights (default: $STYLECAM_VGG_WEIGHTS, hub)")
    add_common_options(parser)
    return parser


def check_args(args: argparse.Namespace) -> None:
    """UsageError when the options do not add up (before anything is loaded)."""
    if not args.style and not args.style_image:
        raise UsageError("say what style to use: --style NAME (trained network) or --style-image IMG")
    needs_image = args.temporal == "ruder" or args.keyframes == "gatys"
    if needs_image and not args.style_image:
        what = "--temporal ruder" if args.temporal == "ruder" else "--keyframes gatys"
        raise UsageError(f"{what} optimises towards a style image: add --style-image IMG")
    if args.alpha is not None and args.style:
        raise UsageError("--alpha is AdaIN's style strength; it does not apply to a trained --style network")
    if args.crf < 0 or args.crf > 51:
        raise UsageError("--crf must be between 0 and 51")
    from stylecam.video.writer import PRESETS

    if args.preset not in PRESETS:
        raise UsageError(f"unknown --preset '{args.preset}'; choose one of {', '.join(PRESETS)}")


def _style_tensor(path: str, device: torch.device) -> torch.Tensor:
    from stylecam.imaging.io import read_image
    from stylecam.imaging.tensors import to_tensor

    return to_tensor(read_image(path, max_side=1024, size_option=None), device)


def build_stylizer(args: argparse.Namespace) -> Stylizer | None:
    """The feed-forward stylizer the options ask for, through a backend: a trained network, or AdaIN."""
    from stylecam.runtime.select import open_backend
    from stylecam.video.stylizers import ColorPreserving

    if args.style:
        backend = open_backend(args.style, args.backend, args.device, blend=args.mix)
    else:
        from stylecam import zoo

        decoder = args.decoder or zoo.first_decoder()
        if decoder is None:
            if args.temporal == "ruder":
                return None  # optimisation alone, started from the frames themselves
            raise UsageError("--style-image needs an AdaIN decoder for feed-forward stylization (--decoder, or "
                             "train one with 'styletrain adain'); or use --temporal ruder to optimise every frame")
        backend = open_backend(decoder, args.backend, args.device, style=args.style_image,
                               alpha=1.0 if args.alpha is None else args.alpha, vgg_weights=args.vgg_weights)
    return ColorPreserving(backend, args.preserve_color) if args.preserve_color else backend


def build_gatys(args: argparse.Namespace, device: torch.device) -> GatysRenderer:
    """The Gatys optimiser for key frames and ruder frames."""
    from stylecam.nets.vgg import load_vgg
    from stylecam.stylize.gatys import GatysSettings
    from stylecam.video.keyframes import GatysRenderer

    vgg = load_vgg(args.vgg_weights).to(device).eval()
    settings = GatysSettings(iters=args.iters, content_weight=args.content_weight, style_weight=args.style_weight,
                             tv_weight=args.tv_weight)
    settings.layers_for(vgg)
    return GatysRenderer(vgg, [_style_tensor(args.style_image, device)], settings, device, args.preserve_color)


SETTINGS = ("style", "style_image", "decoder", "alpha", "preserve_color", "temporal", "flow", "blend", "keyframes",
            "cut_threshold", "iters", "keyframe_iters", "temporal_weight", "long_term", "style_weight",
            "content_weight", "tv_weight", "vgg_weights")
"""Options besides RenderOptions' that shape the output (not --backend or --device: those only change speed)."""
FILE_SETTINGS = ("style", "style_image", "decoder", "vgg_weights")


def _file_setting(value: str) -> str:
    """A model or image option as the SHA-256 of the file it names (a zoo name: its model file), else as is."""
    from stylecam import zoo
    from stylecam.files import file_sha256

    path = Path(value)
    if not path.is_file():
        path = next((entry.path for entry in zoo.list_models() if entry.name == value), path)
    return f"sha256:{file_sha256(path)}" if path.is_file() else value


def output_settings(args: argparse.Namespace) -> dict[str, object]:
    """The options that shape the output, for checking a ``--resume`` against the interrupted run."""
    settings = {key: getattr(args, key) for key in SETTINGS}
    for key in FILE_SETTINGS:
        if settings[key] is not None:
            settings[key] = _file_setting(settings[key])
    return settings


def build_temporal(args: argparse.Namespace, device: torch.device) -> Temporal:
    """The temporal strategy, with its stylizer and optimiser."""
    from stylecam.video.flow import FlowEstimator
    from stylecam.video.temporal import FirstPass, FlowBlend, PerFrame, RuderOptimised

    stylizer = build_stylizer(args)
    gatys = build_gatys(args, device) if args.temporal == "ruder" or args.keyframes == "gatys" else None
    flow = FlowEstimator(args.flow)
    if args.temporal == "ruder":
        assert gatys is not None
        return RuderOptimised(gatys, stylizer, flow, args.temporal_weight, args.long_term, args.iters,
                              args.keyframe_iters)
    first = FirstPass(stylizer, gatys if args.keyframes == "gatys" else None, args.keyframe_iters)
    if args.temporal == "flow":
        return FlowBlend(first, flow, args.blend)
    return PerFrame(first)


def video_main(argv: Sequence[str] | None = None) -> int:
    """Parse, check paths and options, load the models, render."""
    args = build_parser().parse_args(argv)
    from stylecam.log import notice, set_quiet

    set_quiet(args.quiet)
    check_args(args)
    from stylecam.video.pipeline import RenderOptions, check_paths, check_resume, render_video
    from stylecam.video.reader import probe
    from stylecam.video.writer import EncodeSettings

    source, target = Path(args.input), Path(args.output)
    check_paths(source, target)
    probe(source)  # a bad input fails before any model is loaded
    options = RenderOptions(size=args.size or None, start=args.start, duration=args.duration,
                            encode=EncodeSettings(args.crf, args.preset), audio=not args.no_audio,
                            settings=output_settings(args), resume=args.resume)
    check_resume(source, target, options)  # and so does a refused --resume
    from stylecam.devices import resolve_device
    from stylecam.video.keyframes import CutDetector

    device = resolve_device(args.device)
    temporal = build_temporal(args, device)
    if args.temporal == "ruder" and device.type == "cpu":
        notice("ruder optimises every frame; on a CPU expect several seconds per frame (a GPU is advised)")
    report = render_video(source, target, temporal, options, CutDetector(args.cut_threshold))
    cuts = f", {report.cuts} scene cut{'s' * (report.cuts != 1)}" if report.cuts else ""
    audio = f"audio {', '.join(report.audio)}" if report.audio else "no audio"
    resumed = f" for the {report.frames - report.resumed} new" if report.resumed else ""
    notice(f"wrote {target}: {report.frames} frames, {report.duration:.2f} s at {report.size[0]}×{report.size[1]}"
           f"{cuts}, {audio}; {report.seconds:.1f} s ({report.frame_rate:.1f} frames/s{resumed})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; SIGTERM stops a render as Ctrl-C does (exit 143)."""
    with sigterm_interrupts():
        return run_command(PROG, lambda: video_main(argv))


if __name__ == "__main__":
    sys.exit(main())
