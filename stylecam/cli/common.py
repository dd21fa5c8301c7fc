"""Shared command-line plumbing: the options several commands take, each defined once here, and the
error/exit-code wrapper every command uses."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

from stylecam import __version__
from stylecam.errors import StylecamError, Terminated
from stylecam.imaging.sizes import SizeOption, size_option_type
from stylecam.runtime import BACKEND_CHOICES

Group = argparse.ArgumentParser | argparse._ArgumentGroup

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


def add_size_option(group: Group, meaning: str, default: SizeOption | None = None, allow_zero: bool = False) -> None:
    """``--size N|WxH``, parsed by :func:`~stylecam.imaging.sizes.parse_size_option`; ``meaning`` is this
    command's part of the help (what the size is of, the default)."""
    original = "; 0: the original size" if allow_zero else ""
    group.add_argument("--size", type=size_option_type("--size", allow_zero), default=default, metavar="N|WxH",
                       help=f"{meaning}. N is the long side, WxH both sides{original}")


def add_backend_option(group: Group, also: str = "") -> None:
    """``--backend auto|torch|onnx|tensorrt`` (``also``: what this command adds to the help)."""
    group.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                       help="what runs the network: auto (default: the fastest that works here, named in one line), "
                            f"torch, onnx, tensorrt{also}")


def add_threads_option(group: Group) -> None:
    """``--threads N``: the network's CPU threads."""
    group.add_argument("--threads", type=positive_int, metavar="N",
                       help="CPU threads for the network (default: every core this process may use; on a busy "
                            "machine, or with the fast tier on two cores, 1 can be faster)")


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def mix_option(text: str) -> tuple[str, float]:
    """argparse type for ``--mix STYLE[:AMOUNT]``: another style of the same network and its share (default 0.5)."""
    name, _, amount = text.partition(":")
    try:
        share = float(amount) if amount else 0.5
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected STYLE or STYLE:AMOUNT, got {text!r}") from None
    if not name or not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError(f"expected STYLE or STYLE:AMOUNT with AMOUNT in 0..1, got {text!r}")
    return name, share


def add_mix_option(parser: argparse._ActionsContainer) -> None:
    """``--mix STYLE[:AMOUNT]`` for commands that run a trained network (a parser or an argument group)."""
    parser.add_argument("--mix", type=mix_option, metavar="STYLE[:AMOUNT]",
                        help="mix another style of the same several-style network into the chosen one "
                             "(AMOUNT 0..1 is its share, default 0.5)")


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
