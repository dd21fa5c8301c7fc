"""Reading → stylizing with temporal consistency → writing, with progress, into a temporary file that becomes
the output only when it is complete.

Decoding, the temporal mode's ``prepare`` (network, flow), its ``finish`` and encoding each run on their own
thread, joined by short queues (:mod:`stylecam.video.stages`), so they overlap.

Interruption (Ctrl-C, or SIGTERM where the command turns it into :class:`~stylecam.errors.Terminated`): the
frames stylized so far are finalised into a playable, shorter output (with the audio trimmed to match), a
resume state is left beside it (:mod:`stylecam.video.resume`), and the interrupt propagates carrying a
one-line message. A second interrupt during that, or any error, deletes the temporary file: the output is then
either absent or, if it existed before, unchanged. The input is only ever opened for reading.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from stylecam.errors import InputError, OutputError, UsageError
from stylecam.files import same_file
from stylecam.log import is_quiet, notice
from stylecam.video.keyframes import CutDetector
from stylecam.video.reader import Frame, VideoInfo, VideoReader, probe, processing_size
from stylecam.video.resume import ResumeState, check_state, discard_state, file_identity, load_state, save_state
from stylecam.video.stages import Sink, Stage
from stylecam.video.temporal import Temporal
from stylecam.video.writer import (
    EncodeSettings,
    VideoWriter,
    check_output,
    claim_temporary,
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
    settings: Mapping[str, Any] = field(default_factory=dict)
    """What else shapes the output (the command's style and temporal options), JSON-like: a resumed render
    must have the same."""
    resume: bool = False
    """Continue the interrupted render of the same input and options into the same output, if there is one."""

    def fingerprint(self) -> dict[str, Any]:
        """Every setting that shapes the output, as JSON values."""
        fields = {key: value for key, value in asdict(self).items() if key not in ("encode", "settings", "resume")}
        return json.loads(json.dumps({**fields, **asdict(self.encode), **self.settings}))


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
    resumed: int = 0  # frames copied from an interrupted render's partial (``--resume``), not stylized this run

    @property
    def frame_rate(self) -> float:
        """Frames stylized per second of this run (a resumed render's copied frames are not counted)."""
        return (self.frames - self.resumed) / max(self.seconds, 1e-9)


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


@dataclass
class _Prepared:
    frame: Frame
    cut: bool
    since_cut: int
    prepared: Any


class _Recorder:
    """The encoding end (on its own thread): writes each finished frame and remembers where it got to."""

    def __init__(self, temporary: Path, info: VideoInfo, size: tuple[int, int], options: RenderOptions,
                 history: int, on_frame: Callable[[Frame, np.ndarray], None] | None) -> None:
        self.temporary, self.info, self.size, self.options = temporary, info, size, options
        self.on_frame = on_frame
        self.writer: VideoWriter | None = None
        self.history: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=max(1, history))
        self.last_pts, self.last_time, self.since_cut = 0, 0.0, 0

    def open(self, offset_pts: int) -> VideoWriter:
        """The writer, time zero at source timestamp ``offset_pts``."""
        self.writer = VideoWriter(self.temporary, self.info, self.size, offset_pts, self.options.encode,
                                  self.options.audio)
        return self.writer

    def resume(self, state: ResumeState, partial: Path) -> None:
        """Start from an interrupted render's partial output and state."""
        writer = self.open(state.offset_pts)
        writer.copy_video(partial)
        if writer.frames != state.frames:
            raise UsageError(f"cannot resume {partial}: it holds {writer.frames} frames where its resume state "
                             f"says {state.frames}; run without --resume to start over")
        self.history.extend(state.history)
        self.last_pts, self.last_time, self.since_cut = state.last_pts, state.last_time, state.since_cut

    def __call__(self, item: tuple[_Prepared, np.ndarray]) -> None:
        prepared, output = item
        frame = prepared.frame
        writer = self.writer or self.open(frame.pts)
        writer.write(output, frame.pts)
        self.history.append((frame.image, output))
        self.last_pts, self.last_time, self.since_cut = frame.pts, frame.time, prepared.since_cut
        if self.on_frame is not None:
            self.on_frame(frame, output)

    def state(self, source: Path, options: RenderOptions) -> ResumeState:
        """Where the render stopped, for a later ``--resume``."""
        assert self.writer is not None
        inputs, outputs = (np.stack(images) for images in zip(*self.history))
        return ResumeState(file_identity(source), options.fingerprint(), self.writer.frames,
                           self.writer.offset_pts, self.last_pts, self.last_time, self.since_cut, inputs, outputs)


def check_resume(source: Path, target: Path, options: RenderOptions) -> ResumeState | None:
    """The state to resume from (None: there is none, or no ``resume``); UsageError, in one line, when it is
    another input's or other options'. Cheap: a command may check before it loads its models."""
    state = load_state(target) if options.resume else None
    if state is not None:
        check_state(state, target, source, options.fingerprint())
    return state


def render_video(source: Path, target: Path, temporal: Temporal, options: RenderOptions = RenderOptions(),
                 cuts: CutDetector | None = None,
                 on_frame: Callable[[Frame, np.ndarray], None] | None = None) -> RenderReport:
    """Stylize ``source`` into ``target`` through ``temporal``; ``on_frame(frame, output)`` sees each result
    (on the encoding thread)."""
    check_paths(source, target)
    info = probe(source)
    _check_span(info, options)
    size = processing_size(info, options.size)
    describe(info, size)
    state = check_resume(source, target, options)
    if options.resume and state is None:
        notice(f"{target}: no interrupted render to resume; starting from the beginning")
    cuts = cuts or CutDetector()
    report = RenderReport(target, size)
    temporary = temporary_path(target)
    lock = claim_temporary(target)
    recorder = _Recorder(temporary, info, size, options, temporal.history, on_frame)
    started = time.perf_counter()
    try:
        if state is not None:
            recorder.resume(state, target)
            temporal.restore(state.history[-temporal.history:] if temporal.history else [])
            cuts.restore(state.inputs[-1], state.since_cut)
            report.resumed = state.frames
            notice(f"resuming {target} after its first {state.frames} frames")
        interrupted = _run(info, size, options, temporal, cuts, recorder, report, state)
        writer = recorder.writer
        if writer is None or writer.frames == 0:  # nothing to keep: no output at all
            if interrupted is not None:
                raise interrupted
            raise InputError(f"{source}: no frames from {options.start:g} s on")
        writer.close(trim_audio=interrupted is not None or options.duration is not None)
        commit(temporary, target)
        if interrupted is not None:
            save_state(target, recorder.state(source, options))
        else:
            discard_state(target)
    except BaseException:
        if recorder.writer is not None:
            recorder.writer.abort()
        discard(temporary)
        raise
    finally:
        os.close(lock)
    report.frames, report.duration = writer.frames, writer.duration
    if writer.audio is not None:
        report.audio = [f"{p.codec} copied" if p.copy else f"{p.codec} re-encoded to aac" for p in writer.audio.plans]
    report.seconds = time.perf_counter() - started
    if interrupted is not None:
        report.interrupted = True
        interrupted.args = (f"{target} holds the first {report.frames} frames ({report.duration:.2f} s); "
                            "--resume continues it",)
        raise interrupted
    return report


def _run(info: VideoInfo, size: tuple[int, int], options: RenderOptions, temporal: Temporal, cuts: CutDetector,
         recorder: _Recorder, report: RenderReport, state: ResumeState | None) -> KeyboardInterrupt | None:
    """Decode, stylize and encode every frame on the pipeline's threads; returns the interrupt that stopped it
    early, if one did (every frame stylized before it is encoded)."""

    def prepare(frame: Frame) -> _Prepared:
        cut = cuts(frame.image)
        return _Prepared(frame, cut, cuts.since_cut, temporal.prepare(frame.image, cut))

    interrupted: KeyboardInterrupt | None = None
    after, done = (state.last_pts, state.frames) if state is not None else (None, 0)
    with VideoReader(info, size, options.start, options.duration, after) as reader, tqdm(
        total=_expected_frames(info, options), initial=done, unit="frame",
        desc=info.path.name, disable=is_quiet(), dynamic_ncols=True,
    ) as progress:
        decoded = Stage("decode", reader, lambda frame: frame)
        prepared = Stage("prepare", decoded, prepare)
        sink: Sink[tuple[_Prepared, np.ndarray]] = Sink("encode", recorder)
        try:
            try:
                for item in prepared:
                    output = temporal.finish(item.frame.image, item.prepared, item.cut)
                    report.cuts += item.cut and done > 0
                    sink.put((item, output))
                    done += 1
                    progress.update(1)
            except KeyboardInterrupt as exc:
                interrupted = exc
            finally:  # each stage ends after its current frame, before the reader closes the file
                decoded.stop()
                prepared.stop(wait=True)
                decoded.stop(wait=True)
            sink.close()
        except BaseException:
            sink.close(drop=True)
            raise
    report.frames = recorder.writer.frames if recorder.writer is not None else 0
    if interrupted is None:
        _check_complete(info, options, reader.truncated, report, recorder.last_time)
    return interrupted


def _check_complete(info: VideoInfo, options: RenderOptions, truncated: bool, report: RenderReport,
                    last_time: float) -> None:
    """InputError if decoding failed or stopped well short of the stream's stated end."""
    short = False
    if info.duration is not None and info.duration_exact and report.frames:
        end = info.duration if options.duration is None else min(info.duration, options.start + options.duration)
        frame_time = 1 / float(info.frame_rate) if info.frame_rate else 0.0
        short = end - (last_time + frame_time) > EARLY_END_TOLERANCE
    if truncated or short:
        where = f"after {last_time:.2f} s" if report.frames else "at the start"
        total = f" of {info.duration:.2f} s" if info.duration is not None else ""
        raise InputError(f"{info.path}: truncated or corrupt: decoding stopped {where}{total}")
