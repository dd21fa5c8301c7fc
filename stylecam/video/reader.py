"""Reading video with PyAV: probing, upright RGB frames at the processing size, source timestamps kept.

Frames are rotated upright by the stream's display matrix (phone clips), non-square pixels are made square,
and every frame keeps its own timestamp, so variable-frame-rate clips stay in sync when they are written back.
Every problem with the input becomes a one-line :class:`~stylecam.errors.InputError`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stylecam.errors import InputError

MIN_SIDE = 16
"""Smallest accepted frame side, in pixels (as for images)."""

STILL_IMAGE_FORMATS = frozenset({"image2"})
"""FFmpeg demuxers of single pictures (plus every ``*_pipe`` one): refused, ``stylize`` is for those."""


@dataclass(frozen=True)
class AudioInfo:
    """One audio stream of the input."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    language: str | None


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a video file (its first video stream)."""

    path: Path
    width: int
    height: int
    rotation: int
    """Counter-clockwise degrees the frames are turned for display (0, 90, 180 or 270)."""
    sample_aspect: Fraction
    time_base: Fraction
    frame_rate: Fraction
    """Average frame rate (the nominal one for variable-frame-rate clips)."""
    duration: float | None
    """Seconds of video: the stream's own duration, else the container's (which may include longer audio)."""
    duration_exact: bool
    """Whether ``duration`` is the video stream's own (and so a reliable check that decoding got to the end)."""
    frames: int | None
    """Frame count estimated from the duration (else the container's count); None when unknown."""
    start_pts: int
    """Timestamp of the first frame, in ``time_base`` units."""
    codec: str
    audio: tuple[AudioInfo, ...]

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown: square pixels, rotation applied."""
        width = max(1, round(self.width * self.sample_aspect))
        if self.rotation % 180:
            return self.height, width
        return width, self.height


@dataclass(frozen=True)
class Frame:
    """A decoded frame: upright RGB uint8 at the processing size, with its source timestamp."""

    image: np.ndarray
    pts: int
    """Source timestamp in the stream's time base."""
    time: float
    """Seconds since the first frame of the stream."""


def display_rotation(matrix: Sequence[int]) -> int:
    """Counter-clockwise rotation in degrees (0/90/180/270) of FFmpeg's 3×3 display matrix (9 int32, 16.16).

    The same angle as FFmpeg's ``av_display_rotation_get`` (and PyAV's ``VideoFrame.rotation``), rounded to a
    quarter turn: a phone clip shot upright in portrait typically reads 270 (shown turned a quarter clockwise).
    """
    a, b, _, c, d, *_ = (float(v) for v in matrix)
    scale_x, scale_y = math.hypot(a, c), math.hypot(b, d)
    if scale_x == 0 or scale_y == 0:
        return 0
    angle = -math.degrees(math.atan2(b / scale_y, a / scale_x))
    return round(angle / 90) % 4 * 90


def _frame_rotation(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> int:
    """Rotation from the frame's display-matrix side data, else the stream's legacy ``rotate`` tag."""
    matrix = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)  # a mapping by type (PyAV 18.1.1 on)
    if matrix is not None:
        return display_rotation(struct.unpack("<9i", bytes(matrix)[:36]))
    tag = stream.metadata.get("rotate")
    try:
        return (-int(tag)) % 360 // 90 * 90 if tag else 0
    except ValueError:
        return 0


def open_input(path: Path) -> av.container.InputContainer:
    """Open a media file for reading, with the reason it cannot be in one line."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return av.open(str(path), mode="r")
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a video, or corrupt ({_reason(exc)})") from None


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if container.format.name in STILL_IMAGE_FORMATS or container.format.name.endswith("_pipe"):
        raise InputError(f"{path}: is a still image, not a video (use 'stylize' for images)")
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        what = "audio only" if container.streams.audio else "empty, or its video has no frames"
        raise InputError(f"{path}: holds no video stream ({what})")
    stream = streams[0]
    if stream.codec_context is None or stream.codec_context.name is None:
        raise InputError(f"{path}: video codec is not supported by this build of FFmpeg")
    return stream


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
                 ) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: cannot decode the video ({_reason(exc)})") from None
    raise InputError(f"{path}: the video stream holds no frames")


def probe(path: str | Path) -> VideoInfo:
    """Describe a video file, decoding its first frame (for the rotation, and to prove it decodes)."""
    path = Path(path)
    with open_input(path) as container:
        stream = _video_stream(container, path)
        codec = stream.codec_context.name
        if not av.codec.Codec(codec, "r").name:  # pragma: no cover - FFmpeg builds without the decoder
            raise InputError(f"{path}: no decoder for video codec '{codec}'")
        first = _first_frame(container, stream, path)
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or Fraction(30)
        duration, exact = _duration(container, stream)
        frames = round(duration * rate) if duration else (stream.frames or None)
        audio = tuple(
            AudioInfo(s.index, s.codec_context.name, s.codec_context.sample_rate or 0,
                      s.codec_context.channels or 0, s.metadata.get("language"))
            for s in container.streams.audio
            if s.codec_context is not None
        )
        info = VideoInfo(
            path=path, width=first.width, height=first.height, rotation=_frame_rotation(first, stream),
            sample_aspect=stream.sample_aspect_ratio or Fraction(1), time_base=time_base, frame_rate=Fraction(rate),
            duration=duration, duration_exact=exact, frames=frames,
            start_pts=first.pts if first.pts is not None else 0,
            codec=codec, audio=audio,
        )
    if min(info.width, info.height) < MIN_SIDE:
        raise InputError(f"{path}: video is {info.width}×{info.height} px, smaller than {MIN_SIDE} px per side")
    return info


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream
              ) -> tuple[float | None, bool]:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base), True
    if container.duration:
        return container.duration / av.time_base, False
    return None, False


def processing_size(info: VideoInfo, size: int | tuple[int, int] | None) -> tuple[int, int]:
    """(width, height) frames are processed and encoded at: ``size`` when it is (width, height), else the display
    size with its long side at most ``size`` (None or 0: unchanged); both sides rounded to even numbers (yuv420p
    needs them)."""
    width, height = size if isinstance(size, tuple) else info.display_size
    max_side = None if isinstance(size, tuple) else size
    if max_side and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = width * scale, height * scale
    return max(2, 2 * math.floor(width / 2 + 0.5)), max(2, 2 * math.floor(height / 2 + 0.5))


class VideoReader:
    """Decode upright RGB frames at ``size`` from ``start`` seconds for ``duration`` seconds, and only those
    after source timestamp ``after_pts`` when given (a resumed render).

    Iterating yields :class:`Frame` objects; decoding errors mid-stream (a truncated file) end the iteration
    with ``truncated`` set rather than raising, so what was decoded is still written. Each frame is scaled and
    converted to RGB in one swscale pass, on the decoder's frame threads' output.
    """

    def __init__(self, info: VideoInfo, size: tuple[int, int], start: float = 0.0,
                 duration: float | None = None, after_pts: int | None = None) -> None:
        self.info = info
        self.size = size
        self.start = start
        self.end = start + duration if duration is not None else math.inf
        self.after_pts = after_pts
        self.truncated = False
        self._container = open_input(info.path)
        self._stream = _video_stream(self._container, info.path)
        self._stream.thread_type = "AUTO"

    def __enter__(self) -> VideoReader:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        self._container.close()

    def _seek(self) -> None:
        if self.after_pts is not None:
            target = self.after_pts
        elif self.start > 0:
            target = self.info.start_pts + int(self.start / self.info.time_base)
        else:
            return
        try:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            pass  # unseekable: decode from the beginning and skip

    def __iter__(self) -> Iterator[Frame]:
        self._seek()
        quarter_turns = self.info.rotation // 90
        width, height = self.size if quarter_turns % 2 == 0 else self.size[::-1]
        time_base = self.info.time_base
        try:
            for frame in self._container.decode(self._stream):
                if frame.pts is None or (self.after_pts is not None and frame.pts <= self.after_pts):
                    continue
                time = float((frame.pts - self.info.start_pts) * time_base)
                if time < self.start - 1e-6:
                    continue
                if time >= self.end - 1e-6:
                    break
                image = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
                if quarter_turns:
                    image = np.ascontiguousarray(np.rot90(image, quarter_turns))
                yield Frame(image, frame.pts, time)
        except av.error.FFmpegError:
            self.truncated = True


def _reason(exc: av.error.FFmpegError) -> str:
    """The useful part of an FFmpeg error, on one line."""
    text = exc.strerror or str(exc)
    return " ".join(text.split())
