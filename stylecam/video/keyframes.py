"""Key frames: scene-cut detection, and Gatys optimisation for the frames that start a shot.

A cut is where the hue–saturation histograms of consecutive frames differ by more than a Bhattacharyya
distance of ``threshold`` (within a shot, consecutive frames differ by under 0.1; different shots by 0.4–0.9).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import torch

from stylecam.imaging.tensors import to_image, to_tensor
from stylecam.nets.vgg import VGGFeatures
from stylecam.stylize.gatys import GatysSettings, gatys
from stylecam.video.stylizers import preserve_color


@dataclass
class CutDetector:
    """Call with each frame in order; True for the first frame and for the first frame of every new shot.

    ``min_gap`` frames must pass between two cuts, so flashes and strobes do not restart a shot every frame.
    """

    threshold: float = 0.4
    min_gap: int = 6
    _previous: np.ndarray | None = field(default=None, init=False, repr=False)
    _since_cut: int = field(default=0, init=False, repr=False)

    @staticmethod
    def histogram(frame: np.ndarray) -> np.ndarray:
        """A normalised 16×8 hue–saturation histogram of an RGB uint8 frame (computed on a thumbnail)."""
        small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
        return cv2.normalize(hist, None, 1.0, 0.0, cv2.NORM_L1)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Bhattacharyya distance between two frames' histograms (0 same colours … 1 disjoint)."""
        return float(cv2.compareHist(self.histogram(a), self.histogram(b), cv2.HISTCMP_BHATTACHARYYA))

    @property
    def since_cut(self) -> int:
        """Frames since the last cut (the one restart state besides the previous frame)."""
        return self._since_cut

    def restore(self, previous: np.ndarray, since_cut: int) -> None:
        """Continue after ``previous``, ``since_cut`` frames after the last cut (a resumed render)."""
        self._previous, self._since_cut = self.histogram(previous), since_cut

    def __call__(self, frame: np.ndarray) -> bool:
        hist = self.histogram(frame)
        previous, self._previous = self._previous, hist
        self._since_cut += 1
        if previous is None:
            self._since_cut = 0
            return True
        distance = cv2.compareHist(previous, hist, cv2.HISTCMP_BHATTACHARYYA)
        if distance > self.threshold and self._since_cut >= self.min_gap:
            self._since_cut = 0
            return True
        return False


ExtraLoss = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class GatysRenderer:
    """Gatys et al.'s optimisation on RGB uint8 frames, started from a given image (a feed-forward result, a
    warped previous output) or the frame itself; used for key frames and by the ``ruder`` temporal mode."""

    vgg: VGGFeatures
    styles: Sequence[torch.Tensor]
    settings: GatysSettings
    device: torch.device
    color: str | None = None
    """Colour preservation applied to every result (see :func:`~stylecam.video.stylizers.preserve_color`)."""
    losses: dict[str, float] = field(default_factory=dict)
    """The loss terms at the end of the last optimisation."""

    def render(self, frame: np.ndarray, init: np.ndarray | None = None, iters: int | None = None,
               extra_loss: ExtraLoss | None = None) -> np.ndarray:
        """Optimise an image with ``frame``'s content and the styles' textures, at the frame's size."""
        settings = replace(self.settings, iters=iters or self.settings.iters, scales=1)
        content = to_tensor(frame, self.device)
        start: str | torch.Tensor = to_tensor(init, self.device) if init is not None else "content"
        with torch.enable_grad():
            result = gatys(self.vgg, content, self.styles, None, start, settings, extra_loss)
        self.losses = settings.losses
        return preserve_color(to_image(result), frame, self.color)
