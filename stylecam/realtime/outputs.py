"""Adapters from the loop's output stage to each destination: the window (with the overlay), the MJPEG server,
the virtual camera and the recorder. Each ``send`` returns at once; slow work happens on the destination's own
thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import numpy as np

from stylecam.log import notice
from stylecam.realtime.loop import LatestSlot, Stylized
from stylecam.realtime.mjpeg import MjpegServer
from stylecam.realtime.overlay import draw_overlay
from stylecam.realtime.recorder import Recorder
from stylecam.realtime.virtualcam import VirtualCamera


class WindowOutput:
    """Frames for the window, with the overlay drawn on when ``overlay()`` returns lines; the main thread takes
    them with ``take`` (Tk lives there)."""

    def __init__(self, overlay: Callable[[], tuple[list[str], str | None] | None]) -> None:
        self.overlay = overlay
        self.slot: LatestSlot[np.ndarray] = LatestSlot()

    def send(self, frame: np.ndarray, item: Stylized) -> None:
        lines = self.overlay()
        self.slot.put(draw_overlay(frame, *lines) if lines is not None else frame)

    def take(self, timeout: float) -> np.ndarray | None:
        return self.slot.get(timeout)

    def close(self) -> None:
        self.slot.close()


class MjpegOutput:
    """Frames for the MJPEG server (which compresses them only while someone watches)."""

    def __init__(self, server: MjpegServer) -> None:
        self.server = server

    def send(self, frame: np.ndarray, item: Stylized) -> None:
        self.server.publish(frame)

    def close(self) -> None:
        self.server.close()


class VirtualCamOutput:
    """Frames for a virtual camera, sent from a thread of its own (newest frame wins)."""

    def __init__(self, camera: VirtualCamera) -> None:
        self.camera = camera
        self.sent = 0
        self.error: BaseException | None = None
        self._slot: LatestSlot[np.ndarray] = LatestSlot()
        self._thread = threading.Thread(target=self._run, name="stylecam-virtualcam", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            frame = self._slot.get()
            if frame is None:
                return
            try:
                self.camera.send(frame)
            except Exception as exc:  # noqa: BLE001 - the device went away: keep the other outputs going
                self.error = exc
                notice(f"virtual camera {self.camera.device} stopped taking frames ({exc}); carrying on without it")
                return
            self.sent += 1

    def send(self, frame: np.ndarray, item: Stylized) -> None:
        if self.error is None:
            self._slot.put(frame)

    def close(self) -> None:
        self._slot.close()
        self._thread.join(2.0)
        with contextlib.suppress(Exception):  # closing a device that may be gone
            self.camera.close()


class RecorderOutput:
    """Frames for the recorder, with their capture times (it records only while a recording is active)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def send(self, frame: np.ndarray, item: Stylized) -> None:
        self.recorder.add(frame, item.captured.time)

    def close(self) -> None:
        self.recorder.stop()
