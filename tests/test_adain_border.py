"""AdaIN draws no frame along the picture's borders: the content is encoded with a replicated border."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stylecam.imaging.io import read_image
from stylecam.imaging.tensors import to_tensor
from stylecam.nets import adain
from stylecam.nets.checkpoints import load_adain_decoder
from stylecam.nets.vgg import load_vgg
from stylecam.zoo import REPO_MODELS


def _edge_contrast(image: torch.Tensor) -> float:
    """The strongest row/column step within 12 px of the borders over the median step inside (1×3×H×W)."""
    rows = (image[0, :, 1:, :] - image[0, :, :-1, :]).abs().mean(dim=(0, 2))
    cols = (image[0, :, :, 1:] - image[0, :, :, :-1]).abs().mean(dim=(0, 1))
    edge = torch.cat([rows[:12], rows[-12:], cols[:12], cols[-12:]])
    inner = torch.cat([rows[20:-20], cols[20:-20]])
    return float(edge.max() / inner.median())


@pytest.mark.parametrize("style_name", ["mosaic.jpg", "starry_night.jpg"])
def test_no_frame_along_the_borders(shared_dir: Path, style_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(1)
    model = adain.AdaINModel(load_vgg(), load_adain_decoder(REPO_MODELS / "adain_decoder.pth")).eval()
    y, x = torch.meshgrid(torch.linspace(0, 1, 120), torch.linspace(0, 1, 160), indexing="ij")
    smooth = torch.stack([0.3 + 0.4 * x, 0.5 + 0.2 * y, 0.6 - 0.3 * x * y])[None]  # nothing at its borders
    style = to_tensor(read_image(shared_dir / "images" / "styles" / style_name, max_side=256, size_option=None))
    with torch.no_grad():
        padded = model(smooth, [style]).clamp(0, 1)
        monkeypatch.setattr(adain, "BORDER_PAD", 0)
        unpadded = model(smooth, [style]).clamp(0, 1)
    assert padded.shape == unpadded.shape == smooth.shape
    assert _edge_contrast(unpadded) > 20  # without the border, the decoder draws a frame
    assert _edge_contrast(padded) < 10
