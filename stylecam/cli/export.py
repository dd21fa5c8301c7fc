"""``export-onnx``: trained networks to ONNX (and TensorRT engines), with their card in the graph's metadata."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stylecam.cli.common import add_common_options, add_size_option, run_command
from stylecam.errors import InputError, OutputError, UsageError
from stylecam.files import same_file

PROG = "export-onnx"

EXAMPLES = """examples:
  export-onnx --style mosaic -o mosaic.onnx                      # dynamic height and width (the default)
  export-onnx --model my.pth -o my_640x360.onnx --size 640x360   # a static graph
  export-onnx --style mosaic -o mosaic_fp16.onnx --fp16 --check photo.jpg
  export-onnx --adain adain_decoder -o adain.onnx                # content, style and alpha inputs
  export-onnx --style mosaic -o mosaic.onnx --tensorrt mosaic.engine --size 1280x720 --max-size 1920x1080
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``export-onnx`` argument parser."""
    from stylecam.export.onnx_export import DEFAULT_OPSET, DEFAULT_TOLERANCE, DEFAULT_TOLERANCE_FP16, EXPORTERS

    parser = argparse.ArgumentParser(
        prog=PROG, description="Export a trained style network (or the AdaIN graph) to ONNX, optionally "
                               "checked against PyTorch and built into a TensorRT engine.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--style", metavar="NAME", help="a trained Johnson network from the zoo, by name")
    source.add_argument("-m", "--model", metavar="PATH", help="a Johnson network file (.pth)")
    source.add_argument("--adain", nargs="?", const="adain_decoder", metavar="DECODER",
                        help="the AdaIN encoder/AdaIN/decoder graph for a trained decoder, zoo name or file "
                             "(default adain_decoder)")
    parser.add_argument("-o", "--output", metavar="OUT.onnx", help="the graph to write (default: NAME.onnx here)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    parser.add_argument("--dynamic", action="store_true",
                        help="dynamic height and width (the default unless --size is given; with --size, the "
                             "size is the TensorRT profile's optimum)")
    add_size_option(parser, "export a static graph of this size (N: N×N, there being no frame to keep the aspect "
                            "ratio of); with --dynamic, the TensorRT profile's optimum")
    parser.add_argument("--fp16", action="store_true",
                        help="float16 weights and convolutions (instance norm and I/O stay float32)")
    parser.add_argument("--exporter", choices=EXPORTERS, default="auto",
                        help="torch.onnx exporter (default auto: dynamo at opset ≥ 18, else torchscript)")
    parser.add_argument("--check", nargs="?", const="", metavar="PHOTO",
                        help="run ONNX Runtime against PyTorch on PHOTO (default: a synthetic test image) and "
                             "report the max and mean difference; fail past --tolerance")
    parser.add_argument("--tolerance", type=float, metavar="LEVELS",
                        help=f"largest difference allowed by --check, in 0..255 levels "
                             f"(default {DEFAULT_TOLERANCE:g}, {DEFAULT_TOLERANCE_FP16:g} with --fp16)")
    parser.add_argument("--check-style", metavar="IMG", help="style image for checking --adain (default: the "
                                                           "check photo, flipped and colour-swapped)")
    trt = parser.add_argument_group("TensorRT (needs the tensorrt package and an NVIDIA GPU)")
    trt.add_argument("--tensorrt", metavar="ENGINE", help="also build a serialized FP16 TensorRT engine")
    trt.add_argument("--min-size", metavar="WxH", help="smallest frame in the engine's profile (default 64x64)")
    trt.add_argument("--max-size", metavar="WxH", help="largest frame in the engine's profile (default 1920x1088)")
    trt.add_argument("--fp32-engine", action="store_true", help="build the engine in FP32 instead of FP16")
    parser.add_argument("--vgg-weights", metavar="PATH", help="VGG19 weights for --adain "
                                                             "(default: $STYLECAM_VGG_WEIGHTS, hub cache)")
    add_common_options(parser)
    return parser


def _check_output(path: Path, inputs: list[Path], what: str, suffixes: tuple[str, ...]) -> None:
    """OutputError if ``path`` would overwrite an input or cannot be placed; UsageError for a wrong suffix."""
    for source in inputs:
        if same_file(path, source):
            raise OutputError(f"output {path} would overwrite input {source}")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give the {what} file's name")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist")
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{path}: the {what} file's name must end in {' or '.join(suffixes)}")


def _resolve_source(args: argparse.Namespace) -> tuple[str, Path]:
    """('johnson' | 'adain', model file)."""
    from stylecam import zoo

    if args.adain is not None:
        return "adain", zoo.resolve_model(args.adain, kind="adain_decoder")
    if args.style is not None:
        return "johnson", zoo.resolve_model(args.style)
    return "johnson", zoo.resolve_model(args.model)


def _load_check_images(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(photo, style image, description) for --check."""
    import numpy as np

    from stylecam.export.onnx_export import synthetic_photo
    from stylecam.imaging.io import read_image

    if args.check:
        photo = read_image(args.check, max_side=1024, size_option=None)
        label = args.check
    else:
        photo, label = synthetic_photo(), "a synthetic test image"
    style = (read_image(args.check_style, max_side=1024, size_option=None) if args.check_style
             else np.ascontiguousarray(photo[::-1, ::-1, ::-1]))
    return photo, style, label


def export_main(argv: Sequence[str] | None = None) -> int:
    """Parse, validate everything cheap, export, check, write, then build the engine if asked."""
    args = build_parser().parse_args(argv)
    from stylecam.log import notice, set_quiet

    set_quiet(args.quiet)
    from stylecam.export import onnx_export
    from stylecam.export.onnx_export import ExportOptions
    from stylecam.imaging.sizes import parse_size

    size = (args.size, args.size) if isinstance(args.size, int) else args.size
    options = ExportOptions(opset=args.opset, size=size, dynamic=True if args.dynamic else None, fp16=args.fp16,
                            exporter=args.exporter)
    options.validate()
    if args.tolerance is not None and args.tolerance < 0:
        raise UsageError("--tolerance must be 0 or more")
    if (args.min_size or args.max_size or args.fp32_engine) and not args.tensorrt:
        raise UsageError("--min-size, --max-size and --fp32-engine go with --tensorrt ENGINE")
    if args.check_style and args.adain is None:
        raise UsageError("--check-style goes with --adain")
    if args.check and not Path(args.check).is_file():
        raise InputError(f"{args.check}: no such file")
    profile = None
    if args.tensorrt:
        from stylecam.export.tensorrt_build import DEFAULT_PROFILE, Profile

        opt = size or DEFAULT_PROFILE[1]
        profile = Profile(parse_size(args.min_size, "--min-size") if args.min_size else DEFAULT_PROFILE[0], opt,
                          parse_size(args.max_size, "--max-size") if args.max_size else DEFAULT_PROFILE[2])
        if options.is_dynamic:
            profile.validate()

    kind, model_path = _resolve_source(args)
    output = Path(args.output) if args.output else Path(f"{'adain_' if kind == 'adain' else ''}{model_path.stem}.onnx")
    _check_output(output, [model_path], "ONNX", (".onnx",))
    engine_path = Path(args.tensorrt) if args.tensorrt else None
    if engine_path is not None:
        from stylecam.export.tensorrt_build import ENGINE_SUFFIXES, cuda_device, import_tensorrt

        _check_output(engine_path, [model_path, output], "engine", ENGINE_SUFFIXES)
        import_tensorrt()  # fail before the export, not after
        cuda_device(args.device)

    from stylecam.devices import resolve_device
    from stylecam.export.metadata import read_card

    device = resolve_device(args.device)
    card = read_card(model_path)
    source = onnx_export.source_info(model_path)
    net: Any = None
    if kind == "adain":
        from stylecam.nets.adain import AdaINModel
        from stylecam.nets.checkpoints import load_adain_decoder
        from stylecam.nets.vgg import find_weights, load_vgg

        vgg_path = find_weights(args.vgg_weights)
        net = AdaINModel(load_vgg(vgg_path), load_adain_decoder(model_path))
        proto = onnx_export.export_adain(net, options, card=card, source=source,
                                         vgg_source={"file": vgg_path.name, "size": str(vgg_path.stat().st_size)})
    else:
        from stylecam.nets.checkpoints import load_transformer

        net = load_transformer(model_path)
        style = args.style or model_path.stem
        proto = onnx_export.export_johnson(net, options, style=style, card=card, source=source)
    shape = "dynamic height and width" if options.is_dynamic else f"static {size[0]}x{size[1]}"  # type: ignore[index]
    notice(f"exported {model_path.name} ({shape}, opset {options.opset}{', fp16' if options.fp16 else ''})")

    if args.check is not None:
        photo, style_image, label = _load_check_images(args)
        tolerance = args.tolerance if args.tolerance is not None else (
            onnx_export.DEFAULT_TOLERANCE_FP16 if options.fp16 else onnx_export.DEFAULT_TOLERANCE)
        sizes = onnx_export.check_sizes(photo.shape, options)
        if kind == "adain":
            report = onnx_export.check_adain(proto, net, photo, style_image, sizes, tolerance,
                                             static_style=not options.is_dynamic, device=str(device))
        else:
            report = onnx_export.check_johnson(proto, net, photo, sizes, tolerance, device=str(device))
        print(f"{report.line()} on {label}")
        if not report.passed:
            raise onnx_export.ExportCheckError(
                f"ONNX Runtime differs from PyTorch by up to {report.max_diff:.4g} levels, more than the "
                f"tolerance {tolerance:g}; {output} was not written"
            )

    onnx_export.write_onnx(proto, output)
    notice(f"wrote {output}")
    if engine_path is not None:
        from stylecam.export.metadata import read_metadata
        from stylecam.export.tensorrt_build import Profile, build_engine

        build_engine(proto.SerializeToString(), engine_path, fp16=not args.fp32_engine,
                     profile=profile if options.is_dynamic and profile else Profile(),
                     device=args.device, metadata=read_metadata(proto))
        notice(f"wrote {engine_path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    return run_command(PROG, lambda: export_main(argv))


if __name__ == "__main__":
    sys.exit(main())
