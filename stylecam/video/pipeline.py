"""Reading → stylizing with temporal consistency → writing, with progress, into a temporary file that becomes
the output only when it is complete.

Interruption (Ctrl-C): the frames stylized so far are finalised into a playable, shorter output (with the
audio trimmed to match), a notice says so, and KeyboardInterrupt propagates (exit 130). A second Ctrl-C
during that, or any error, deletes the temporary file: the output is then either absent or, if it existed
before, unchanged. The input is only ever opened for reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stylecam.errors import InputError, OutputError, UsageError
from stylecam.files import same_file
from stylecam.log import is_quiet, notice
from stylecam.video.keyframes import CutDetector
from stylecam.video.reader import Frame, VideoInfo, VideoReader, probe, processing_size
from stylecam.video.temporal import Temporal
from stylecam.video.writer import (
    EncodeSettings,
    VideoWriter,
    check_output,
    commit,
    discard,
    temporary_path,
)

EARLY_END_TOLERANCE = 0.5
"""Seconds the decoded video may fall short of the stream's stated end before the file counts as truncated."""


@dataclass(frozen=True)
class RenderOptions:
    """Where and how to render: long side at most ``size``, or (width, height) (None: original), a span, the
    encoder, audio."""

    size: int | tuple[int, int] | None = 1280
    start: float = 0.0
    duration: float | None = None
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    audio: bool = True


@dataclass
class RenderReport:
    """What a render wrote."""

    output: Path
    size: tuple[int, int]
    frames: int = 0
    duration: float = 0.0
    cuts: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    audio: list[str] = field(default_factory=list)
    """Per output audio stream: its codec and ``copied`` or ``re-encoded``."""


def check_paths(source: Path, target: Path) -> None:
    """OutputError if ``target`` is the input or cannot be written; InputError if ``source`` is missing."""
    if not source.exists():
        raise InputError(f"{source}: no such file")
    if same_file(target, source):
        raise OutputError(f"output {target} would overwrite input {source}")
    check_output(target)


def _check_span(info: VideoInfo, options: RenderOptions) -> None:
    if options.start < 0 or (options.duration is not None and options.duration <= 0):
        raise UsageError("--start must be ≥ 0 and --duration > 0")
    if info.duration is not None and options.start >= info.duration:
        raise UsageError(f"--start {options.start:g} s is past the end of {info.path.name} ({info.duration:.2f} s)")


def _expected_frames(info: VideoInfo, options: RenderOptions) -> int | None:
    if info.duration is None:
        return None
    span = info.duration - options.start
    if options.duration is not None:
        span = min(span, options.duration)
    return max(1, round(span * info.frame_rate))


def describe(info: VideoInfo, size: tuple[int, int]) -> None:
    """Notices for what changes between the input's and the output's frames."""
    width, height = info.display_size
    changes = []
    if info.rotation:
        changes.append(f"rotated upright ({info.rotation}° display matrix)")
    if info.sample_aspect != 1:
        changes.append(f"non-square pixels ({info.sample_aspect}) made square")
    if (width, height) != size:
        odd = " (rounded to even sides for yuv420p)" if width % 2 or height % 2 else ""
        changes.append(f"scaled from {width}×{height} to {size[0]}×{size[1]}{odd}")
    if changes:
        notice(f"{info.path.name}: {info.width}×{info.height} coded; " + "; ".join(changes))


def render_video(source: Path, target: Path, temporal: Temporal, options: RenderOptions = RenderOptions(),
                 cuts: CutDetector | None = None,
                 on_frame: Callable[[Frame, np.ndarray], None] | None = None) -> RenderReport:
    """Stylize ``source`` into ``target`` through ``temporal``; ``on_frame(frame, output)`` sees each result."""
    check_paths(source, target)
    info = probe(source)
    _check_span(info, options)
    size = processing_size(info, options.size)
    describe(info, size)
    cuts = cuts or CutDetector()
    report = RenderReport(target, size)
    temporary = temporary_path(target)
    writer: VideoWriter | None = None
    started = time.perf_counter()
    last_time = 0.0
    try:
        with VideoReader(info, size, options.start, options.duration) as reader, tqdm(
            total=_expected_frames(info, options), unit="frame", desc=source.name, disable=is_quiet(),
            dynamic_ncols=True,
        ) as progress:
            try:
                for frame in reader:
                    if writer is None:
                        writer = VideoWriter(temporary, info, size, frame.pts, options.encode, options.audio)
                    cut = cuts(frame.image)
                    report.cuts += cut and report.frames > 0
                    output = temporal.step(frame.image, cut)
                    writer.write(output, frame.pts)
                    if on_frame is not None:
                        on_frame(frame, output)
                    report.frames += 1
                    last_time = frame.time
                    progress.update(1)
            except KeyboardInterrupt:
                report.interrupted = True
            _check_complete(info, options, reader.truncated, report, last_time)
        if writer is None or writer.frames == 0:  # nothing to keep: no output at all
            if report.interrupted:
                raise KeyboardInterrupt
            raise InputError(f"{source}: no frames from {options.start:g} s on")
        writer.close(trim_audio=report.interrupted or options.duration is not None)
        commit(temporary, target)
    except BaseException:
        if writer is not None:
            writer.abort()
        discard(temporary)
        raise
    report.frames, report.duration = writer.frames, writer.duration
    if writer.audio is not None:
        report.audio = [f"{p.codec} copied" if p.copy else f"{p.codec} re-encoded to aac" for p in writer.audio.plans]
    report.seconds = time.perf_counter() - started
    if report.interrupted:
        notice(f"interrupted: {target} holds the first {report.frames} frames ({report.duration:.2f} s)")
        raise KeyboardInterrupt
    return report


def _check_complete(info: VideoInfo, options: RenderOptions, truncated: bool, report: RenderReport,
                    last_time: float) -> None:
    """InputError if decoding failed or stopped well short of the stream's stated end."""
    if report.interrupted:
        return
    short = False
    if info.duration is not None and info.duration_exact and report.frames:
        end = info.duration if options.duration is None else min(info.duration, options.start + options.duration)
        frame_time = 1 / float(info.frame_rate) if info.frame_rate else 0.0
        short = end - (last_time + frame_time) > EARLY_END_TOLERANCE
    if truncated or short:
        where = f"after {last_time:.2f} s" if report.frames else "at the start"
        total = f" of {info.duration:.2f} s" if info.duration is not None else ""
        raise InputError(f"{info.path}: truncated or corrupt: decoding stopped {where}{total}")
