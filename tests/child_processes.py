"""Helpers for tests that signal the commands they start."""

import signal


def default_sigint() -> None:
    """``Popen(preexec_fn=...)``: Ctrl-C's default disposition in the child. A shell starts background jobs
    (``.ci/run &``) with SIGINT ignored, children inherit that, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
