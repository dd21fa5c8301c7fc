"""User-facing errors: one clear line on stderr and a non-zero exit code, never a traceback."""

from __future__ import annotations


class StylecamError(Exception):
    """An error caused by the user's input or environment, reported as a single line.

    ``exit_code`` follows the sysexits convention where one fits (2 usage, 65 bad data, 66 missing input,
    73 cannot create output, 74 I/O error).
    """

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(StylecamError):
    """Bad combination of command-line options."""

    exit_code = 2


class InputError(StylecamError):
    """An input file is missing, unreadable, corrupt or of an unsupported kind."""

    exit_code = 66


class ModelError(StylecamError):
    """A model or weights file is missing, corrupt or of another architecture."""

    exit_code = 65


class OutputError(StylecamError):
    """An output cannot be written (missing folder, equal to an input, no permission)."""

    exit_code = 73


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that a command stops the same way (exit 143)."""
