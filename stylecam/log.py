"""Notices for the user on stderr, silenced by ``--quiet``."""

from __future__ import annotations

import sys

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) notices for the rest of the process."""
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    """Whether notices and progress bars are silenced."""
    return _quiet


def notice(message: str) -> None:
    """Print one informational line to stderr unless quiet."""
    if not _quiet:
        print(f"stylecam: {message}", file=sys.stderr, flush=True)
