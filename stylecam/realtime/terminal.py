"""Hot keys from the terminal when there is no window (``--no-window`` with a virtual camera or a stream).

Only when stdin is a terminal and stylecam runs in its foreground; the terminal is put in cbreak mode (keys
arrive one by one, Ctrl-C still interrupts) and restored on close. Arrow and function keys (escape sequences)
are ignored rather than read as Esc.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Callable
from typing import Any

from stylecam.realtime.keys import key_from_terminal


class TerminalKeys:
    """Reads keys on a thread and calls ``on_key``; ``active`` is False where it cannot (not a foreground tty)."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.on_key = on_key
        self.active = False
        self._saved: Any = None
        self._stop = threading.Event()
        try:
            import termios
            import tty

            fd = sys.stdin.fileno()
            if not os.isatty(fd) or os.getpgrp() != os.tcgetpgrp(fd):
                return
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except (ImportError, OSError, ValueError, AttributeError):
            return
        self._fd = fd
        self.active = True
        self._thread = threading.Thread(target=self._run, name="stylecam-terminal-keys", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self._fd, 1)
            except OSError:
                return
            if not data:
                return
            char = data.decode("latin-1")
            if char == "\x1b" and select.select([self._fd], [], [], 0.03)[0]:
                os.read(self._fd, 16)  # an escape sequence (arrow key …), not a lone Esc
                continue
            self.on_key(key_from_terminal(char))

    def close(self) -> None:
        """Stop reading and restore the terminal."""
        if not self.active:
            return
        self._stop.set()
        self._thread.join(1.0)
        import termios

        try:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        except (OSError, termios.error):
            pass
        self.active = False
