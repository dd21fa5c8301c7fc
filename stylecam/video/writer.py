"""Writing the stylized video with PyAV: H.264 in yuv420p (plays everywhere), source timestamps, the input's
audio, all into a hidden temporary file that is renamed over the output only once it is complete.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from stylecam.errors import OutputError
from stylecam.video.audio import PLAYABLE_COPY, AudioMuxer
from stylecam.video.reader import VideoInfo

OUTPUT_EXTENSIONS: tuple[str, ...] = tuple(PLAYABLE_COPY)
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class EncodeSettings:
    """x264 quality (``crf``: 0 lossless … 51 worst, 18 visually lossless) and speed (``preset``)."""

    crf: int = 18
    preset: str = "medium"


def temporary_path(target: Path) -> Path:
    """The hidden name an output is written under until it is complete: ``.<name>.tmp.<ext>`` beside it."""
    return target.with_name(f".{target.stem}.tmp{target.suffix}")


def check_output(target: Path) -> None:
    """OutputError unless ``target`` can be written: a supported extension, in an existing folder."""
    if target.suffix.lower() not in OUTPUT_EXTENSIONS:
        raise OutputError(f"{target}: unsupported output extension '{target.suffix}'; "
                          f"use one of {', '.join(OUTPUT_EXTENSIONS)}")
    if not target.parent.is_dir():
        raise OutputError(f"{target}: folder {target.parent} does not exist")
    if target.is_dir():
        raise OutputError(f"{target}: is a folder")


class VideoWriter:
    """Encodes RGB frames at their source timestamps and muxes the input's audio alongside.

    ``offset_pts`` (the first written frame's source timestamp) becomes time zero. ``close`` finalises the
    container; the caller renames the file (see :func:`temporary_path`).
    """

    def __init__(self, path: Path, info: VideoInfo, size: tuple[int, int], offset_pts: int,
                 settings: EncodeSettings = EncodeSettings(), audio: bool = True) -> None:
        self.path = path
        self.frames = 0
        self.end_pts = 0
        self._time_base = info.time_base
        self._offset = offset_pts
        self._last_step = max(1, round(1 / (info.frame_rate * info.time_base))) if info.frame_rate else 1
        options = {"movflags": "+faststart"} if path.suffix.lower() in (".mp4", ".m4v", ".mov") else {}
        try:
            self._container = av.open(str(path), mode="w", options=options)
        except (OSError, av.error.FFmpegError) as exc:
            raise OutputError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from None
        stream = self._container.add_stream("libx264", rate=info.frame_rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        stream.codec_context.framerate = info.frame_rate
        stream.options = {"crf": str(settings.crf), "preset": settings.preset}
        self._stream = stream
        offset_seconds = float(offset_pts * info.time_base)
        self.audio = AudioMuxer(info, self._container, offset_seconds, path.suffix) if audio else None

    @property
    def duration(self) -> float:
        """Seconds of video written so far (to the end of the last frame)."""
        return float(self.end_pts * self._time_base)

    def write(self, image: np.ndarray, pts: int) -> None:
        """Encode one RGB uint8 frame shown from source timestamp ``pts``."""
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = pts - self._offset
        frame.time_base = self._time_base
        if self.frames:
            self._last_step = max(1, frame.pts - self._previous_pts)
        self._previous_pts = frame.pts
        self.end_pts = frame.pts + self._last_step
        self.frames += 1
        self._mux(self._stream.encode(frame))
        if self.audio is not None:
            self.audio.mux_until(float(frame.pts * self._time_base))

    def _mux(self, packets: list[av.Packet]) -> None:
        try:
            self._container.mux(packets)
        except (OSError, av.error.FFmpegError) as exc:
            raise OutputError(f"cannot write {self.path}: {getattr(exc, 'strerror', None) or exc}") from None

    def close(self, trim_audio: bool = False) -> None:
        """Flush the encoder and the audio (trimmed to the video's end if asked), and finalise the file."""
        try:
            self._mux(self._stream.encode(None))
            if self.audio is not None:
                self.audio.finish(self.duration if trim_audio else math.inf)
        finally:
            self.abort()

    def abort(self) -> None:
        """Release the files without finalising (the caller deletes the partial output)."""
        if self.audio is not None:
            self.audio.close()
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self._container.close()


def commit(temporary: Path, target: Path) -> None:
    """Rename a finished temporary output over the target."""
    try:
        os.replace(temporary, target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None


def discard(temporary: Path) -> None:
    """Delete a partial temporary output, if there is one."""
    with contextlib.suppress(OSError):
        temporary.unlink()

