"""Frame stylizers: anything with the backend API ``run(frame RGB uint8 H×W×3) -> RGB uint8 same size``, and
colour preservation for their results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from stylecam.imaging.color import match_color, transfer_luminance
from stylecam.imaging.tensors import to_image, to_tensor

COLOR_MODES = ("luminance", "histogram")


class Stylizer(Protocol):
    """Stylizes one frame (a :class:`~stylecam.runtime.base.Backend` is one)."""

    def run(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 H×W×3 in, stylized RGB uint8 H×W×3 out."""
        ...


def preserve_color(stylized: np.ndarray, content: np.ndarray, mode: str | None) -> np.ndarray:
    """Keep the content's colours in a stylized frame: ``luminance`` (its chrominance, YIQ) or ``histogram``
    (the stylized frame's colour mean and covariance matched to the content's); None returns it unchanged."""
    if mode is None:
        return stylized
    out, source = to_tensor(stylized), to_tensor(content)
    if mode == "luminance":
        return to_image(transfer_luminance(out, source))
    if mode == "histogram":
        return to_image(match_color(out, source))
    raise ValueError(f"colour mode must be one of {COLOR_MODES}, not {mode!r}")


@dataclass
class ColorPreserving:
    """A stylizer whose output keeps the input frame's colours (see :func:`preserve_color`)."""

    stylizer: Stylizer
    mode: str

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame, then restore its colours."""
        return preserve_color(self.stylizer.run(frame), frame, self.mode)
