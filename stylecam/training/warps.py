"""Random smooth warps of still photos, for the temporal-stability term (after Huang et al. 2017, ReCoNet).

A network whose output for a slightly warped input equals the warped output flickers less on live video,
without any optical flow at run time.
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
