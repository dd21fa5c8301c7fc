"""Shared command-line plumbing: common options and the error/exit-code wrapper every command uses."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

from stylecam import __version__
from stylecam.errors import StylecamError, Terminated

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--quiet`` and ``--version``, the same on every command."""
    parser.add_argument(
        "--device", default="auto", metavar="DEV",
        help="torch device: auto (default: CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only: no notices or progress bars")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Inside, SIGTERM (``timeout``, job schedulers, ``docker stop``) raises :class:`Terminated` in the main
    thread, so that it stops a command as Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Run a command body: user errors become one line on stderr and their exit code; Ctrl-C exits 130 and
    SIGTERM (see :func:`sigterm_interrupts`) 143, each with one line saying so (and what was kept, if the
    command says)."""
    try:
        return body()
    except StylecamError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        detail = f": {exc}" if exc.args else ""
        print(f"{prog}: {'terminated' if terminated else 'interrupted'}{detail}", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except MemoryError:
        print(f"{prog}: error: out of memory; try a smaller --size", file=sys.stderr)
        return 1
