"""Where live frames come from: a camera, a video file (looped), a network stream (RTSP/HTTP/…) or a generated
test pattern — all behind one small interface, with reconnection for sources that can go away.

A :class:`Source` delivers upright RGB uint8 frames of a fixed ``size`` (width, height) at its own pace:
cameras and live streams at the rate they produce, files and the test pattern paced to their frame rate (or
``--fps``) as a camera would be. ``read`` blocks until the next frame and raises :class:`SourceError` when the
source stops delivering; :class:`Reconnecting` retries, then gives up with :class:`SourceLost`.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from stylecam.errors import InputError, StylecamError, UsageError
from stylecam.imaging.sizes import parse_size
from stylecam.log import notice

EXIT_IO = 74
CAMERA_INDICES = tuple(range(4))
"""Indices tried, in order, when no ``--source`` is given."""
DEFAULT_TEST_SIZE = (640, 360)
DEFAULT_TEST_FPS = 30.0
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp", "mms", "hls")
STREAM_TIMEOUT_S = 10.0
RETRIES = 5
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 2.0, 4.0)


class SourceError(StylecamError):
    """A source stopped delivering frames (it may come back)."""

    exit_code = EXIT_IO


class SourceLost(StylecamError):
    """A source stopped delivering frames and did not come back."""

    exit_code = EXIT_IO


class Source(Protocol):
    """A stream of RGB uint8 frames of a fixed size."""

    label: str
    size: tuple[int, int]
    fps: float

    def read(self) -> np.ndarray:
        """The next frame (blocks until it is due); SourceError when the source stopped delivering."""
        ...

    def close(self) -> None:
        """Release the device, file or connection."""
        ...


class Pacer:
    """Sleeps so that successive ``wait`` calls return ``fps`` times a second; never catches up a backlog."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._next: float | None = None

    def wait(self) -> None:
        now = time.monotonic()
        if self._next is None or now - self._next > self.period:
            self._next = now  # first frame, or fell behind by more than a frame: start again from now
        elif self._next > now:
            time.sleep(self._next - now)
        self._next += self.period


def _even(size: tuple[int, int]) -> tuple[int, int]:
    return max(2, size[0] // 2 * 2), max(2, size[1] // 2 * 2)


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame at ``size`` (sources keep one size even if the device changes it mid-stream)."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    import cv2

    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


# ------------------------------------------------------------------------------------------------- test pattern


class TestPatternSource:
    """A generated moving pattern: a panning colour field with a grid, a bouncing disc and a frame counter.

    Cheap (well under a millisecond per 640×360 frame) and deterministic: frame ``i`` is always the same picture.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, size: tuple[int, int] = DEFAULT_TEST_SIZE, fps: float = DEFAULT_TEST_FPS) -> None:
        import cv2

        self.size = _even(size)
        self.fps = fps
        self.label = f"test pattern {self.size[0]}x{self.size[1]}"
        self.index = 0
        self._pacer = Pacer(fps)
        width, height = self.size
        self._margin = max(width, height) // 2
        big_w, big_h = width + 2 * self._margin, height + 2 * self._margin
        ys, xs = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
        hsv = np.empty((big_h, big_w, 3), np.uint8)
        hsv[..., 0] = ((xs + ys) * 180 / (big_w + big_h) * 2 % 180).astype(np.uint8)
        hsv[..., 1] = (150 + 80 * np.sin(xs / 37.0) * np.cos(ys / 23.0)).clip(0, 255).astype(np.uint8)
        hsv[..., 2] = (170 + 70 * np.sin((xs - ys) / 19.0)).clip(0, 255).astype(np.uint8)
        canvas = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        step = max(16, min(width, height) // 8)
        canvas[::step, :] = 250
        canvas[:, ::step] = 250
        for i in range(0, big_w, step * 3):  # some solid blocks for the flow to track
            cv2.rectangle(canvas, (i, (i * 7) % big_h), (i + step, (i * 7) % big_h + step), (20, 20, 60), -1)
        self._canvas = canvas

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` of the pattern."""
        import cv2

        width, height = self.size
        t = index / self.fps
        m = self._margin
        dx = int(m + m * 0.8 * math.sin(t * 0.7))
        dy = int(m + m * 0.6 * math.sin(t * 0.5 + 1.0))
        image = self._canvas[dy:dy + height, dx:dx + width].copy()
        radius = max(6, min(width, height) // 7)
        cx = int(radius + (width - 2 * radius) * (0.5 + 0.5 * math.sin(t * 1.3)))
        cy = int(radius + (height - 2 * radius) * abs(math.sin(t * 2.1)))
        cv2.circle(image, (cx, cy), radius, (240, 60, 40), -1, cv2.LINE_AA)
        cv2.circle(image, (cx, cy), radius // 2, (250, 240, 90), -1, cv2.LINE_AA)
        scale = max(0.4, width / 640)
        cv2.putText(image, f"stylecam {index:06d}", (8, height - 10), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
        return image

    def read(self) -> np.ndarray:
        self._pacer.wait()
        image = self.frame(self.index)
        self.index += 1
        return image

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------------- files


class VideoFileSource:
    """A video file, decoded with PyAV (:mod:`stylecam.video.reader`: upright, square pixels), looped forever and
    paced to its frame rate (or ``fps``).

    ``size`` is the file's display size. :meth:`decode_at` makes it deliver frames at another size straight from
    the decoder's scaler (one pass, instead of scaling to the display size and again to the processing size).
    """

    def __init__(self, path: Path, fps: float | None = None) -> None:
        from stylecam.video.reader import probe, processing_size

        self.path = path
        self.info = probe(path)
        self.size = processing_size(self.info, None)
        self.fps = float(fps or self.info.frame_rate or 30)
        self.label = path.name
        self.loops = 0
        self._decode_size = self.size
        self._pacer = Pacer(self.fps)
        self._reader: Any = None
        self._frames = self._decode()

    def decode_at(self, size: tuple[int, int]) -> None:
        """Deliver frames at ``size`` (width, height): at once if no frame was read yet, else from the next loop."""
        self._decode_size = size

    def _decode(self) -> Iterator[np.ndarray]:
        from stylecam.video.reader import VideoReader

        while True:
            decoded = 0
            self._reader = VideoReader(self.info, self._decode_size)
            try:
                for frame in self._reader:
                    decoded += 1
                    yield frame.image
            finally:
                self._reader.close()
            if decoded == 0:
                raise SourceError(f"{self.path}: no frame could be decoded")
            self.loops += 1

    def read(self) -> np.ndarray:
        image = next(self._frames)
        self._pacer.wait()
        return image

    def close(self) -> None:
        self._frames.close()


# -------------------------------------------------------------------------------------------------- streams


def _ffmpeg_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


class StreamSource:
    """A network stream (RTSP, RTMP, HTTP MJPEG or video, HLS, …) decoded with PyAV. Frames come at the stream's
    pace; a stream that runs ahead of real time (a file over HTTP) is paced by its timestamps."""

    def __init__(self, url: str, timeout: float = STREAM_TIMEOUT_S) -> None:
        import av

        self.url = url
        self.label = url
        options = {"rtsp_transport": "tcp"} if url.lower().startswith("rtsp") else {}
        try:
            self._container = av.open(url, options=options, timeout=(timeout, timeout))
        except (av.error.FFmpegError, OSError) as exc:
            raise InputError(f"cannot open {url}: {_ffmpeg_reason(exc)}") from None
        streams = list(self._container.streams.video)
        if not streams:
            self._container.close()
            raise InputError(f"{url}: the stream holds no video")
        self._stream = streams[0]
        self._stream.thread_type = "AUTO"
        self._time_base = self._stream.time_base
        self._decoder = self._container.decode(self._stream)
        self._anchor: tuple[float, float] | None = None
        try:
            first = self._next_frame()
        except SourceError as exc:
            self._container.close()
            raise InputError(f"cannot read {url}: {exc}") from None
        self.size = _even((first.shape[1], first.shape[0]))
        self._first: np.ndarray | None = _fit(first, self.size)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else 30.0

    def _next_frame(self) -> np.ndarray:
        import av

        try:
            frame = next(self._decoder)
        except StopIteration:
            raise SourceError("the stream ended") from None
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(f"the stream failed ({_ffmpeg_reason(exc)})") from None
        if frame.pts is not None and self._time_base:
            self._pace(float(frame.pts * self._time_base))
        return frame.to_ndarray(format="rgb24")

    def _pace(self, stamp: float) -> None:
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = (now, stamp)
            return
        due = self._anchor[0] + (stamp - self._anchor[1])
        if due - now > 1.0 or now - due > 1.0:  # a jump in timestamps, or far behind: re-anchor
            self._anchor = (now, stamp)
        elif due > now:
            time.sleep(due - now)

    def read(self) -> np.ndarray:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return _fit(self._next_frame(), self.size)

    def close(self) -> None:
        import av

        try:
            self._container.close()
        except (av.error.FFmpegError, OSError):
            pass


# -------------------------------------------------------------------------------------------------- cameras


def _quiet_opencv() -> None:
    """OpenCV prints a warning for every camera index it cannot open; our own errors say it better."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover - builds without the logging module
        pass


def video_devices() -> list[str]:
    """The /dev/video* device nodes (Linux), for messages."""
    folder = Path("/dev")
    if not sys.platform.startswith("linux") or not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.glob("video*"))


class CameraSource:
    """A camera through OpenCV's video I/O (V4L2 on Linux, Media Foundation/DirectShow on Windows, AVFoundation
    on macOS), by index or device path. ``size`` and ``fps`` are requests the camera may round."""

    def __init__(self, device: int | str, size: tuple[int, int] | None = None, fps: float | None = None) -> None:
        import cv2

        _quiet_opencv()
        self.device = device
        self.label = f"camera {device}"
        capture = cv2.VideoCapture(device)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"camera {device} cannot be opened")
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # hand over the newest frame, not a backlog
        if size:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps:
            capture.set(cv2.CAP_PROP_FPS, fps)
        ok, frame = capture.read()
        if not ok or frame is None:
            capture.release()
            raise SourceError(f"camera {device} opened but delivers no frames (in use by another program?)")
        self._capture = capture
        self.size = _even((frame.shape[1], frame.shape[0]))
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or fps or 30.0)
        self._first: np.ndarray | None = _fit(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.size)

    def read(self) -> np.ndarray:
        import cv2

        if self._first is not None:
            first, self._first = self._first, None
            return first
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise SourceError(f"camera {self.device} stopped delivering frames")
        return _fit(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.size)

    def close(self) -> None:
        self._capture.release()


def find_camera(indices: tuple[int, ...] = CAMERA_INDICES, size: tuple[int, int] | None = None,
                fps: float | None = None, opener: Callable[..., Source] = CameraSource) -> Source:
    """The first camera among ``indices`` that delivers a frame; InputError naming what was tried otherwise."""
    for index in indices:
        try:
            return opener(index, size, fps)
        except SourceError:
            continue
    devices = video_devices()
    found = f"device nodes: {' '.join(devices)}" if devices else "no /dev/video* devices" \
        if sys.platform.startswith("linux") else "none answered"
    tried = ", ".join(str(i) for i in indices)
    raise InputError(f"no camera found (tried indices {tried}; {found}): plug one in, pick another with "
                     "--source N or --source /dev/videoN, or use --source test, a video file or a URL")


# ----------------------------------------------------------------------------------------------- reconnection


class Reconnecting:
    """Wraps a source that can disappear (camera unplugged, stream dropped): on a read failure it reopens the
    source up to ``retries`` times, waiting ``delays`` between tries, with a notice each time; then SourceLost.

    ``stop`` (an Event) cuts the waiting short when the loop shuts down.
    """

    def __init__(self, source: Source, reopen: Callable[[], Source], retries: int = RETRIES,
                 delays: tuple[float, ...] = RETRY_DELAYS_S, stop: threading.Event | None = None) -> None:
        self.source = source
        self.reopen = reopen
        self.retries = retries
        self.delays = delays or (0.0,)
        self.stop = stop or threading.Event()
        self.reconnects = 0
        self.size = source.size  # kept when a reconnected device comes back at another size

    @property
    def label(self) -> str:
        return self.source.label

    @property
    def fps(self) -> float:
        return self.source.fps

    def read(self) -> np.ndarray:
        try:
            return self.source.read()
        except SourceError as exc:
            failure: StylecamError = exc
        label = self.source.label
        self.source.close()
        for attempt in range(1, self.retries + 1):
            notice(f"{label}: {failure}; reconnecting ({attempt}/{self.retries})")
            if self.stop.wait(self.delays[min(attempt - 1, len(self.delays) - 1)]):
                break
            try:
                source = self.reopen()
            except (SourceError, InputError) as exc:
                failure = exc
                continue
            try:
                frame = source.read()
            except SourceError as exc:
                source.close()
                failure = exc
                continue
            self.source = source
            self.reconnects += 1
            notice(f"{label}: reconnected")
            return _fit(frame, self.size)
        raise SourceLost(f"{label} stopped delivering frames ({failure}) and did not come back "
                         f"after {self.retries} tries")

    def close(self) -> None:
        self.source.close()


# ------------------------------------------------------------------------------------------------- choosing


@dataclass(frozen=True)
class SourceSpec:
    """What ``--source`` names: ``kind`` camera, file, url or test."""

    kind: str
    value: Any = None


def parse_source(text: str | None) -> SourceSpec:
    """Interpret ``--source``: None (default camera), an index, /dev/videoN, ``test[:WxH]``, a URL or a file."""
    if text is None:
        return SourceSpec("camera", None)
    stripped = text.strip()
    if stripped.isdigit():
        return SourceSpec("camera", int(stripped))
    if stripped == "test" or stripped.startswith("test:"):
        size = parse_size(stripped[5:], "--source test:") if stripped.startswith("test:") else DEFAULT_TEST_SIZE
        return SourceSpec("test", size)
    scheme, sep, _ = stripped.partition("://")
    if sep:
        if scheme.lower() == "file":
            return SourceSpec("file", Path(stripped[7:]))
        if scheme.lower() not in URL_SCHEMES:
            raise UsageError(f"--source {text}: unsupported URL scheme '{scheme}' "
                             f"(use one of {', '.join(URL_SCHEMES)})")
        return SourceSpec("url", stripped)
    if stripped.startswith("/dev/video"):
        return SourceSpec("camera", stripped)
    return SourceSpec("file", Path(stripped).expanduser())


def open_source(spec: SourceSpec, *, fps: float | None = None, camera_size: tuple[int, int] | None = None,
                retries: int = RETRIES, delays: tuple[float, ...] = RETRY_DELAYS_S,
                stop: threading.Event | None = None) -> Source:
    """Open what ``spec`` names; problems at this point are one-line InputErrors (no retrying)."""
    if spec.kind == "test":
        return TestPatternSource(spec.value, fps or DEFAULT_TEST_FPS)
    if spec.kind == "file":
        path = Path(spec.value)
        if not path.exists():
            raise InputError(f"--source {path}: no such file (a camera is a number, e.g. --source 0; "
                             "a stream a URL such as rtsp://…)")
        return VideoFileSource(path, fps)
    if spec.kind == "url":
        url = str(spec.value)
        source: Source = StreamSource(url)
        return Reconnecting(source, lambda: StreamSource(url), retries, delays, stop)
    if spec.value is None:
        camera = find_camera(CAMERA_INDICES, camera_size, fps)
    else:
        try:
            camera = CameraSource(spec.value, camera_size, fps)
        except SourceError as exc:
            devices = video_devices()
            found = f"; device nodes here: {' '.join(devices)}" if devices else \
                "; no /dev/video* devices here" if sys.platform.startswith("linux") else ""
            raise InputError(f"{exc} (tried {spec.value}{found}): pick another with --source N, or use "
                             "--source test, a video file or a URL") from None
    device = camera.device if isinstance(camera, CameraSource) else spec.value
    return Reconnecting(camera, lambda: CameraSource(device, camera_size, fps), retries, delays, stop)

