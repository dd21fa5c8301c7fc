"""Gatys renders kept on disk, so benchmarks and contact sheets that show our optimisation pay for it once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stylecam.export.onnx_export import cache_root
from stylecam.imaging.io import read_image, write_image
from stylecam.imaging.tensors import to_image, to_tensor
from stylecam.nets.vgg import VGGFeatures
from stylecam.stylize.gatys import GatysSettings, gatys

STYLE_SIDE = 512  # long side of the style image in the renders kept here and in benchmarks/quality.py's protocol


def read_style(path: Path) -> torch.Tensor:
    """A style image at :data:`STYLE_SIDE` (1×3×H×W, 0..1), as the cached renders and the quality protocol use it."""
    return to_tensor(read_image(path, max_side=STYLE_SIDE, size_option=None))


class CachedGatys:
    """Gatys' result (``iters`` L-BFGS iterations from the photo, the ``stylize`` defaults otherwise) for a photo
    and a style, cached as a PNG in ``cache_root()/quality`` keyed by the photo's and the style's pixels and the
    iterations (so a style image read at another size is another render, not a stale one)."""

    def __init__(self, vgg: VGGFeatures, iters: int) -> None:
        self.vgg = vgg
        self.settings = GatysSettings(iters=iters)
        self.folder = cache_root() / "quality"
        self.folder.mkdir(parents=True, exist_ok=True)

    def stylizer(self, style_name: str, style: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """A function rendering (or reading back) each photo (1×3×H×W, 0..1) with ``style``."""

        style_bytes = np.ascontiguousarray(to_image(style)).tobytes()

        def render(photo: torch.Tensor) -> torch.Tensor:
            key = hashlib.sha256(np.ascontiguousarray(to_image(photo)).tobytes() + style_bytes).hexdigest()[:12]
            path = self.folder / f"{style_name}-{key}-{self.settings.iters}.png"
            if not path.is_file():
                write_image(path, to_image(gatys(self.vgg, photo, [style], settings=self.settings)))
            return to_tensor(read_image(path))

        return render
