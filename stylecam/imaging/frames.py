"""Frames (H×W×3 RGB uint8 arrays) to and from the networks' 1×3×H×W float arrays in 0..255, in numpy alone."""

from __future__ import annotations

import numpy as np


def frame_to_nchw(frame: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 RGB → 1×3×H×W float32 in 0..255 (the Johnson networks' input convention)."""
    return np.ascontiguousarray(frame.transpose(2, 0, 1)[None], dtype=np.float32)


def nchw_to_frame(output: np.ndarray, height: int, width: int) -> np.ndarray:
    """1×3×h×w float output in 0..255 → H×W×3 uint8 RGB (resized if the network returned another size)."""
    image = np.clip(output[0].transpose(1, 2, 0), 0.0, 255.0).astype(np.uint8)
    if image.shape[:2] != (height, width):
        import cv2

        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return image
