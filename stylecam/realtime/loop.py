"""The threaded live loop: capture → inference → outputs, each on its own thread, joined by latest-frame-wins slots.

    capture thread     source.read() at the source's pace, resize to the processing size   ─┐ slot
    inference thread   process(frame): the style network and the effects                   ─┤ slot
    output thread      upscale to the source size, hand the frame to every output          ─┘

The stages overlap (the next frame is captured while this one is stylized and the previous one sent), and a
stage that is busy never makes a queue: a newer frame replaces one that was not taken yet (counted as dropped),
so latency stays at about one capture-to-output pass instead of growing. Outputs must not block for long; slow
ones (encoding, devices) run their own threads behind their own latest-frame or short queues.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import cv2
import numpy as np

from stylecam.realtime.sources import Source
from stylecam.realtime.stats import LiveStats

T = TypeVar("T")
JOIN_TIMEOUT_S = 5.0


class LatestSlot(Generic[T]):
    """A one-item hand-over between threads where the newest item wins."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False

    def put(self, item: T) -> bool:
        """Offer an item; True when it replaced one that nobody took (a dropped frame)."""
        with self._cond:
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
            return replaced

    def get(self, timeout: float | None = None) -> T | None:
        """Take the newest item, waiting up to ``timeout``; None on timeout or once closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake every waiter; later ``get`` calls return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass
class Captured:
    """A frame from the source at the processing size, and when it arrived."""

    index: int
    time: float
    small: np.ndarray


@dataclass
class Stylized:
    """A processed frame on its way to the outputs."""

    captured: Captured
    image: np.ndarray
    style_index: int
    inference_s: float


class Output(Protocol):
    """Something that takes finished frames (at the source's size, RGB uint8)."""

    def send(self, frame: np.ndarray, item: Stylized) -> None:
        """Take one frame; must return quickly."""
        ...

    def close(self) -> None:
        """Release resources (after the loop has stopped)."""
        ...


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB frame at ``size`` (width, height): area-averaged down, bilinear up, unchanged if equal."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    shrink = size[0] * size[1] < image.shape[0] * image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class LiveLoop:
    """Runs the three stages until ``stop`` (or ``max_frames`` shown frames, or an error in a stage).

    ``process(frame)`` returns (stylized frame at the processing size, style index). ``stop_event`` (set when the
    loop stops) may be shared with the source, to cut a reconnection short. After :meth:`join`, ``error`` holds
    the first exception a stage raised (None if it stopped normally) and ``reason`` says why it stopped: quit,
    max-frames, interrupted, error.
    """

    def __init__(self, source: Source, process: Callable[[np.ndarray], tuple[np.ndarray, int]],
                 processing_size: tuple[int, int], outputs: Sequence[Output] = (), stats: LiveStats | None = None,
                 max_frames: int | None = None, stop_event: threading.Event | None = None) -> None:
        self.source = source
        self.process = process
        self.processing_size = processing_size
        self.display_size = source.size
        self.outputs = list(outputs)
        self.stats = stats or LiveStats()
        self.max_frames = max_frames
        self.error: BaseException | None = None
        self.reason = ""
        self.last_frame: Stylized | None = None
        self.last_output: np.ndarray | None = None
        self.finished = threading.Event()
        self._stopping = stop_event or threading.Event()
        self._captured: LatestSlot[Captured] = LatestSlot()
        self._stylized: LatestSlot[Stylized] = LatestSlot()
        self._threads = [
            threading.Thread(target=self._guard, args=(self._capture,), name="stylecam-capture", daemon=True),
            threading.Thread(target=self._guard, args=(self._infer,), name="stylecam-inference", daemon=True),
            threading.Thread(target=self._guard, args=(self._output,), name="stylecam-output", daemon=True),
        ]
        self._alive = 0
        self.started = False
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------------------------- control

    def start(self) -> None:
        decode_at = getattr(self.source, "decode_at", None)
        if decode_at is not None:  # a file: let its decoder scale straight to the processing size
            decode_at(self.processing_size)
        self.started = True
        self._alive = len(self._threads)
        for thread in self._threads:
            thread.start()

    def stop(self, reason: str = "quit") -> None:
        """Ask every stage to finish (returns at once; see :meth:`join`)."""
        with self._lock:
            if not self.reason:
                self.reason = reason
        self._stopping.set()
        self._captured.close()
        self._stylized.close()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait_stopping(self, timeout: float) -> bool:
        """Wait until the loop is asked to stop (True) or ``timeout`` passes (False)."""
        return self._stopping.wait(timeout)

    def join(self, timeout: float = JOIN_TIMEOUT_S) -> None:
        """Wait for the stages to end (a source stuck in a blocking read is left behind, as a daemon thread)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))

    def _guard(self, stage: Callable[[], None]) -> None:
        try:
            stage()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which re-raises it
            with self._lock:
                if self.error is None:
                    self.error = exc
            self.stop("error")
        finally:
            with self._lock:
                self._alive -= 1
                last = self._alive == 0
            if last:
                self.finished.set()
            else:
                self.stop(self.reason or "error")

    # ----------------------------------------------------------------------------------------------- stages

    def _capture(self) -> None:
        index = 0
        try:
            while not self._stopping.is_set():
                image = self.source.read()
                now = time.monotonic()
                if self._stopping.is_set():
                    break
                small = resize(image, self.processing_size)
                replaced = self._captured.put(Captured(index, now, small))
                self.stats.captured_frame(replaced)
                index += 1
        finally:
            self.source.close()

    def _infer(self) -> None:
        while not self._stopping.is_set():
            item = self._captured.get(timeout=0.2)
            if item is None:
                continue
            started = time.monotonic()
            image, style = self.process(item.small)
            elapsed = time.monotonic() - started
            if self._stylized.put(Stylized(item, image, style, elapsed)):
                self.stats.output_replaced()

    def _output(self) -> None:
        while not self._stopping.is_set():
            item = self._stylized.get(timeout=0.2)
            if item is None:
                continue
            frame = resize(item.image, self.display_size)
            for output in self.outputs:
                output.send(frame, item)
            self.last_frame, self.last_output = item, frame
            self.stats.shown_frame(item.captured.time, item.inference_s)
            if self.max_frames is not None and self.stats.shown >= self.max_frames:
                self.stop("max-frames")
