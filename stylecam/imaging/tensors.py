"""Conversion between uint8 H×W×3 RGB arrays (I/O boundary) and float N×3×H×W tensors in 0..1 (networks)."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(image: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """A uint8 H×W×3 RGB array as a float tensor 1×3×H×W in 0..1 on ``device``."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 H×W×3 array, got {image.dtype} {image.shape}")
    pixels = torch.tensor(image, device=device)  # copies, so read-only arrays are fine
    return pixels.permute(2, 0, 1).unsqueeze(0).contiguous().float().div_(255)


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """A float tensor 1×3×H×W or 3×H×W in 0..1 as a uint8 H×W×3 RGB array (clamped, rounded)."""
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.dim() != 3 or tensor.shape[0] != 3:
        raise ValueError(f"expected a 1×3×H×W or 3×H×W tensor, got {tuple(tensor.shape)}")
    pixels = tensor.detach().clamp(0, 1).mul(255).round().to(torch.uint8).cpu()
    return pixels.permute(1, 2, 0).contiguous().numpy()
