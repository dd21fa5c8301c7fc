"""The preview window, in Tk (Python's standard toolkit: no extra package, and opencv-python-headless, which
stylecam depends on, has no window support).

Tk runs on the main thread (macOS requires it): :meth:`TkWindow.pump` shows the newest frame and handles events,
and the session calls it in its main loop. Keys go through :func:`stylecam.realtime.keys.key_from_tk`; closing the
window quits. Frames larger than 90 % of the screen are shown scaled down.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import numpy as np

from stylecam.errors import UsageError
from stylecam.realtime.keys import key_from_tk

NO_DISPLAY = ("no display to open a window on{why}: run stylecam in a desktop session, or use --no-window with "
              "--virtual-cam, --serve or --record")


def display_problem() -> str | None:
    """Why a window cannot open here (None when it probably can): no X/Wayland display on Linux and BSDs."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return NO_DISPLAY.format(why=" ($DISPLAY is not set)")
    return None


def ppm(frame: np.ndarray) -> bytes:
    """An RGB uint8 frame as binary PPM (what Tk's PhotoImage reads fastest without Pillow)."""
    height, width = frame.shape[:2]
    return b"P6 %d %d 255\n" % (width, height) + np.ascontiguousarray(frame).tobytes()


class TkWindow:
    """A window showing frames, reporting keys to ``on_key`` and its closing to ``on_close``."""

    def __init__(self, title: str, size: tuple[int, int], on_key: Callable[[str], None],
                 on_close: Callable[[], None]) -> None:
        problem = display_problem()
        if problem:
            raise UsageError(problem)
        try:
            import tkinter as tk
        except ImportError:
            raise UsageError("this Python has no Tk (tkinter) for the window: install it (Debian/Ubuntu: "
                             "sudo apt install python3-tk), or use --no-window") from None
        try:
            self.root = tk.Tk(className="stylecam")
        except tk.TclError as exc:
            raise UsageError(NO_DISPLAY.format(why=f" ({exc})")) from None
        self._tk = tk
        self.root.title(title)
        self.root.configure(background="black")
        screen = (self.root.winfo_screenwidth(), self.root.winfo_screenheight())
        scale = min(1.0, 0.9 * screen[0] / size[0], 0.9 * screen[1] / size[1])
        self.size = (max(2, round(size[0] * scale)), max(2, round(size[1] * scale)))
        self.photo = tk.PhotoImage(width=self.size[0], height=self.size[1])
        self.label = tk.Label(self.root, image=self.photo, borderwidth=0, highlightthickness=0, background="black")
        self.label.pack()
        self.root.resizable(False, False)
        self.root.bind("<KeyPress>", lambda event: on_key(key_from_tk(event.keysym, event.char)))
        self.root.protocol("WM_DELETE_WINDOW", on_close)
        self.closed = False
        self.shown = 0
        self.root.update()

    def show(self, frame: np.ndarray) -> None:
        """Display a frame (scaled to the window if needed)."""
        if (frame.shape[1], frame.shape[0]) != self.size:
            import cv2

            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self.photo.configure(data=ppm(frame), format="PPM")
        self.shown += 1

    def pump(self) -> None:
        """Handle pending window events (keys, closing, redraws)."""
        if not self.closed:
            try:
                self.root.update()
            except self._tk.TclError:  # the window was destroyed under us
                self.closed = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.root.destroy()
            except self._tk.TclError:
                pass
