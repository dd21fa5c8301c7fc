"""Recording the stylized feed to a video file with :mod:`stylecam.video.writer` (H.264, yuv420p).

Frames keep their real capture times (millisecond time base), so a recording plays at the speed it happened even
when the loop's frame rate varies. Encoding runs on its own thread behind a bounded queue of QUEUE_BYTES of
frames (7 s of 854×480 at 60 fps), so a recording keeps every frame it is handed through a busy machine's slow
spells; only an encoder that falls that far behind drops frames (counted, and reported in the summary) rather
than delay the live outputs or grow without bound. The file is written under a hidden temporary name and renamed
when it is finalised — by ``stop``, on quit, on Ctrl-C, and when the source is lost — so a recording that exists
is always complete and playable.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from stylecam.errors import OutputError
from stylecam.log import notice

QUEUE_BYTES = 512 << 20
LIVE_PRESET = "veryfast"
LIVE_CRF = 20
TIME_BASE = Fraction(1, 1000)


@dataclass(frozen=True)
class LiveClock:
    """What :class:`~stylecam.video.writer.VideoWriter` reads from a ``VideoInfo`` when it writes no audio: the
    time base of the timestamps and the nominal frame rate (a live feed has no input file to describe)."""

    time_base: Fraction
    frame_rate: Fraction


def numbered(path: Path, n: int) -> Path:
    """``out.mp4`` → ``out-2.mp4`` for n = 2 (n = 1 is the path itself)."""
    return path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")


def check_target(path: Path) -> None:
    """OutputError now if the recording could not be written (extension, folder)."""
    from stylecam.video.writer import check_output

    check_output(path)


def queue_frames(size: tuple[int, int], queue_bytes: int) -> int:
    """How many RGB uint8 frames of ``size`` fit in ``queue_bytes`` (at least 1)."""
    return max(1, queue_bytes // (size[0] * size[1] * 3))


class Recording:
    """One recording in progress: ``add`` frames (any thread), then ``finish`` (or ``abort``)."""

    def __init__(self, target: Path, size: tuple[int, int], fps: float, queue_bytes: int = QUEUE_BYTES) -> None:
        from stylecam.video.writer import (
            EncodeSettings,
            VideoWriter,
            check_output,
            temporary_path,
        )

        check_output(target)
        self.target = target
        self.size = size
        self.frames = 0
        self.dropped = 0
        self._temporary = temporary_path(target)
        clock = LiveClock(TIME_BASE, Fraction(max(1, round(fps))))
        self._writer = VideoWriter(self._temporary, clock, size, 0,  # type: ignore[arg-type]
                                   EncodeSettings(LIVE_CRF, LIVE_PRESET), audio=False)
        self._queue: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(queue_frames(size, queue_bytes))
        self._start: float | None = None
        self._last_pts = -1
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._encode, name="stylecam-recorder", daemon=True)
        self._thread.start()

    def add(self, frame: np.ndarray, captured_at: float) -> None:
        """Queue a frame (RGB uint8 at ``size``) captured at monotonic time ``captured_at``."""
        if self.error is not None:
            return
        try:
            self._queue.put_nowait((frame, captured_at))
        except queue.Full:
            self.dropped += 1

    def _encode(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None:
                continue
            frame, captured_at = item
            if self._start is None:
                self._start = captured_at
            pts = max(self._last_pts + 1, round((captured_at - self._start) / TIME_BASE))
            try:
                self._writer.write(frame, pts)
            except Exception as exc:  # noqa: BLE001 - disk full …: stop recording, keep the live outputs going
                self.error = exc
                notice(f"recording to {self.target} failed: {exc}")
                continue
            self._last_pts = pts
            self.frames += 1

    @property
    def seconds(self) -> float:
        return self._writer.duration

    def finish(self) -> Path | None:
        """Encode what is queued, finalise the file and rename it into place; None when nothing was written."""
        from stylecam.video.writer import commit, discard

        self._queue.put(None)
        self._thread.join()
        if self.error is not None or self.frames == 0:
            self._writer.abort()
            discard(self._temporary)
            if self.error is not None:
                raise OutputError(f"cannot write {self.target}: {self.error}") from None
            return None
        try:
            self._writer.close()
            commit(self._temporary, self.target)
        except BaseException:
            self._writer.abort()
            discard(self._temporary)
            raise
        return self.target

    def abort(self) -> None:
        """Stop without keeping anything."""
        from stylecam.video.writer import discard

        self._queue.put(None)
        self._thread.join()
        self._writer.abort()
        discard(self._temporary)


class Recorder:
    """Starts and stops recordings of the outputs' frames: the first to ``target``, later ones to numbered
    names beside it (``out-2.mp4`` …), never over an existing file."""

    def __init__(self, target: Path, size: tuple[int, int], fps: float) -> None:
        self.target = target
        self.size = size
        self.fps = fps
        self.current: Recording | None = None
        self.finished: list[dict[str, object]] = []
        self._count = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.current is not None

    def _next_path(self) -> Path:
        while True:
            self._count += 1
            path = numbered(self.target, self._count)
            if not path.exists() or self._count == 1:
                return path

    def start(self) -> Path:
        with self._lock:
            if self.current is None:
                self.current = Recording(self._next_path(), self.size, self.fps)
                notice(f"recording to {self.current.target}")
            return self.current.target

    def add(self, frame: np.ndarray, captured_at: float) -> None:
        recording = self.current
        if recording is not None:
            recording.add(frame, captured_at)

    def stop(self) -> Path | None:
        """Finish the recording in progress (if any); returns its file."""
        with self._lock:
            recording, self.current = self.current, None
        if recording is None:
            return None
        path = recording.finish()
        self.finished.append({"file": str(recording.target), "frames": recording.frames,
                              "seconds": round(recording.seconds, 3), "dropped": recording.dropped})
        if path is not None:
            dropped = f", {recording.dropped} dropped" if recording.dropped else ""
            notice(f"recorded {recording.frames} frames ({recording.seconds:.1f} s{dropped}) to {path}")
        return path

    def toggle(self) -> None:
        if self.active:
            self.stop()
        else:
            self.start()
