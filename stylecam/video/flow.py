"""Optical flow between video frames, Ruder et al.'s reliability mask, and warping — NumPy/OpenCV, for speed.

Conventions match :mod:`stylecam.losses.temporal`: flows are H×W×2 float32 arrays of pixel offsets (dx, dy) for
backward warping — ``warp(image, flow)`` at pixel p samples ``image`` at p + flow(p), bilinearly, with the
border replicated. ``estimate(a, b)`` returns the flow that warps ``b`` onto ``a`` (a(p) ≈ b(p + flow(p))).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

FLOW_METHODS = ("dis", "farneback")


@dataclass(frozen=True)
class MaskSettings:
    """Thresholds of Ruder et al.'s consistency check (the paper's values, as in ``losses.temporal``)."""

    round_trip_rel: float = 0.01
    round_trip_abs: float = 0.5
    boundary_rel: float = 0.01
    boundary_abs: float = 0.002


def to_gray(frame: np.ndarray, max_side: int | None = None) -> np.ndarray:
    """An RGB uint8 frame as grey uint8, shrunk (area average) so its long side is at most ``max_side``."""
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    height, width = gray.shape
    if max_side and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return gray


def resize_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """A flow field resized to height×width, its vectors rescaled to the new pixel size."""
    h, w = flow.shape[:2]
    if (h, w) == (height, width):
        return flow
    resized = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    resized[..., 0] *= width / w
    resized[..., 1] *= height / h
    return resized


@dataclass
class FlowEstimator:
    """Dense optical flow with OpenCV's DIS (default, fast) or Farneback, computed at a reduced resolution.

    ``max_side`` is the long side the flow is computed at (None: full size); flows are returned at the frames'
    size. Grey images may be passed pre-shrunk with :func:`to_gray` to reuse them across calls.
    """

    method: str = "dis"
    max_side: int | None = 320
    fine: bool = False
    """DIS's ``medium`` preset (denser search, about 4× the time) instead of ``fast``."""
    _dis: cv2.DISOpticalFlow | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in FLOW_METHODS:
            raise ValueError(f"flow method must be one of {FLOW_METHODS}, not {self.method!r}")
        if self.method == "dis":
            preset = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM if self.fine else cv2.DISOPTICAL_FLOW_PRESET_FAST
            self._dis = cv2.DISOpticalFlow_create(preset)

    def gray(self, frame: np.ndarray) -> np.ndarray:
        """The grey, reduced image flows are computed on."""
        return to_gray(frame, self.max_side)

    def estimate_gray(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow warping grey image ``b`` onto ``a``, at the grey images' size."""
        if self._dis is not None:
            return self._dis.calc(a, b, None)
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 3, 5, 1.2, 0)

    def estimate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow warping RGB frame ``b`` onto ``a`` (same size), at the frames' size."""
        flow = self.estimate_gray(self.gray(a), self.gray(b))
        return resize_flow(flow, *a.shape[:2])

    def pair(self, current: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(backward, forward) flows at the frames' size: backward warps ``previous`` onto ``current``."""
        gray_cur, gray_prev = self.gray(current), self.gray(previous)
        height, width = current.shape[:2]
        backward = resize_flow(self.estimate_gray(gray_cur, gray_prev), height, width)
        forward = resize_flow(self.estimate_gray(gray_prev, gray_cur), height, width)
        return backward, forward

    def warp_field(self, current: np.ndarray, previous: np.ndarray,
                   settings: MaskSettings = MaskSettings()) -> tuple[np.ndarray, np.ndarray]:
        """The flow warping ``previous`` onto ``current`` and its reliability mask, both at the frames' size.

        Flows and mask are computed at the reduced resolution (flow vectors in full-size pixels, so the
        thresholds keep their meaning) and then upsampled: a fraction of the cost of a full-size check.
        """
        return self.warp_field_gray(self.gray(current), self.gray(previous), current.shape[:2], settings)

    def warp_field_gray(self, current: np.ndarray, previous: np.ndarray, shape: tuple[int, ...],
                        settings: MaskSettings = MaskSettings()) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`warp_field` from the frames' grey images (:meth:`gray`), for frames of ``shape`` (H, W, …)."""
        height, width = shape[:2]
        scale = width / current.shape[1]
        backward = self.estimate_gray(current, previous) * scale
        forward = self.estimate_gray(previous, current) * scale
        mask = reliability_mask(backward, forward, settings, pixel_scale=scale)
        if mask.shape != (height, width):  # vectors are already in full-size pixels: resize the grids only
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
            backward = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
        return backward, mask


@functools.lru_cache(maxsize=4)
def _grid(height: int, width: int) -> np.ndarray:
    """The H×W×2 pixel coordinates (x, y), read-only (kept for the next frame of the same size)."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.dstack([xs, ys])
    grid.flags.writeable = False
    return grid


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward-warp an H×W(×C) image by an H×W×2 flow (bilinear, border replicated); keeps the dtype."""
    coords = cv2.add(_grid(*flow.shape[:2]), np.asarray(flow, dtype=np.float32))
    return cv2.remap(image, coords, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def reliability_mask(
    backward: np.ndarray, forward: np.ndarray, settings: MaskSettings = MaskSettings(), pixel_scale: float = 1.0
) -> np.ndarray:
    """Ruder et al.'s mask (H×W float32, 1 = reliable) for warping frame t-1 into frame t.

    ``backward`` maps frame t to t-1 (the flow used to warp), ``forward`` t-1 to t. Unreliable: the round trip
    does not return (|w + ŵ|² > 0.01 (|w|² + |ŵ|²) + 0.5, a disocclusion), or a motion boundary
    (|∇ŵ_u|² + |∇ŵ_v|² > 0.01 |ŵ|² + 0.002). Same formula as :func:`stylecam.losses.temporal.occlusion_mask`.
    ``pixel_scale`` is the size of one grid cell in the flow's pixel units (for a flow field sampled on a grid
    coarser than the frames, so that the thresholds keep their full-resolution meaning).
    """
    bu, bv = cv2.split(np.ascontiguousarray(backward, dtype=np.float32))
    fu, fv = cv2.split(warp(np.ascontiguousarray(forward, dtype=np.float32), backward))
    backward_sq = bu * bu + bv * bv
    round_trip = (fu + bu) ** 2 + (fv + bv) ** 2
    disoccluded = round_trip > settings.round_trip_rel * (fu * fu + fv * fv + backward_sq) + settings.round_trip_abs
    gradient = _forward_diff_sq(bu) + _forward_diff_sq(bv)
    if pixel_scale != 1.0:
        gradient /= pixel_scale * pixel_scale
    boundary = gradient > settings.boundary_rel * backward_sq + settings.boundary_abs
    return (~(disoccluded | boundary)).astype(np.float32)


def _forward_diff_sq(channel: np.ndarray) -> np.ndarray:
    """Sum of squared forward differences along x and y (zero in the last column/row), as in the torch version."""
    squared = np.zeros_like(channel)
    dx = channel[:, 1:] - channel[:, :-1]
    dy = channel[1:] - channel[:-1]
    squared[:, :-1] = dx * dx
    squared[:-1] += dy * dy
    return squared
