"""Per-frame effects after the network, cheap enough for live video (OpenCV on uint8, about 1 ms at 640×360).

- strength: the stylized frame mixed with the input frame (Johnson networks; AdaIN mixes features instead);
- colour preservation: the stylized frame's luminance with the input's chrominance (YCrCb), the live
  counterpart of ``stylize --preserve-color luminance``.
"""

from __future__ import annotations

import cv2
import numpy as np


def mix(styled: np.ndarray, content: np.ndarray, strength: float) -> np.ndarray:
    """strength · styled + (1 − strength) · content for RGB uint8 frames of the same size."""
    if strength >= 1.0:
        return styled
    if strength <= 0.0:
        return content.copy()
    return cv2.addWeighted(styled, strength, content, 1.0 - strength, 0.0)


def keep_colors(styled: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The stylized frame's luminance (Y) with the content's chrominance (Cr, Cb)."""
    ycrcb = cv2.cvtColor(content, cv2.COLOR_RGB2YCrCb)
    luma = cv2.cvtColor(styled, cv2.COLOR_RGB2GRAY)  # the same Y as in YCrCb (BT.601)
    ycrcb[..., 0] = luma
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)
