"""A live session: the loop, the styles and effects, the outputs, the hot keys — and a clean shutdown.

The main thread runs the window (or just waits) while the loop's threads work. Whatever ends the session — q or
Esc, closing the window, ``--max-frames``, Ctrl-C, a lost source — the loop is stopped, the recording is
finalised (with Ctrl-C ignored for that moment, so it is always playable), the devices and the server are
released, and the statistics are collected. Then Ctrl-C and errors propagate.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from stylecam.imaging.sizes import scaled_size
from stylecam.log import notice
from stylecam.realtime.effects import add_change, keep_colors, mix, shrink
from stylecam.realtime.keys import HELP, KeyHandler
from stylecam.realtime.loop import LiveLoop, Output
from stylecam.realtime.mjpeg import MjpegServer
from stylecam.realtime.outputs import (
    MjpegOutput,
    RecorderOutput,
    VirtualCamOutput,
    WindowOutput,
)
from stylecam.realtime.recorder import Recorder
from stylecam.realtime.smoothing import LiveSmoother
from stylecam.realtime.sources import Source
from stylecam.realtime.stats import LiveStats
from stylecam.realtime.styles import StyleBank
from stylecam.realtime.virtualcam import VirtualCamera

MESSAGE_S = 2.5


@dataclass
class SessionOptions:
    """How the session runs (the command line's choices)."""

    processing_size: tuple[int, int]
    strength: float = 1.0
    net_scale: float = 1.0  # < 1: the network sees the frame shrunk by this (see effects.add_change)
    preserve_color: bool = False
    smoothing: bool = False
    overlay: bool = True
    max_frames: int | None = None
    warmup: int = 0
    snapshot_dir: Path = field(default_factory=Path)
    record: Path | None = None
    title: str = "stylecam"
    terminal_keys: bool = False


def default_processing_size(source_size: tuple[int, int], long_side: int = 640) -> tuple[int, int]:
    """The source size scaled so its long side is at most ``long_side``, sides multiples of 8 (the fast tier's
    stride) — e.g. 1280×720 → 640×360, 640×480 → 640×480."""
    return scaled_size(source_size, min(1.0, long_side / max(source_size)))


def timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


class LiveSession:
    """Everything one ``stylecam`` run needs; ``run`` blocks until it ends and returns the statistics.

    ``window_factory(title, size, on_key, on_close)`` makes the window (None: no window); ``virtual_camera``
    and ``server`` are outputs already opened by the caller (the session closes them).
    """

    def __init__(self, source: Source, styles: StyleBank, options: SessionOptions, *,
                 window_factory: Callable[..., Any] | None = None, server: MjpegServer | None = None,
                 virtual_camera: VirtualCamera | None = None, stop_event: threading.Event | None = None) -> None:
        self.source = source
        self.styles = styles
        self.options = options
        self.strength = options.strength
        self.preserve_color = options.preserve_color
        self.smoothing = options.smoothing
        self.overlay = options.overlay
        self.stats = LiveStats(options.warmup)
        self.smoother = LiveSmoother()
        self.keys = KeyHandler(self)
        self.summary: dict[str, Any] | None = None
        self._message = ""
        self._message_until = 0.0
        self._last_style = styles.index
        self._snapshots = 0
        self._window_interrupted = False
        self.server = server
        if server is not None:
            server.stats = self._summary
        self.virtual_camera = virtual_camera
        fps = source.fps or 30.0
        record_target = options.record or options.snapshot_dir / f"stylecam-{timestamp()}.mp4"
        self.recorder = Recorder(record_target, source.size, fps)
        outputs: list[Output] = [RecorderOutput(self.recorder)]
        if virtual_camera is not None:
            outputs.append(VirtualCamOutput(virtual_camera))
        if server is not None:
            outputs.append(MjpegOutput(server))
        self.window_output: WindowOutput | None = None
        self.window: Any = None
        if window_factory is not None:
            self.window_output = WindowOutput(self.overlay_lines)
            outputs.append(self.window_output)
            self.window = window_factory(options.title, source.size, self.handle_key, self.quit)
            with contextlib.suppress(AttributeError):
                self.window.root.report_callback_exception = self._tk_callback_error
        self.loop = LiveLoop(source, self.process, options.processing_size, outputs, self.stats, options.max_frames,
                             stop_event)
        self._terminal: Any = None

    # ------------------------------------------------------------------------------------------- processing

    def process(self, frame: np.ndarray) -> tuple[np.ndarray, int]:
        """Style network, colour preservation, strength, smoothing — for one frame at the processing size."""
        if self.options.net_scale < 1.0:
            small = shrink(frame, self.options.net_scale)
            styled_small, index = self.styles.run(small, self.strength)
            styled = add_change(frame, small, styled_small)
        else:
            styled, index = self.styles.run(frame, self.strength)
        if index != self._last_style:
            self.smoother.reset()
            self._last_style = index
        if self.preserve_color:
            styled = keep_colors(styled, frame)
        if self.styles.kind == "johnson":
            styled = mix(styled, frame, self.strength)
        if self.smoothing:
            styled = self.smoother(frame, styled)
        else:
            self.smoother.reset()
        return styled, index

    # ---------------------------------------------------------------------------------------------- overlay

    def say(self, message: str) -> None:
        """Show a short message on the overlay (and on stderr when there is no window to show it)."""
        self._message = message
        self._message_until = time.monotonic() + MESSAGE_S
        if self.window is None:
            notice(message)

    def overlay_lines(self) -> tuple[list[str], str | None] | None:
        """The overlay's lines and highlighted message; None when it is hidden."""
        if not self.overlay:
            return None
        backend = self.styles.backend
        width, height = self.options.processing_size
        lines = [
            f"{self.styles.describe()} ({self.styles.index + 1}/{len(self.styles.entries)})  {backend.name} on "
            f"{backend.device}",
            f"{self.stats.live_fps():.1f} fps  latency {self.stats.live_latency_ms():.0f} ms  at {width}x{height}",
        ]
        flags = [f"strength {round(100 * self.strength)}%"]
        if self.preserve_color:
            flags.append("colour kept")
        if self.smoothing:
            flags.append("smoothing")
        recording = self.recorder.current
        if recording is not None:
            seconds = int(recording.seconds)
            flags.append(f"REC {seconds // 60:02d}:{seconds % 60:02d}")
        lines.append("  ".join(flags))
        message = self.styles.status or (self._message if time.monotonic() < self._message_until else "")
        return lines, message or None

    # --------------------------------------------------------------------------------------------- hot keys

    def handle_key(self, key: str) -> None:
        self.keys.handle(key)

    def next_style(self, step: int) -> None:
        self.styles.step(step)

    def select_style(self, index: int) -> None:
        if index < len(self.styles.entries):
            self.styles.select(index)
        else:
            self.say(f"no style {index + 1}: there are {len(self.styles.entries)}")

    def change_strength(self, delta: float) -> None:
        self.strength = round(min(1.0, max(0.0, self.strength + delta)), 2)
        self.say(f"strength {round(100 * self.strength)}%")

    def cycle_blend(self) -> None:
        self.say(self.styles.cycle_blend())

    def change_blend(self, delta: float) -> None:
        self.say(self.styles.change_blend(delta))

    def toggle_color(self) -> None:
        self.preserve_color = not self.preserve_color
        self.say("colour preservation " + ("on" if self.preserve_color else "off"))

    def toggle_smoothing(self) -> None:
        self.smoothing = not self.smoothing
        self.say("temporal smoothing " + ("on" if self.smoothing else "off"))

    def toggle_overlay(self) -> None:
        self.overlay = not self.overlay

    def quit(self) -> None:
        self.loop.stop("quit")

    def toggle_recording(self) -> None:
        try:
            if self.recorder.active:
                path = self.recorder.stop()
                self.say(f"saved {path.name}" if path else "recording stopped (no frames)")
            else:
                self.say(f"recording {self.recorder.start().name}")
        except Exception as exc:  # noqa: BLE001 - OutputError, encoder trouble: say so, keep going
            notice(f"recording failed: {exc}")
            self.say("recording failed")

    def snapshot(self) -> Path | None:
        """Save the newest output frame (without the overlay) as a PNG; returns its path."""
        frame = self.loop.last_output
        if frame is None:
            self.say("no frame yet")
            return None
        label = self.styles.current.label
        self._snapshots += 1
        path = self.options.snapshot_dir / f"stylecam-{label}-{timestamp()}-{self._snapshots}.png"

        def write() -> None:
            from stylecam.imaging.io import write_image

            try:
                write_image(path, frame)
            except Exception as exc:  # noqa: BLE001 - reported; the session goes on
                notice(f"snapshot failed: {exc}")
                self.say("snapshot failed")
                return
            notice(f"snapshot saved to {path}")
            self.say(f"saved {path.name}")

        threading.Thread(target=write, name="stylecam-snapshot", daemon=False).start()
        return path

    def _tk_callback_error(self, exc_type: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._window_interrupted = True
            return
        import traceback

        traceback.print_exception(exc_type, value, tb)

    # -------------------------------------------------------------------------------------------------- run

    def run(self) -> dict[str, Any]:
        """Run until the session ends; returns the statistics (also kept in ``summary``)."""
        from stylecam.realtime.terminal import TerminalKeys

        interrupted = False
        try:
            if self.options.record is not None:
                self.recorder.start()
            if self.options.terminal_keys and self.window is None:
                self._terminal = TerminalKeys(self.handle_key)
                if self._terminal.active:
                    notice(HELP)
            elif self.window is not None:
                notice(HELP)
            self.loop.start()
            self._main_loop()
        except KeyboardInterrupt:
            interrupted = True
            self.loop.stop("interrupted")
        finally:
            with _sigint_ignored():
                self._shutdown()
        if interrupted:
            raise KeyboardInterrupt
        if self.loop.error is not None:
            raise self.loop.error
        assert self.summary is not None
        return self.summary

    def _main_loop(self) -> None:
        window, window_output = self.window, self.window_output
        while not self.loop.stopping:
            if window is None or window_output is None:
                self.loop.wait_stopping(0.1)
                continue
            frame = window_output.take(0.01)
            if frame is not None:
                window.show(frame)
            window.pump()
            if self._window_interrupted:
                raise KeyboardInterrupt
            if window.closed:
                self.loop.stop("quit")

    def _shutdown(self) -> None:
        self.loop.stop(self.loop.reason or "quit")
        self.loop.join()
        if not self.loop.started:  # the capture thread closes the source; it never ran
            self.source.close()
        self.styles.wait_idle(5.0)
        errors: list[BaseException] = []
        for output in self.loop.outputs:
            try:
                output.close()
            except Exception as exc:  # noqa: BLE001 - close everything, then report the first problem
                errors.append(exc)
        if self.window is not None:
            self.window.close()
        if self._terminal is not None:
            self._terminal.close()
        self.summary = self._summary()
        if errors and self.loop.error is None:
            self.loop.error = errors[0]

    def _summary(self) -> dict[str, Any]:
        from stylecam.runtime.select import describe

        extra: dict[str, Any] = {
            "backend": describe(self.styles.backend),
            "backend_name": self.styles.backend.name,
            "device": self.styles.backend.device,
            "style": self.styles.current.label,
            "source": self.source.label,
            "source_size": list(self.source.size),
            "processing_size": list(self.options.processing_size),
            "net_scale": self.options.net_scale,
            "smoothing": self.smoothing,
            "preserve_color": self.preserve_color,
            "strength": self.strength,
            "stopped_by": self.loop.reason or "running",
            "recordings": self.recorder.finished,
        }
        if self.server is not None:
            extra["serve_url"] = self.server.url
        if self.virtual_camera is not None:
            extra["virtual_camera"] = self.virtual_camera.device
        return self.stats.summary(**extra)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM are ignored inside (finalising a recording must not be cut short); a no-op off the main
    thread."""
    try:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
