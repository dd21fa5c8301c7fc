"""Per-frame effects after the network, cheap enough for live video (OpenCV on uint8, about 1 ms at 640×360).

- strength: the stylized frame mixed with the input frame (Johnson networks; AdaIN mixes features instead);
- colour preservation: the stylized frame's luminance with the input's chrominance (YCrCb), the live
  counterpart of ``stylize --preserve-color luminance``;
- reduced-resolution stylization (``--net-scale``): the network runs on a shrunken frame and only the change it
  makes is enlarged and added to the full-size frame, so the photo's own edges stay sharp.
"""

from __future__ import annotations

import cv2
import numpy as np

from stylecam.imaging.sizes import scaled_size


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


def shrink(frame: np.ndarray, scale: float) -> np.ndarray:
    """``frame`` shrunk by ``scale`` (area interpolation), sides rounded to the networks' stride."""
    height, width = frame.shape[:2]
    return cv2.resize(frame, scaled_size((width, height), scale), interpolation=cv2.INTER_AREA)


def add_change(frame: np.ndarray, small: np.ndarray, styled_small: np.ndarray) -> np.ndarray:
    """``frame`` plus the change the network made to ``small`` (styled_small − small), enlarged bilinearly."""
    change = styled_small.astype(np.float32) - small.astype(np.float32)
    height, width = frame.shape[:2]
    change = cv2.resize(change, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(frame.astype(np.float32) + change, 0, 255).astype(np.uint8)
