"""Contact sheets: a labelled grid of images, for looking at results side by side."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def _fit(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    """The image with a caption bar above it."""
    bar = np.full((22, image.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, image])


def contact_sheet(rows: Sequence[Sequence[tuple[str, np.ndarray]]], height: int = 256, gap: int = 4) -> np.ndarray:
    """Grid of captioned RGB uint8 images: each row's images scaled to ``height`` and padded to equal widths."""
    rendered = []
    for row in rows:
        cells = [_label(_fit(image, height), caption) for caption, image in row]
        spacer = np.full((cells[0].shape[0], gap, 3), 255, np.uint8)
        rendered.append(np.hstack([part for cell in cells for part in (cell, spacer)][:-1]))
    width = max(r.shape[1] for r in rendered)
    padded = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rendered]
    return np.vstack(padded)

