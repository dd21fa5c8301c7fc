"""Frame sizes given on command lines (``N`` or ``WxH``) and the range of sides the networks and exporters accept.

Every command's ``--size`` is parsed here, by :func:`parse_size_option`: ``N`` is the long side (the aspect ratio
kept), ``WxH`` the size exactly, and ``0`` the original size where a command allows it.
"""

from __future__ import annotations

from collections.abc import Callable

from stylecam.errors import UsageError

SizeOption = int | tuple[int, int]
"""A parsed ``--size``: the long side N (0: the original size), or (width, height)."""

MIN_SIDE = 16
MAX_SIDE = 8192
NET_STRIDE = 8  # the fast tier downsamples by 8 (2×2 blocks, two stride-2 convs): multiples of it need no resize back


def check_side_range(size: tuple[int, int], option: str) -> None:
    """UsageError unless both sides are within MIN_SIDE..MAX_SIDE."""
    if not all(MIN_SIDE <= side <= MAX_SIDE for side in size):
        raise UsageError(f"{option} sides must be between {MIN_SIDE} and {MAX_SIDE} px, got {size[0]}x{size[1]}")


def parse_size(text: str, option: str = "--size") -> tuple[int, int]:
    """``WxH`` → (width, height), each side between MIN_SIDE and MAX_SIDE; UsageError otherwise."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"{option} takes WIDTHxHEIGHT, e.g. 640x360, not '{text}'") from None
    size = (width, height)
    check_side_range(size, option)
    return size


def parse_size_option(text: str, option: str = "--size", allow_zero: bool = False) -> SizeOption:
    """``N`` → N (the long side), ``WxH`` → (W, H), ``0`` → 0 when ``allow_zero``; otherwise a one-line
    UsageError."""
    cleaned = text.strip().lower().replace("×", "x")
    if "x" in cleaned:
        return parse_size(cleaned, option)
    try:
        side = int(cleaned)
    except ValueError:
        raise UsageError(f"{option} takes N (the long side) or WIDTHxHEIGHT, e.g. 640 or 640x360, "
                         f"not '{text}'") from None
    if side == 0 and allow_zero:
        return 0
    if not MIN_SIDE <= side <= MAX_SIDE:
        original = " (or 0: the original size)" if allow_zero else ""
        raise UsageError(f"{option} {text}: the long side must be between {MIN_SIDE} and {MAX_SIDE} px{original}")
    return side


def size_option_type(option: str = "--size", allow_zero: bool = False) -> Callable[[str], SizeOption]:
    """An argparse ``type`` for :func:`parse_size_option`. Its UsageError passes through ``parse_args`` (argparse
    only catches its own errors), so the command prints one line and exits 2 instead of argparse's usage text."""
    return lambda text: parse_size_option(text, option, allow_zero)


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """``size`` (width, height) times ``scale``, each side rounded to a multiple of NET_STRIDE, at least MIN_SIDE."""
    width, height = (max(MIN_SIDE, round(side * scale / NET_STRIDE) * NET_STRIDE) for side in size)
    return width, height
