"""Temporal consistency strategies behind one interface, in two halves so that a pipeline can overlap them:
``prepare(frame, cut)`` does what does not depend on earlier outputs (the network; the flow between input
frames) and may run ahead on its own thread, in frame order; ``finish(frame, prepared, cut)`` does the rest, in
frame order. ``step(frame, cut)`` is both at once. ``history`` past (input, output) pairs are what a resumed
render hands back to ``restore`` to carry on exactly where it stopped.

- ``none``: every frame stylized on its own (flickers; for comparison).
- ``flow``: the previous output warped into the current frame by optical flow on the input frames and blended
  with the current stylization where the forward–backward check says the flow is reliable. Real-time.
- ``ruder``: Ruder et al. 2016 — each frame optimised (Gatys) for content, style and the temporal loss
  against the warped previous output(s) under the occlusion mask, starting from the warped previous output.

``cut`` is True on the first frame of every shot (see :mod:`stylecam.video.keyframes`): the history is
dropped there, and with Gatys key frames that frame is optimised rather than only stylized.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from stylecam.imaging.tensors import to_tensor
from stylecam.losses.temporal import temporal_loss
from stylecam.video.flow import FlowEstimator, warp
from stylecam.video.keyframes import GatysRenderer
from stylecam.video.stylizers import Stylizer


History = Sequence[tuple[np.ndarray, np.ndarray]]
"""Past (input frame, output frame) pairs, oldest first."""


class Temporal(ABC):
    """A temporal consistency strategy; ``history`` is how many past (input, output) pairs it uses."""

    history: int = 0

    @abstractmethod
    def prepare(self, frame: np.ndarray, cut: bool) -> Any:
        """The work on ``frame`` (RGB uint8) that needs no earlier output; called once per frame, in order."""

    @abstractmethod
    def finish(self, frame: np.ndarray, prepared: Any, cut: bool) -> np.ndarray:
        """The stylized frame for ``frame`` from what :meth:`prepare` returned; called in order."""

    def restore(self, history: History) -> None:
        """Continue after the last ``history`` frames (a resumed render), as though they had just been stepped."""

    def step(self, frame: np.ndarray, cut: bool) -> np.ndarray:
        """The stylized frame for ``frame``, given whether it starts a new shot."""
        return self.finish(frame, self.prepare(frame, cut), cut)


@dataclass
class FirstPass:
    """How a frame is stylized before temporal processing: the feed-forward stylizer, except on key frames
    when a Gatys renderer is given (then optimised, started from the feed-forward result if there is one)."""

    stylizer: Stylizer | None
    keyframes: GatysRenderer | None = None
    key_iters: int | None = None

    def __call__(self, frame: np.ndarray, key: bool) -> np.ndarray:
        styled = self.stylizer.run(frame) if self.stylizer is not None else None
        if key and self.keyframes is not None:
            return self.keyframes.render(frame, styled, self.key_iters)
        if styled is None:
            raise ValueError("no feed-forward stylizer for a frame that is not a key frame")
        return styled


@dataclass
class PerFrame(Temporal):
    """``none``: each frame on its own."""

    first: FirstPass

    def prepare(self, frame: np.ndarray, cut: bool) -> np.ndarray:
        """Stylize ``frame`` alone."""
        return self.first(frame, cut)

    def finish(self, frame: np.ndarray, prepared: np.ndarray, cut: bool) -> np.ndarray:
        """The stylization itself."""
        return prepared


def blend_keeping_detail(base: np.ndarray, other: np.ndarray, weight: np.ndarray, sigma: float = 2.0
                         ) -> np.ndarray:
    """base + weight · (other − base) per pixel (RGB uint8, H×W weight in 0..1), with the detail layer's local
    energy restored to ``base``'s.

    Averaging two textures that do not line up exactly washes them out (a blurry, weaker style). Here the
    blend is split into a base layer (Gaussian, ``sigma`` px) and a detail layer, and the detail is amplified
    (1–3×) where its local energy fell below that of ``base``'s own detail — energy-preserving blending, as in
    Heitz & Neyret 2018's texture blending. Where the two agree the gain is 1 and this is a plain blend. The
    energies are measured on the grey images and the gain is smooth, so it is computed at a quarter of the
    resolution; every full-size pass stays in uint8.
    """
    mixed = cv2.blendLinear(base, other, 1.0 - weight, weight)  # rounded to uint8: the output is uint8 anyway
    blurred = cv2.GaussianBlur(mixed, (0, 0), sigma)
    base_gray = cv2.cvtColor(base, cv2.COLOR_RGB2GRAY)
    base_energy = _local_energy(base_gray, cv2.GaussianBlur(base_gray, (0, 0), sigma), 2 * sigma)
    mixed_energy = _local_energy(cv2.cvtColor(mixed, cv2.COLOR_RGB2GRAY), cv2.cvtColor(blurred, cv2.COLOR_RGB2GRAY),
                                 2 * sigma)
    gain = np.sqrt(base_energy / mixed_energy)
    np.clip(gain, 1.0, 3.0, out=gain)
    gain = cv2.resize(gain, weight.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return cv2.blendLinear(mixed, blurred, gain, 1.0 - gain)  # mixed + (gain − 1)·detail, saturating


def _local_energy(gray: np.ndarray, blurred: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted local mean of the squared detail layer (``gray`` minus its blur) plus 1, at a quarter
    of the resolution (it is smooth at that scale)."""
    detail = cv2.subtract(gray, blurred, dtype=cv2.CV_32F)
    height, width = detail.shape
    small = cv2.resize(cv2.multiply(detail, detail), (max(1, width // 4), max(1, height // 4)),
                       interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (0, 0), sigma / 4) + 1.0


@dataclass
class FlowBlend(Temporal):
    """``flow``: out_t = s_t + weight · mask · (warp(out_t−1) − s_t), with s_t the frame's own stylization,
    blended keeping the detail's energy (:func:`blend_keeping_detail`).

    Along reliably tracked pixels this is an exponential moving average of the stylizations (time constant
    about 1 / (1 − weight) frames), so flicker shrinks while texture follows the content; occluded and
    disoccluded pixels and motion boundaries take the fresh stylization.
    """

    first: FirstPass
    flow: FlowEstimator = field(default_factory=FlowEstimator)
    weight: float = 0.5
    history: int = field(default=1, init=False)
    _previous_gray: np.ndarray | None = field(default=None, init=False, repr=False)
    _previous_out: np.ndarray | None = field(default=None, init=False, repr=False)
    _flow_thread: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="stylevideo-flow"), init=False, repr=False)

    def prepare(self, frame: np.ndarray, cut: bool) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """The frame's stylization and, within a shot, the flow field from the previous input frame, computed
        on a second thread while the network runs (each frame's grey image is made once and kept for the next
        pair)."""
        gray, previous = self.flow.gray(frame), self._previous_gray
        self._previous_gray = gray
        if cut or previous is None:
            return self.first(frame, cut), None
        field_ = self._flow_thread.submit(self.flow.warp_field_gray, gray, previous, frame.shape[:2])
        styled = self.first(frame, cut)
        return styled, field_.result()

    def finish(self, frame: np.ndarray, prepared: tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None],
               cut: bool) -> np.ndarray:
        """Blend the previous output, warped, into the stylization where the flow is reliable."""
        styled, field_ = prepared
        if field_ is not None and self._previous_out is not None:
            backward, mask = field_
            styled = blend_keeping_detail(styled, warp(self._previous_out, backward), self.weight * mask)
        self._previous_out = styled
        return styled

    def restore(self, history: History) -> None:
        """Continue from the last (input, output) pair."""
        frame, out = history[-1]
        self._previous_gray, self._previous_out = self.flow.gray(frame), out


@dataclass
class RuderOptimised(Temporal):
    """``ruder``: Gatys optimisation per frame with Ruder et al.'s short-term (and long-term) temporal loss.

    Frame t minimises content + style + TV + weight · Σ_j mean(c_j · (x − ω_j(out_t−j))²) over j ∈ {1} ∪
    ``long_term``, with c_j Ruder's long-term masks (each offset only where the nearer ones are unreliable),
    starting from the warped previous output (Ruder's initialisation: where the warp is unreliable the
    optimisation repaints it; a feed-forward result there would leave seams of another look). Key frames
    (first frame, cuts) are optimised without the temporal term for ``key_iters``, started from the
    stylizer's result when there is a stylizer.
    """

    gatys: GatysRenderer
    stylizer: Stylizer | None = None
    flow: FlowEstimator = field(default_factory=FlowEstimator)
    weight: float = 1e8
    long_term: Sequence[int] = ()
    iters: int = 100
    key_iters: int = 300
    _history: deque[tuple[np.ndarray, np.ndarray]] = field(default_factory=deque, init=False, repr=False)

    def __post_init__(self) -> None:
        self.offsets = sorted({1, *self.long_term})
        if self.offsets[0] < 1:
            raise ValueError("long-term offsets must be at least 1")
        self._history = deque(maxlen=self.offsets[-1])
        self.history = self.offsets[-1]

    def prepare(self, frame: np.ndarray, cut: bool) -> np.ndarray | None:
        """The stylizer's result for a key frame (the first, and each cut), to start its optimisation from."""
        return self.stylizer.run(frame) if cut and self.stylizer is not None else None

    def finish(self, frame: np.ndarray, prepared: np.ndarray | None, cut: bool) -> np.ndarray:
        """Optimise ``frame``'s output against the warped previous outputs."""
        if cut:
            self._history.clear()
        if not self._history:
            out = self.gatys.render(frame, prepared, self.key_iters)
        else:
            out = self._optimise(frame)
        self._history.append((frame, out))
        return out

    def restore(self, history: History) -> None:
        """Continue from the last outputs (as many as the long-term offsets reach)."""
        self._history.clear()
        self._history.extend(history)

    def _optimise(self, frame: np.ndarray) -> np.ndarray:
        device = self.gatys.device
        targets: list[tuple[torch.Tensor, torch.Tensor]] = []
        covered: np.ndarray | None = None
        init: np.ndarray | None = None
        for offset in self.offsets:
            if offset > len(self._history):
                break
            past_frame, past_out = self._history[-offset]
            backward, mask = self.flow.warp_field(frame, past_frame)
            warped = warp(past_out, backward)
            if init is None:
                init = warped
            long_mask = mask if covered is None else np.maximum(mask - covered, 0.0)
            covered = mask if covered is None else covered + mask
            mask_tensor = torch.from_numpy(np.ascontiguousarray(long_mask))[None, None].to(device)
            targets.append((to_tensor(warped, device), mask_tensor))

        def consistency(image: torch.Tensor) -> torch.Tensor:
            return self.weight * sum(
                (temporal_loss(image, warped, mask) for warped, mask in targets), torch.tensor(0.0, device=device)
            )

        return self.gatys.render(frame, init, self.iters, consistency)
