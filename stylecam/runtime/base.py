"""The backend interface every runner of a style network implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from stylecam.errors import UsageError


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


class StyleMix:
    """The style weights a several-style network runs with: its style names and the current 1×S vector.

    Backends of such networks keep one as ``mix``; switching or blending styles is a ``set`` (no loading).
    """

    def __init__(self, names: Sequence[str], first: str | None = None) -> None:
        """Start at style ``first`` (e.g. the style a graph was exported for) when the network has it, else at
        its first style."""
        self.names = tuple(names)
        self.vector = np.zeros((1, len(self.names)), np.float32)
        if self.names:
            self.vector[0, self.names.index(first) if first in self.names else 0] = 1.0

    def set(self, mix: str | Mapping[str, float]) -> None:
        """Run style ``mix`` (a name) or the blend {name: weight}; UsageError for names the network lacks."""
        chosen = {mix: 1.0} if isinstance(mix, str) else dict(mix)
        unknown = [name for name in chosen if name not in self.names]
        if unknown:
            raise UsageError(f"unknown style {', '.join(unknown)}; this network has: {', '.join(self.names)}")
        vector = np.zeros_like(self.vector)
        for name, weight in chosen.items():
            vector[0, self.names.index(name)] = weight
        self.vector = vector

    def current(self) -> dict[str, float]:
        """The non-zero weights by style name."""
        return {name: float(w) for name, w in zip(self.names, self.vector[0]) if w != 0}
