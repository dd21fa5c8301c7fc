"""``stylecam``: live style transfer from a camera, a video file, a stream or a test pattern — to a window, a
virtual camera, an MJPEG stream and/or a recording."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stylecam.cli.common import (
    add_backend_option,
    add_mix_option,
    add_common_options,
    add_size_option,
    add_threads_option,
    positive_int,
    run_command,
)
from stylecam.errors import OutputError, UsageError

PROG = "stylecam"

EXAMPLES = """examples:
  stylecam --style mosaic                                   # default webcam, in a window
  stylecam --source 1 --style mosaic candy --virtual-cam    # camera 1, as a virtual camera too
  stylecam --source clip.mp4 --size 640x360 --record out.mp4
  stylecam --source rtsp://cam.local/stream --style-image starry.jpg --serve 0.0.0.0:8080 --no-window
  stylecam --source test --style mosaic --no-window --max-frames 300 --stats-json stats.json

keys: n/p next/previous style, 1-9 pick one, +/- strength, c colour preservation, t temporal smoothing,
      s snapshot, r start/stop recording, h overlay, q or Esc quit
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``stylecam`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Live neural style transfer: camera, video file, stream or test pattern in; "
                               "window, virtual camera, MJPEG stream or recording out.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_argument_group("input")
    source.add_argument("--source", metavar="SRC",
                        help="camera index (0, 1 …) or /dev/videoN, a video file (looped), a URL (rtsp://, http:// "
                             "…) or 'test[:WxH]' for a generated pattern (default: the first camera found)")
    source.add_argument("--fps", type=float, metavar="N",
                        help="frame rate to play files and the test pattern at (default: theirs, 30 for the "
                             "pattern), or to ask the camera for")
    source.add_argument("--camera-size", metavar="WxH", help="capture size to ask the camera for, e.g. 1280x720")
    source.add_argument("--retries", type=int, default=5, metavar="N",
                        help="reconnection attempts when a camera or stream stops delivering (default 5)")
    styles = parser.add_argument_group("style")
    styles.add_argument("--style", nargs="+", metavar="NAME|PATH",
                        help="trained style network(s): zoo names, .pth/.onnx files or FILE.pth:STYLE; n/p cycle "
                             "through them (one name: through every trained style)")
    add_mix_option(styles)
    styles.add_argument("--style-image", nargs="+", metavar="IMG",
                        help="AdaIN: any style image(s) (one image: n/p cycle through its folder)")
    styles.add_argument("--decoder", metavar="NAME|PATH", help="AdaIN decoder (default: the zoo's first)")
    styles.add_argument("--vgg-weights", metavar="PATH", help="VGG19 weights for AdaIN (default: as stylize)")
    styles.add_argument("--strength", type=float, default=1.0, metavar="S",
                        help="style strength 0..1 (default 1; keys +/-)")
    styles.add_argument("--preserve-color", action="store_true", help="keep the camera's colours (key c)")
    styles.add_argument("--smooth", action="store_true",
                        help="temporal smoothing along the optical flow against flicker (key t)")
    run = parser.add_argument_group("processing")
    add_size_option(run, "processing size (default: a long side of at most 640; N keeps the aspect ratio); "
                         "outputs keep the source's size")
    run.add_argument("--net-scale", type=float, default=1.0, metavar="S",
                     help="run the network on the frame shrunk by S (0.25..1) and add the change it makes back at "
                          "full size: coarser brush strokes, the photo's edges kept, about 1/S² of the network's "
                          "cost (default 1)")
    add_backend_option(run, "; one that fails falls back to torch with a notice")
    add_threads_option(run)
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--no-window", action="store_true", help="no preview window (headless; keys from the "
                                                                  "terminal if there is one)")
    outputs.add_argument("--no-overlay", action="store_true", help="start with the window's overlay hidden (key h)")
    outputs.add_argument("--virtual-cam", nargs="?", const="", metavar="DEVICE",
                         help="also send the feed to a virtual camera (OBS Virtual Camera on Windows/macOS, "
                              "v4l2loopback on Linux; optional device, e.g. /dev/video10)")
    outputs.add_argument("--serve", metavar="[HOST:]PORT",
                         help="also serve an MJPEG stream and a page over HTTP (default host 127.0.0.1; "
                              "0.0.0.0 for the network; port 0 picks a free one)")
    outputs.add_argument("--record", metavar="FILE", help="record from the start to FILE (.mp4 .mov .mkv .m4v); "
                                                          "key r stops and starts again")
    outputs.add_argument("--snapshot-dir", metavar="DIR", default=".",
                         help="folder for snapshots (key s) and recordings started with r (default: here)")
    scripts = parser.add_argument_group("scripts and benchmarks")
    scripts.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N frames shown")
    scripts.add_argument("--stats-json", metavar="FILE",
                         help="write fps, latency percentiles, dropped frames, backend, memory to FILE at the end")
    scripts.add_argument("--warmup", type=int, default=0, metavar="N",
                         help="leave the first N frames out of the fps and latency figures (default 0)")
    add_common_options(parser)
    return parser


def validate(args: argparse.Namespace, check_display: bool = True) -> None:
    """Checks that need nothing loaded: combinations, ranges, output paths, the display (unless told not to)."""
    if args.style and args.style_image:
        raise UsageError("give --style (trained networks) or --style-image (AdaIN), not both")
    if args.decoder and not args.style_image:
        raise UsageError("--decoder is for AdaIN: add --style-image IMG")
    if not 0.0 <= args.strength <= 1.0:
        raise UsageError("--strength must be between 0 and 1")
    if not 0.25 <= args.net_scale <= 1.0:
        raise UsageError("--net-scale must be between 0.25 and 1")
    if args.fps is not None and not 0 < args.fps <= 240:
        raise UsageError("--fps must be above 0 and at most 240")
    if args.retries < 0 or args.warmup < 0:
        raise UsageError("--retries and --warmup cannot be negative")
    if args.no_window and not (args.virtual_cam is not None or args.serve or args.record or args.max_frames
                               or args.stats_json):
        raise UsageError("--no-window shows nothing: add --virtual-cam, --serve, --record, or --max-frames")
    if not Path(args.snapshot_dir).is_dir():
        raise OutputError(f"--snapshot-dir {args.snapshot_dir}: no such folder")
    if args.record:
        from stylecam.realtime.recorder import check_target

        target = Path(args.record)
        check_target(target)
        if args.source and Path(args.source).exists() and target.exists() and target.samefile(args.source):
            raise OutputError(f"--record {target} would overwrite the source")
    if args.stats_json and not Path(args.stats_json).parent.is_dir():
        raise OutputError(f"--stats-json {args.stats_json}: folder {Path(args.stats_json).parent} does not exist")
    if args.serve:
        from stylecam.realtime.mjpeg import parse_address

        parse_address(args.serve)
    if args.camera_size:
        from stylecam.imaging.sizes import parse_size

        parse_size(args.camera_size, "--camera-size")
    if check_display and not args.no_window:
        from stylecam.realtime.window import display_problem

        problem = display_problem()
        if problem:
            raise UsageError(problem)


def build_styles(args: argparse.Namespace) -> Any:
    """The :class:`StyleBank` the options ask for (loads the first style now)."""
    from stylecam.log import notice
    from stylecam.realtime import styles as st
    from stylecam.runtime.select import open_backend

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    threads = {"threads": args.threads} if args.threads else {}
    if args.style_image:
        decoder = args.decoder or st.default_decoder()
        entries, start = st.adain_styles(args.style_image)
        options: dict[str, Any] = {"style": entries[start].image, "alpha": args.strength,
                                   "vgg_weights": args.vgg_weights, **threads}
        backend = st.open_with_fallback(decoder, args.backend, args.device, **options)
        bank_ref: list[Any] = []

        def adain_fallback() -> Any:
            current = bank_ref[0].current.image if bank_ref else entries[start].image
            return open_backend(decoder, "torch", args.device, style=current, alpha=args.strength,
                                vgg_weights=args.vgg_weights)

        guarded = st.GuardedBackend(backend, "AdaIN", None if backend.name == "torch" else adain_fallback)
        bank = st.StyleBank(entries, start, adain=guarded)
        bank_ref.append(bank)
        return bank
    names = args.style
    if not names:
        from stylecam import zoo

        trained = [e.name for e in zoo.list_models() if e.kind == "johnson"]
        if not trained:
            raise UsageError("no style given and no trained styles yet: pass --style MODEL.pth or --style-image "
                             "IMG, or train one with 'styletrain johnson'")
        names = [trained[0]]
        notice(f"no --style given: starting with {trained[0]} (n/p switch styles)")
    entries, start = st.johnson_styles(names)

    def open_entry(entry: st.StyleEntry) -> Any:
        assert entry.model is not None
        backend = st.open_with_fallback(entry.model, args.backend, args.device, **threads)
        portable = Path(entry.model).suffix.lower() not in (".onnx", ".engine", ".plan", ".trt")
        fallback = (lambda: open_backend(entry.model, "torch", args.device)) \
            if backend.name != "torch" and portable else None
        return st.GuardedBackend(backend, entry.label, fallback)

    bank = st.StyleBank(entries, start, opener=open_entry)
    if args.mix:
        bank.set_blend(*args.mix)
    return bank


def write_stats(path: Path, summary: dict[str, Any]) -> None:
    """Write the statistics as JSON, atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None


def summary_line(summary: dict[str, Any]) -> str:
    latency = summary["latency_ms"]
    p50 = "n/a" if latency["p50"] is None else f"{latency['p50']:.0f}"
    p95 = "n/a" if latency["p95"] is None else f"{latency['p95']:.0f}"
    unrecorded = sum(int(r["dropped"]) for r in summary["recordings"])
    recording = f", {unrecorded} not recorded (the encoder fell behind)" if unrecorded else ""
    return (f"{summary['frames']} frames in {summary['seconds']:.1f} s: {summary['fps']:.1f} fps, latency "
            f"p50 {p50} ms / p95 {p95} ms, {summary['dropped_frames']} dropped{recording}; {summary['backend']}")


def build_session(args: argparse.Namespace, window_factory: Any = "tk") -> Any:
    """Open the source, the styles and the outputs the options ask for, as a ready :class:`LiveSession`
    (``window_factory``: "tk" for the Tk window unless --no-window, or a factory of your own)."""
    import contextlib

    from stylecam.imaging.sizes import parse_size
    from stylecam.log import notice
    from stylecam.realtime.session import (
        LiveSession,
        SessionOptions,
        default_processing_size,
    )
    from stylecam.realtime.sources import open_source, parse_source

    stop = threading.Event()
    camera_size = parse_size(args.camera_size, "--camera-size") if args.camera_size else None
    with contextlib.ExitStack() as stack:
        source = open_source(parse_source(args.source), fps=args.fps, camera_size=camera_size,
                             retries=args.retries, stop=stop)
        stack.callback(source.close)
        notice(f"source: {source.label}, {source.size[0]}x{source.size[1]} at {source.fps:.4g} fps")
        server = None
        if args.serve:
            from stylecam.realtime.mjpeg import MjpegServer, parse_address

            host, port = parse_address(args.serve)
            server = MjpegServer(host, port, title=f"stylecam - {source.label}")
            stack.callback(server.close)
            notice(f"serving at {server.url} (OBS: a Browser source with this address, or a Media source with "
                   f"{server.url}stream.mjpg)")
        camera = None
        if args.virtual_cam is not None:
            from stylecam.realtime.virtualcam import open_virtual_camera

            camera = open_virtual_camera(source.size[0], source.size[1], source.fps or 30.0, args.virtual_cam or None)
            stack.callback(camera.close)
            notice(f"virtual camera: {camera.device}")
        bank = build_styles(args)  # after the outputs: a missing driver or a busy port fails before any export
        if isinstance(args.size, tuple):
            processing = args.size
        else:
            processing = default_processing_size(source.size, args.size or 640)
        if window_factory == "tk":
            window_factory = None
            if not args.no_window:
                from stylecam.realtime.window import TkWindow

                window_factory = TkWindow
        options = SessionOptions(
            processing_size=processing, strength=args.strength, net_scale=args.net_scale,
            preserve_color=args.preserve_color,
            smoothing=args.smooth, overlay=not args.no_overlay, max_frames=args.max_frames, warmup=args.warmup,
            snapshot_dir=Path(args.snapshot_dir), record=Path(args.record) if args.record else None,
            title=f"stylecam - {source.label}", terminal_keys=args.no_window,
        )
        session = LiveSession(source, bank, options, window_factory=window_factory, server=server,
                              virtual_camera=camera, stop_event=stop)
        stack.pop_all()  # the session closes the source and the outputs from here on
    return session


def _terminate_like_ctrl_c() -> Any:
    """SIGTERM (``kill``, a service manager) ends the session as Ctrl-C does: recording finalised, exit 130.
    Returns the previous handler (None off the main thread, where nothing is changed)."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except (ValueError, OSError):  # not the main thread (in-process callers)
        return None


def live_main(argv: Sequence[str] | None = None) -> int:
    """Parse, open the source, the styles and the outputs, run until the session ends."""
    args = build_parser().parse_args(argv)
    from stylecam.log import notice, set_quiet

    set_quiet(args.quiet)
    validate(args)
    from stylecam.realtime.tuning import passive_openmp, tune_allocator

    passive_openmp()  # before torch loads
    tune_allocator()
    previous_handler = _terminate_like_ctrl_c()
    try:
        session = build_session(args)
        try:
            session.run()
        finally:
            if args.stats_json and session.summary is not None:
                write_stats(Path(args.stats_json), session.summary)
            if session.summary is not None and session.summary["frames"]:
                notice(summary_line(session.summary))
    finally:
        if previous_handler is not None:
            import signal

            signal.signal(signal.SIGTERM, previous_handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    return run_command(PROG, lambda: live_main(argv))


if __name__ == "__main__":
    sys.exit(main())
