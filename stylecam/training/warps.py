"""Transformations of still photos for the training terms that ask a network to commute with them.

Random smooth warps, for the temporal-stability term (after Huang et al. 2017, ReCoNet): a network whose output
for a slightly warped input equals the warped output flickers less on live video, without any optical flow at
run time. The flips and quarter turns of the square, for the equivariance term: a network whose output for a
flipped photo is its flipped output cannot draw strokes of one fixed orientation over every photo. Oblique turns,
for the rotation term: a lattice of ±45° and upright lines is unchanged by every flip and quarter turn, so only a
turn by another angle shows that it is drawn in the frame's axes rather than along the photo.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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


def rotate(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """``images`` (N×C×H×W) turned by ``degrees`` about their centre, bilinearly; the corners that the turn brings
    in are the image reflected at its borders (:func:`turn_safe_crop` keeps only what comes from inside)."""
    n, _, h, w = images.shape
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    # affine_grid's coordinates run -1..1 along each side, so a turn of a non-square image rescales by its aspect.
    matrix = torch.tensor([[cos, -sin * h / w, 0.0], [sin * w / h, cos, 0.0]], dtype=images.dtype,
                          device=images.device)
    grid = F.affine_grid(matrix.expand(n, 2, 3), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def turn_safe_crop(images: torch.Tensor, multiple: int = 1) -> torch.Tensor:
    """The centred square of ``images`` (N×C×H×W) that every turn about the centre keeps inside the image (the
    square inscribed in the disk across the shorter side), its side rounded down to a ``multiple``. A network run on
    it has its own frame, borders and corners where the turned image has interior, so a pattern tied to the frame's
    corners or borders shows too."""
    h, w = images.shape[-2:]
    side = int(min(h, w) / math.sqrt(2)) // multiple * multiple
    top, left = (h - side) // 2, (w - side) // 2
    return images[..., top:top + side, left:left + side]


def soften(images: torch.Tensor, sigma: float = 0.5) -> torch.Tensor:
    """``images`` blurred by a 5×5 Gaussian of ``sigma`` pixels (reflected at the borders): about as soft as a
    bilinear resampling at a random sub-pixel offset, while one-pixel lines 3 px apart keep three quarters of their
    contrast."""
    taps = torch.arange(-2, 3, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-taps ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = F.pad(images, (2, 2, 2, 2), mode="reflect")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, 5).expand(channels, 1, 1, 5), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, 5, 1).expand(channels, 1, 5, 1), groups=channels)


def turn_error(stylize: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, output: torch.Tensor,
               degrees: float, multiple: int, margin: int) -> torch.Tensor:
    """Mean squared difference between ``stylize`` run on the :func:`turn_safe_crop` (side a ``multiple``) of
    ``images`` turned by ``degrees`` and the same crop of their stylized ``output`` turned alike, leaving out the
    crop's outer ``margin`` pixels. Both sides are softened (:func:`soften`), so that the resampling's own softening
    of the turned output is not asked of the stylizer; fine hatching still counts."""
    turned = soften(stylize(turn_safe_crop(rotate(images, degrees), multiple)))
    target = soften(turn_safe_crop(rotate(output, degrees), multiple))
    mask = border_mask(*target.shape[-2:], margin=margin, device=images.device)
    return (mask * (turned - target).pow(2)).mean() / mask.mean()
