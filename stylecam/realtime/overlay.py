"""The window's overlay: a few lines of text (style, fps, latency, toggles) on a darkened box, top left.

Only the window shows it; the virtual camera, the stream, snapshots and recordings get the clean picture.
Text is ASCII (OpenCV's Hershey fonts have no other glyphs).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def draw_overlay(frame: np.ndarray, lines: Sequence[str], highlight: str | None = None) -> np.ndarray:
    """A copy of an RGB frame with ``lines`` drawn top left (and ``highlight`` in yellow below them)."""
    out = frame.copy()
    texts = [_ascii(line) for line in lines if line]
    if highlight:
        texts.append(_ascii(highlight))
    if not texts:
        return out
    height, width = out.shape[:2]
    scale = max(0.35, min(0.7, width / 1100))
    thickness = 1
    (_, text_height), baseline = cv2.getTextSize("Ag", FONT, scale, thickness)
    line_height = text_height + baseline + 4
    box_width = min(width, max(cv2.getTextSize(t, FONT, scale, thickness)[0][0] for t in texts) + 12)
    box_height = min(height, line_height * len(texts) + 8)
    box = out[:box_height, :box_width]
    box[:] = (box.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken to 40 %
    for i, text in enumerate(texts):
        colour = (255, 220, 60) if highlight and i == len(texts) - 1 else (255, 255, 255)
        y = 4 + text_height + i * line_height
        cv2.putText(out, text, (6, y), FONT, scale, colour, thickness, cv2.LINE_AA)
    return out
