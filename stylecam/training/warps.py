"""Transformations of still photos for the training terms that ask a network to commute with them.

Random smooth warps, for the temporal-stability term (after Huang et al. 2017, ReCoNet): a network whose output
for a slightly warped input equals the warped output flickers less on live video, without any optical flow at
run time. The flips and quarter turns of the square, for the equivariance term: a network whose output for a
flipped photo is its flipped output cannot draw strokes of one fixed orientation over every photo.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_flow(n: int, height: int, width: int, generator: torch.Generator, max_shift: float = 4.0) -> torch.Tensor:
    """N×2×H×W pixel flows: a random translation plus a smooth field, each up to ``max_shift`` pixels."""
    translation = (torch.rand(n, 2, 1, 1, generator=generator) * 2 - 1) * max_shift / 2
    coarse = (torch.rand(n, 2, 4, 4, generator=generator) * 2 - 1) * max_shift / 2
    smooth = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
    return translation + smooth


def border_mask(height: int, width: int, margin: int, device: torch.device | None = None) -> torch.Tensor:
    """1×1×H×W mask that is 0 within ``margin`` pixels of the border, where warps sample outside the image."""
    mask = torch.zeros(1, 1, height, width, device=device)
    mask[..., margin:height - margin, margin:width - margin] = 1.0
    return mask


def dihedral(images: torch.Tensor, element: int) -> torch.Tensor:
    """``images`` (N×C×H×W) under one of the square's eight symmetries: bit 1 flips left-right, bit 2 flips
    top-bottom, bit 4 transposes (applied in that order; 0 is the identity)."""
    if element & 1:
        images = images.flip(-1)
    if element & 2:
        images = images.flip(-2)
    if element & 4:
        images = images.transpose(-1, -2)
    return images
