"""Temporal stability of a stylized video: Lai et al. 2018's warping error.

E_warp = mean over t of  Σ_p M_t(p) ‖O_t(p) − Ô_t+1(p)‖² / Σ_p M_t(p),  where Ô_t+1 is output frame t+1
warped back onto frame t by the optical flow of the *input* video, M_t the non-occlusion mask of that flow
(Ruder et al.'s forward–backward check), and colours are RGB in 0..1 (the squared norm sums the channels).
Flows are computed once per input clip and reused for every output compared on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import cv2
import numpy as np

from stylecam.video.flow import FlowEstimator, reliability_mask, warp


class WarpingError:
    """Flows and masks of an input clip, ready to score any number of stylized versions of it.

    The default estimator is full-resolution Farneback — deliberately not the DIS flow the ``flow`` temporal
    mode uses, so that mode is not scored by its own flow.
    """

    def __init__(self, inputs: Sequence[np.ndarray], flow: FlowEstimator | None = None) -> None:
        flow = flow or FlowEstimator("farneback", max_side=None)
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []
        for current, following in pairwise(inputs):
            to_next = flow.estimate(current, following)
            to_current = flow.estimate(following, current)
            self.pairs.append((to_next, reliability_mask(to_next, to_current)))

    def squared_error(self, outputs: Sequence[np.ndarray], index: int) -> np.ndarray:
        """‖O_t − Ô_t+1‖² per pixel (H×W) for t = ``index``."""
        to_next, _ = self.pairs[index]
        warped = warp(outputs[index + 1], to_next).astype(np.float32) / 255.0
        return ((outputs[index].astype(np.float32) / 255.0 - warped) ** 2).sum(axis=2)

    def per_frame(self, outputs: Sequence[np.ndarray]) -> list[float]:
        """E_warp of each consecutive pair of ``outputs`` (RGB uint8, same frames as the inputs)."""
        if len(outputs) - 1 > len(self.pairs):
            raise ValueError(f"{len(outputs)} outputs for {len(self.pairs) + 1} input frames")
        errors = []
        for index in range(len(outputs) - 1):
            mask = self.pairs[index][1]
            errors.append(float((self.squared_error(outputs, index) * mask).sum() / max(mask.sum(), 1.0)))
        return errors

    def __call__(self, outputs: Sequence[np.ndarray]) -> float:
        """Mean E_warp over the clip."""
        return float(np.mean(self.per_frame(outputs)))

    def error_map(self, outputs: Sequence[np.ndarray], index: int, full_scale: float = 0.1) -> np.ndarray:
        """An RGB picture of frame ``index``'s error (inferno colours, ``full_scale`` and above brightest;
        pixels the mask leaves out in grey)."""
        level = np.clip(self.squared_error(outputs, index) / full_scale * 255, 0, 255).astype(np.uint8)
        picture = cv2.cvtColor(cv2.applyColorMap(level, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
        picture[self.pairs[index][1] < 0.5] = 128
        return picture
