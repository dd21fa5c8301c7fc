"""Shared command-line plumbing: common options and the error/exit-code wrapper every command uses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from stylecam import __version__
from stylecam.errors import StylecamError

EXIT_INTERRUPTED = 130


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


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Run a command body: user errors become one line on stderr and their exit code; Ctrl-C exits 130."""
    try:
        return body()
    except StylecamError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print(f"{prog}: error: out of memory; try a smaller --size", file=sys.stderr)
        return 1
