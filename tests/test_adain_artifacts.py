"""The shipped AdaIN decoder draws neither a frame along the picture's borders nor a halo around subjects."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stylecam.imaging.color import luminance
from stylecam.imaging.io import read_image
from stylecam.imaging.tensors import to_tensor
from stylecam.nets import adain
from stylecam.nets.checkpoints import load_adain_decoder
from stylecam.nets.vgg import load_vgg
from stylecam.zoo import REPO_MODELS

# The shipped decoder: 0.00–0.06 lighter than the wall beside the disk; decodes Tübingen 0.080 away (0..1), its sky
# 0.16 bluer than red (the photo's 0.42, the paper's recipe's 0.03).
HALO_LIMIT, RECONSTRUCTION_LIMIT = 0.2, 0.1


@pytest.fixture(scope="module")
def model() -> adain.AdaINModel:
    torch.set_num_threads(1)
    return adain.AdaINModel(load_vgg(), load_adain_decoder(REPO_MODELS / "adain_decoder.pth")).eval()


def _style(shared_dir: Path, name: str) -> torch.Tensor:
    return to_tensor(read_image(shared_dir / "images" / "styles" / name, max_side=256, size_option=None))


def _edge_contrast(image: torch.Tensor) -> float:
    """The strongest row/column step within 12 px of the borders over the median step inside (1×3×H×W)."""
    rows = (image[0, :, 1:, :] - image[0, :, :-1, :]).abs().mean(dim=(0, 2))
    cols = (image[0, :, :, 1:] - image[0, :, :, :-1]).abs().mean(dim=(0, 1))
    edge = torch.cat([rows[:12], rows[-12:], cols[:12], cols[-12:]])
    inner = torch.cat([rows[20:-20], cols[20:-20]])
    return float(edge.max() / inner.median())


@pytest.mark.parametrize("style_name", ["mosaic.jpg", "starry_night.jpg"])
def test_no_frame_along_the_borders(shared_dir: Path, style_name: str, model: adain.AdaINModel,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    y, x = torch.meshgrid(torch.linspace(0, 1, 120), torch.linspace(0, 1, 160), indexing="ij")
    smooth = torch.stack([0.3 + 0.4 * x, 0.5 + 0.2 * y, 0.6 - 0.3 * x * y])[None]  # nothing at its borders
    style = _style(shared_dir, style_name)
    with torch.no_grad():
        padded = model(smooth, [style]).clamp(0, 1)
        monkeypatch.setattr(adain, "BORDER_PAD", 0)
        unpadded = model(smooth, [style]).clamp(0, 1)
    assert padded.shape == unpadded.shape == smooth.shape
    assert _edge_contrast(unpadded) > 15  # without the border, the decoder draws a frame
    assert _edge_contrast(padded) < 10


def _disk_picture() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A dark disk (a head) on a light, gently shaded wall, 192×256; masks of a band 2–10 px outside the disk and
    of the wall from 30 px outside it on."""
    y, x = torch.meshgrid(torch.arange(192.0), torch.arange(256.0), indexing="ij")
    distance = ((y - 96) ** 2 + (x - 128) ** 2).sqrt()
    wall = 0.8 + 0.08 * x / 256
    picture = torch.where(distance < 50, torch.tensor(0.25), wall).expand(3, -1, -1)[None].clone()
    return picture, (distance > 52) & (distance < 60), distance > 80


def _halo(image: torch.Tensor, band: torch.Tensor, wall: torch.Tensor) -> float:
    """How much lighter the band around the disk is than the wall further out, in luminance (0..1)."""
    luma = luminance(image)[0, 0]
    return float(luma[band].mean() - luma[wall].mean())


@pytest.mark.parametrize("style_name", ["candy.jpg", "starry_night.jpg", "mosaic.jpg"])
def test_no_halo_around_a_subject(shared_dir: Path, style_name: str, model: adain.AdaINModel) -> None:
    picture, band, wall = _disk_picture()
    with torch.no_grad():
        stylized = model(picture, [_style(shared_dir, style_name)]).clamp(0, 1)
    # The decoder trained on the paper's losses alone drew a band 0.44–0.56 lighter than the wall (a white glow).
    assert _halo(stylized, band, wall) < HALO_LIMIT
    assert stylized[0, :, wall].std() > 0.05  # the wall is painted, not left flat


def test_decodes_a_photo_from_its_own_features(shared_dir: Path, model: adain.AdaINModel) -> None:
    photo = to_tensor(read_image(shared_dir / "images" / "content" / "tubingen.jpg", max_side=256, size_option=None))
    with torch.no_grad():
        decoded = model.decode_content(model.encode_content(photo), *photo.shape[-2:]).clamp(0, 1)
    # The decoder trained on the paper's losses alone decoded it 0.12 away on average, with a grey sky.
    assert (decoded - photo).abs().mean() < RECONSTRUCTION_LIMIT
    sky = (slice(None), slice(None), slice(0, 40), slice(100, 200))
    assert decoded[sky][:, 2].mean() - decoded[sky][:, 0].mean() > 0.1  # the sky stays blue
