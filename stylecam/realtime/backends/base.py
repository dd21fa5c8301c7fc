"""The backend interface every runner of a style network implements, and frame/tensor conversion helpers."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Backend(Protocol):
    """Runs one style network on frames.

    ``name`` says what runs it (``torch``, ``onnx``, ``tensorrt``) and ``device`` where (``cpu``, ``cuda`` …).
    ``run`` takes an H×W×3 RGB uint8 frame and returns the stylized H×W×3 RGB uint8 frame of the same size.
    """

    name: str
    device: str

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame."""
        ...


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
