"""Colour preservation for style transfer, after Gatys et al. 2017, "Preserving color in neural artistic style
transfer": luminance-only transfer (YIQ) and linear colour matching of mean and covariance.

All functions take and return float tensors N×3×H×W (or N×1×H×W for luminance) with RGB in 0..1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_RGB_TO_YIQ = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=torch.float64,
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)

_EPS = 1e-5
"""Floor for covariance eigenvalues (about one 8-bit level squared): singular covariances (grey images) stay
invertible, and colour variation below quantisation noise is not amplified."""


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    """RGB → YIQ (NTSC), channel-wise on N×3×H×W."""
    return _mix(_RGB_TO_YIQ, x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """YIQ → RGB, the exact inverse of :func:`rgb_to_yiq` (not clamped)."""
    return _mix(_YIQ_TO_RGB, x)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """Luminance Y = 0.299 R + 0.587 G + 0.114 B as N×1×H×W."""
    return _mix(_RGB_TO_YIQ[:1], x)


def transfer_luminance(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Combine the stylized image's luminance with the content image's chrominance (I, Q), clamped to 0..1.

    The content is resized bilinearly to the stylized image's size if they differ; batch sizes must match.
    """
    if content.shape[-2:] != stylized.shape[-2:]:
        content = F.interpolate(content, size=stylized.shape[-2:], mode="bilinear", align_corners=False, antialias=True)
    yiq = torch.cat([luminance(stylized), rgb_to_yiq(content)[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0, 1)


def match_color(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Linearly recolour ``source`` so its per-channel mean and 3×3 colour covariance equal ``target``'s.

    x' = A (x − μs) + μt with A = Σt^½ Σs^−½ (symmetric square roots); the result is clamped to 0..1. Sizes
    may differ; ``target`` may have batch size 1 or the source's.
    """
    pixels = source.flatten(2).double()
    mean_s, cov_s = _mean_cov(pixels)
    mean_t, cov_t = _mean_cov(target.flatten(2).double())
    transform = _sym_power(cov_t, 0.5) @ _sym_power(cov_s, -0.5)
    matched = transform @ (pixels - mean_s) + mean_t
    return matched.view_as(source).to(source.dtype).clamp(0, 1)


def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply a (C_out×3) colour matrix to every pixel of N×3×H×W."""
    return torch.einsum("ij,njhw->nihw", matrix.to(x), x)


def _mean_cov(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image channel mean (N×3×1) and covariance (N×3×3) of N×3×P pixels."""
    mean = pixels.mean(dim=2, keepdim=True)
    centred = pixels - mean
    return mean, centred @ centred.transpose(1, 2) / pixels.shape[2]


def _sym_power(cov: torch.Tensor, power: float) -> torch.Tensor:
    """cov^power for symmetric positive semi-definite N×3×3 matrices, eigenvalues floored at ``_EPS``."""
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)
    scaled = eigenvectors * eigenvalues.clamp_min(_EPS).pow(power).unsqueeze(-2)
    return torch.matmul(scaled, eigenvectors.mT)
