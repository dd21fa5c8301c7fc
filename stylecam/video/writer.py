"""Writing the stylized video with PyAV: H.264 in yuv420p (plays everywhere), source timestamps, the input's
audio, all into a hidden temporary file that is renamed over the output only once it is complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.bitstream import BitStreamFilterContext

from stylecam.errors import OutputError
from stylecam.log import notice
from stylecam.video.audio import PLAYABLE_COPY, AudioMuxer
from stylecam.video.reader import VideoInfo, open_input

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


def claim_temporary(target: Path) -> int:
    """Take the temporary name of ``target`` for this run: a file descriptor holding an exclusive lock on it
    (close it when done). A file left there by a run that was killed is emptied and reused, with a notice;
    OutputError when a running render holds it."""
    temporary = temporary_path(target)
    try:
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot write {temporary}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputError(f"{target} is being written by another stylevideo run ({temporary.name})") from None
    if os.fstat(fd).st_size:
        notice(f"removed {temporary.name}: an unfinished output left by an earlier run that was killed")
        os.ftruncate(fd, 0)
    return fd


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
        self.offset_pts = offset_pts
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

    def _advance(self, pts: int) -> None:
        """Count a frame shown from output timestamp ``pts`` (frames in display order)."""
        if self.frames:
            self._last_step = max(1, pts - self._previous_pts)
        self._previous_pts = pts
        self.end_pts = pts + self._last_step
        self.frames += 1

    def write(self, image: np.ndarray, pts: int) -> None:
        """Encode one RGB uint8 frame shown from source timestamp ``pts``."""
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = pts - self.offset_pts
        frame.time_base = self._time_base
        self._advance(frame.pts)
        self._mux(self._stream.encode(frame))
        if self.audio is not None:
            self.audio.mux_until(float(frame.pts * self._time_base))

    def copy_video(self, partial: Path) -> None:
        """Begin with the video of ``partial`` (an interrupted output of the same render, same encoder settings):
        its packets muxed as they are, no re-encoding, the audio alongside. OutputError when its encoding does
        not match this writer's (another x264 build, say), since the two could not be joined."""
        self._container.start_encoding()
        with open_input(partial) as source:
            stream = source.streams.video[0]
            if parameter_sets(stream.codec_context.extradata) != parameter_sets(self._stream.codec_context.extradata):
                raise OutputError(f"{partial} was encoded with other H.264 parameters than this run's; "
                                  "it cannot be continued (run without --resume)")
            # The encoder's packets are Annex B, which the muxer converts: the stored ones must match them.
            annex_b = BitStreamFilterContext("h264_mp4toannexb", in_stream=stream)
            times = []
            for stored in source.demux(stream):
                if stored.size == 0 or stored.pts is None:
                    continue
                times.append(round(stored.pts * stored.time_base / self._time_base))
                for packet in annex_b.filter(stored):
                    packet.stream = self._stream
                    self._mux([packet])
                if self.audio is not None:
                    self.audio.mux_until(float(max(times) * self._time_base))
        for pts in sorted(times):
            self._advance(pts)

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


def parameter_sets(extradata: bytes | None) -> list[bytes]:
    """The H.264 SPS and PPS NAL units in a stream's extradata, whether in MP4's avcC form or Annex B."""
    data = extradata or b""
    if data[:1] == b"\x01":  # avcC: version, profile, compat, level, length size, n SPS, (len, SPS)…, n PPS, …
        units, at = [], 5
        for _ in range(2):
            count, at = data[at] & 0x1F if not units else data[at], at + 1
            for _ in range(count):
                length = int.from_bytes(data[at : at + 2], "big")
                units.append(data[at + 2 : at + 2 + length])
                at += 2 + length
        return units
    return [unit.strip(b"\x00") for unit in data.split(b"\x00\x00\x01") if unit.strip(b"\x00")]


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

