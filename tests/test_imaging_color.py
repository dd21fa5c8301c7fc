"""Tests for stylecam.imaging.color: YIQ luminance transfer and mean/covariance colour matching."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stylecam.imaging.color import luminance, match_color, rgb_to_yiq, transfer_luminance, yiq_to_rgb
from stylecam.imaging.io import read_image, resize_long_side
from stylecam.imaging.tensors import to_tensor


def stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel means (3) and covariance (3×3) of a 1×3×H×W tensor."""
    pixels = x[0].flatten(1).double()
    return pixels.mean(1), torch.cov(pixels, correction=0)


def correlated(seed: int, mean: list[float], mix: list[list[float]], size: tuple[int, int] = (40, 50)) -> torch.Tensor:
    """1×3×H×W colours mean + mix @ uniform(−1, 1): a known, correlated colour distribution."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(3, size[0] * size[1], generator=generator) * 2 - 1
    pixels = torch.tensor(mean).view(3, 1) + torch.tensor(mix) @ noise
    return pixels.view(1, 3, *size)


def test_luminance_weights() -> None:
    x = torch.eye(3).view(3, 3, 1, 1)  # pure red, green, blue
    assert luminance(x).shape == (3, 1, 1, 1)
    assert torch.allclose(luminance(x).flatten(), torch.tensor([0.299, 0.587, 0.114]))
    grey = torch.full((1, 3, 2, 2), 0.4)
    assert torch.allclose(luminance(grey), torch.full((1, 1, 2, 2), 0.4))
    assert torch.allclose(rgb_to_yiq(grey)[:, 1:], torch.zeros(1, 2, 2, 2), atol=1e-6)


def test_yiq_round_trip() -> None:
    x = torch.rand(2, 3, 8, 9, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-6)
    assert torch.allclose(rgb_to_yiq(x)[:, :1], luminance(x))


def test_transfer_luminance_takes_y_from_stylized_and_iq_from_content() -> None:
    generator = torch.Generator().manual_seed(1)
    stylized = 0.3 + 0.4 * torch.rand(1, 3, 24, 32, generator=generator)
    content = 0.4 + 0.2 * torch.rand(1, 3, 24, 32, generator=generator)
    result = transfer_luminance(stylized, content)
    assert result.shape == stylized.shape
    assert result.min() > 0 and result.max() < 1  # nothing clamped, so the identities are exact
    assert torch.allclose(luminance(result), luminance(stylized), atol=1e-5)
    assert torch.allclose(rgb_to_yiq(result)[:, 1:], rgb_to_yiq(content)[:, 1:], atol=1e-5)


def test_transfer_luminance_gray_stylization_of_colour_content() -> None:
    content = torch.zeros(1, 3, 4, 4)
    content[:, 0] = 0.8  # reddish
    content[:, 1:] = 0.3
    stylized = torch.full((1, 3, 4, 4), 0.5)
    result = transfer_luminance(stylized, content)
    assert (result[:, 0] > result[:, 1]).all()  # chroma comes back
    assert torch.allclose(luminance(result), luminance(stylized), atol=1e-5)


def test_transfer_luminance_resizes_content_and_clamps() -> None:
    stylized = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(2))
    content = torch.zeros(1, 3, 16, 24)
    content[:, 2] = 1.0  # saturated blue: I/Q large enough to push the result out of gamut
    result = transfer_luminance(stylized, content)
    assert result.shape == (1, 3, 32, 48)
    assert result.min() >= 0 and result.max() <= 1
    assert (result[:, 2] >= result[:, 0]).all()


def test_match_color_gives_target_mean_and_covariance() -> None:
    source = correlated(3, [0.3, 0.5, 0.6], [[0.05, 0.02, 0.0], [0.01, 0.06, 0.01], [0.0, 0.03, 0.04]])
    target = correlated(4, [0.6, 0.4, 0.45], [[0.04, 0.0, 0.01], [0.02, 0.03, 0.0], [0.01, 0.01, 0.05]], (30, 70))
    result = match_color(source, target)
    assert result.shape == source.shape and result.dtype == source.dtype
    assert result.min() > 0 and result.max() < 1
    mean_r, cov_r = stats(result)
    mean_t, cov_t = stats(target)
    assert torch.allclose(mean_r, mean_t, atol=1e-5)
    assert torch.allclose(cov_r, cov_t, atol=1e-8)
    assert not torch.allclose(stats(source)[1], cov_t, atol=1e-4)


def test_match_color_to_itself_is_identity() -> None:
    source = correlated(5, [0.5, 0.5, 0.5], [[0.1, 0.05, 0.0], [0.0, 0.1, 0.02], [0.03, 0.0, 0.08]])
    assert torch.allclose(match_color(source, source), source, atol=1e-3)


def test_match_color_grey_images_stay_finite() -> None:
    grey = torch.linspace(0.1, 0.9, 256).view(1, 1, 16, 16).expand(1, 3, 16, 16).contiguous()
    colour = correlated(6, [0.6, 0.3, 0.2], [[0.1, 0.0, 0.0], [0.05, 0.05, 0.0], [0.0, 0.0, 0.05]])
    for source, target in [(grey, colour), (colour, grey), (grey, grey)]:
        result = match_color(source, target)
        assert torch.isfinite(result).all()
        assert torch.allclose(stats(result)[0], stats(target)[0], atol=2e-3)
    flat = torch.full((1, 3, 8, 8), 0.2)
    assert torch.allclose(match_color(flat, colour), stats(colour)[0].float().view(1, 3, 1, 1).expand(1, 3, 8, 8))


def test_match_color_on_real_photos(shared_dir: Path) -> None:
    content_dir = shared_dir / "images" / "content"
    photo = to_tensor(resize_long_side(read_image(content_dir / "golden_gate.jpg"), 256))
    reference = to_tensor(resize_long_side(read_image(content_dir / "amber.jpg"), 200))
    result = match_color(photo, reference)
    assert result.shape == photo.shape
    mean_r, cov_r = stats(result)
    mean_t, cov_t = stats(reference)
    assert torch.allclose(mean_r, mean_t, atol=0.03)  # clamping to 0..1 costs a little
    assert (cov_r - cov_t).abs().max() < 0.2 * cov_t.abs().max()


@pytest.mark.parametrize("batch", [1, 3])
def test_match_color_batches(batch: int) -> None:
    source = torch.rand(3, 3, 10, 12, generator=torch.Generator().manual_seed(7)) * 0.5 + 0.25
    target = torch.rand(batch, 3, 9, 9, generator=torch.Generator().manual_seed(8)) * 0.3 + 0.3
    result = match_color(source, target)
    assert result.shape == source.shape
    for i in range(3):
        assert torch.allclose(stats(result[i : i + 1])[0], stats(target[i % batch : i % batch + 1])[0], atol=1e-4)
