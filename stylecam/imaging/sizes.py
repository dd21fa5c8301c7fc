"""Frame sizes given on command lines (``WxH``) and the range of sides the networks and exporters accept."""

from __future__ import annotations

from stylecam.errors import UsageError

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


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """``size`` (width, height) times ``scale``, each side rounded to a multiple of NET_STRIDE, at least MIN_SIDE."""
    width, height = (max(MIN_SIDE, round(side * scale / NET_STRIDE) * NET_STRIDE) for side in size)
    return width, height
