"""Running a command's ``main`` in-process, as the tests of several commands do."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from typing import Any


def run_main(main: Callable[[Sequence[str]], int], *argv: Any) -> tuple[int, str]:
    """Run ``main`` on the arguments (as strings); (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, err.getvalue()
