"""``stylize``: stylize still images with a trained network, Gatys optimisation, or AdaIN."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stylecam.cli.common import add_mix_option, add_common_options, add_size_option, positive_int, run_command
from stylecam.errors import InputError, StylecamError, UsageError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from stylecam.imaging.sizes import SizeOption

    from stylecam.stylize.methods import AdaINMethod, GatysMethod, JohnsonMethod

PROG = "stylize"
METHODS = ("johnson", "gatys", "adain")
# Default long side per method: feed-forward nets are cheap, Gatys optimisation is not.
DEFAULT_SIZE = {"johnson": 1024, "adain": 768, "gatys": 512}
# Peak memory per processed pixel, measured as the max-RSS growth from 512×384 to 1024×768 on CPU (quality-tier
# Johnson 950 B, AdaIN relu3_1 930 B, Gatys 2400 B plus 1200 B of L-BFGS history); refuses sizes that cannot fit.
BYTES_PER_PIXEL = {"johnson": 1000, "adain": 1000, "gatys": 3600}

EXAMPLES = """examples:
  stylize photo.jpg -o out.jpg --model mosaic
  stylize photo.jpg -o out.jpg --model mosaic --mix candy:0.3   # two styles of one several-style network
  stylize photo.jpg -o out.jpg --style-image starry.jpg --method gatys --iters 300
  stylize photos/ -o styled/ --method adain --decoder adain_decoder --style-image a.jpg b.jpg --style-weights 2 1
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``stylize`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Stylize images with a trained Johnson network, Gatys optimisation or AdaIN.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    parser.add_argument("-o", "--output", metavar="PATH",
                        help="output file (one input) or folder; default: next to each input as NAME_STYLE.EXT")
    parser.add_argument("--method", choices=METHODS,
                        help="default: johnson with --model, adain with --decoder, gatys with --style-image alone")
    parser.add_argument("-m", "--model", metavar="NAME|PATH",
                        help="trained Johnson model: zoo name, file, or FILE.pth:STYLE for one style of a "
                             "several-style file")
    add_mix_option(parser)
    parser.add_argument("-s", "--style-image", nargs="+", default=[], metavar="IMG",
                        help="style image(s) for gatys and adain")
    parser.add_argument("--style-weights", nargs="+", type=float, metavar="W",
                        help="blend weights, one per style image (default: equal)")
    parser.add_argument("--decoder", metavar="NAME|PATH",
                        help="trained AdaIN decoder: zoo name or file (default for --method adain: the zoo's first)")
    parser.add_argument("--alpha", type=float, default=1.0, help="AdaIN style strength 0..1 (default 1)")
    sizes = ", ".join(f"{v} for {k}" for k, v in DEFAULT_SIZE.items())
    add_size_option(parser, f"size to process at (default: a long side of at most {sizes}; N only shrinks, keeping "
                            "the aspect ratio)", allow_zero=True)
    parser.add_argument("--preserve-color", nargs="?", const="luminance", choices=("luminance", "histogram"),
                        help="keep the content's colours: luminance-only transfer (default) or histogram matching")
    gatys = parser.add_argument_group("gatys optimisation")
    gatys.add_argument("--iters", type=positive_int, default=300, help="iterations per scale (default 300)")
    gatys.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help="default lbfgs")
    gatys.add_argument("--lr", type=float, help="learning rate (default 1 for lbfgs, 0.02 for adam)")
    gatys.add_argument("--init", default="content", metavar="content|noise|IMG",
                       help="starting image (default content)")
    gatys.add_argument("--scales", type=positive_int, default=1,
                       help="coarse-to-fine levels, each twice the size of the last (default 1)")
    gatys.add_argument("--style-scale", type=float, default=1.0,
                       help="style image size relative to the content (default 1)")
    gatys.add_argument("--content-weight", type=float, default=1.0)
    gatys.add_argument("--style-weight", type=float, default=None, help="default 500")
    gatys.add_argument("--tv-weight", type=float, default=None, help="default 100")
    gatys.add_argument("--content-layers", nargs="+", metavar="LAYER", help="e.g. relu3_2 (default adapts)")
    gatys.add_argument("--style-layers", nargs="+", metavar="LAYER", help="e.g. relu1_1 relu2_1 relu3_1")
    gatys.add_argument("--pool", choices=("max", "avg"), default="max",
                       help="VGG pooling; avg is Gatys et al.'s choice, max is smoother here (default max)")
    gatys.add_argument("--vgg-weights", metavar="PATH", help="VGG19 weights (default: $STYLECAM_VGG_WEIGHTS, hub)")
    gatys.add_argument("--seed", type=int, default=0)
    add_common_options(parser)
    return parser


def choose_method(args: argparse.Namespace) -> str:
    """The method the options ask for, with a clear error when they do not add up."""
    method = args.method or ("johnson" if args.model else "adain" if args.decoder else "gatys" if args.style_image else None)
    if method is None:
        raise UsageError("say what style to use: --model NAME, or --style-image IMG (gatys, or adain with --decoder)")
    if method == "johnson" and not args.model:
        raise UsageError("--method johnson needs --model NAME|PATH")
    if method in ("gatys", "adain") and not args.style_image:
        raise UsageError(f"--method {method} needs --style-image IMG")
    if method == "adain" and not args.decoder:
        from stylecam import zoo

        args.decoder = zoo.first_decoder()
        if args.decoder is None:
            raise UsageError("--method adain needs an AdaIN decoder: --decoder NAME|PATH, or train one with "
                             "'styletrain adain'")
    if args.style_weights and len(args.style_weights) != len(args.style_image):
        raise UsageError(f"{len(args.style_weights)} --style-weights for {len(args.style_image)} style images")
    if not 0.0 <= args.alpha <= 1.0:
        raise UsageError("--alpha must be between 0 and 1")
    return method


def read_at_size(source: Path, size: SizeOption) -> np.ndarray:
    """The image at ``size``: WxH exactly, N as its long side at most (0: as it is)."""
    from stylecam.imaging.io import read_image, resize_to

    if isinstance(size, tuple):
        return resize_to(read_image(source), size)
    return read_image(source, max_side=size or None)


def _check_memory(method: str, image_shape: tuple[int, ...], source: Path) -> None:
    """Refuse a size whose estimated peak memory exceeds the machine's physical memory."""
    import os

    pixels = image_shape[0] * image_shape[1]
    needed = pixels * BYTES_PER_PIXEL[method]
    available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed > available:
        raise InputError(
            f"{source}: {image_shape[1]}×{image_shape[0]} with {method} needs about {needed / 2**30:.0f} GiB "
            f"of memory, more than this machine's {available / 2**30:.0f} GiB; use --size to scale it down"
        )


def _load_styles(args: argparse.Namespace, device: torch.device) -> list[torch.Tensor]:
    from stylecam.imaging.io import read_image
    from stylecam.imaging.tensors import to_tensor

    return [to_tensor(read_image(path, max_side=1024, size_option=None), device) for path in args.style_image]


def build_method(args: argparse.Namespace, method: str, device: torch.device) -> JohnsonMethod | AdaINMethod | GatysMethod:
    """Load the models a method needs, once, for all inputs."""
    from stylecam import zoo
    from stylecam.nets.vgg import load_vgg
    from stylecam.stylize import methods

    if method == "johnson":
        from stylecam.nets.checkpoints import load_transformer

        from stylecam.nets.style_mix import style_mix

        path, style = zoo.resolve_style(args.model)
        net = load_transformer(path).to(device)
        return methods.JohnsonMethod(net, args.preserve_color, style_mix(net.config.styles, style, args.mix))
    if method == "adain":
        from stylecam.nets.adain import AdaINModel
        from stylecam.nets.checkpoints import load_adain_decoder

        decoder = load_adain_decoder(zoo.resolve_model(args.decoder, kind="adain_decoder"))
        model = AdaINModel(load_vgg(args.vgg_weights), decoder).to(device)
        return methods.AdaINMethod(model, _load_styles(args, device), args.style_weights, args.alpha,
                                   args.preserve_color)
    from stylecam.stylize.gatys import GatysSettings

    settings = GatysSettings(
        iters=args.iters, optimizer=args.optimizer, lr=args.lr, content_weight=args.content_weight,
        style_weight=args.style_weight if args.style_weight is not None else GatysSettings.style_weight,
        tv_weight=args.tv_weight if args.tv_weight is not None else GatysSettings.tv_weight,
        content_layers=args.content_layers, style_layers=args.style_layers,
        style_scale=args.style_scale, scales=args.scales, seed=args.seed,
    )
    vgg = load_vgg(args.vgg_weights, pool=args.pool).to(device)
    settings.layers_for(vgg)  # unknown or unreachable layers fail before any image is processed
    init: str | torch.Tensor = args.init
    if args.init not in ("content", "noise"):
        from stylecam.imaging.io import read_image
        from stylecam.imaging.tensors import to_tensor

        init = to_tensor(read_image(args.init), device)
    return methods.GatysMethod(vgg, _load_styles(args, device), args.style_weights, init, settings,
                               args.preserve_color)


def _tag(args: argparse.Namespace, method: str) -> str:
    if method == "johnson":
        from stylecam.zoo import display_name

        return display_name(args.model)
    stems = "+".join(Path(p).stem for p in args.style_image)
    return f"{stems}_{method}"


def stylize_main(argv: Sequence[str] | None = None) -> int:
    """Parse, load once, then stylize every input; a failing input is reported and the rest go on."""
    args = build_parser().parse_args(argv)
    from stylecam.log import notice, set_quiet

    set_quiet(args.quiet)
    method = choose_method(args)
    from stylecam.cli.paths import collect_inputs, plan_outputs

    jobs = plan_outputs(collect_inputs(args.inputs), args.output, _tag(args, method))
    import torch

    from stylecam.devices import resolve_device
    from stylecam.imaging.io import write_image
    from stylecam.imaging.tensors import to_image, to_tensor

    device = resolve_device(args.device)
    run = build_method(args, method, device)
    size = DEFAULT_SIZE[method] if args.size is None else args.size
    failures: list[StylecamError] = []
    for source, target in jobs:
        try:
            image = read_at_size(source, size)
            _check_memory(method, image.shape, source)
            with torch.no_grad() if method != "gatys" else torch.enable_grad():
                result = run(to_tensor(image, device))
            write_image(target, to_image(result))
            notice(f"wrote {target}")
        except StylecamError as exc:
            if len(jobs) == 1:
                raise
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            failures.append(exc)
    return failures[0].exit_code if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    return run_command(PROG, lambda: stylize_main(argv))


if __name__ == "__main__":
    sys.exit(main())
