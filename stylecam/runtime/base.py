"""The backend interface every runner of a style network implements."""

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
