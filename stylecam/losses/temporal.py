"""Temporal consistency after Ruder et al.: flow warping, occlusion masks and the short-term temporal loss.

Flows are N×2×H×W tensors in pixels, (dx, dy), following the backward-warping convention: the warped image
at pixel p samples the source image at p + flow(p).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _base_grid(n: int, h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    ys, xs = torch.meshgrid(
        torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype), indexing="ij"
    )
    return torch.stack((xs, ys)).unsqueeze(0).expand(n, 2, h, w)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward-warp N×C×H×W ``image`` by N×2×H×W pixel ``flow`` (bilinear, border-replicated)."""
    n, _, h, w = image.shape
    coords = _base_grid(n, h, w, image.device, image.dtype) + flow
    grid_x = 2.0 * coords[:, 0] / max(w - 1, 1) - 1.0
    grid_y = 2.0 * coords[:, 1] / max(h - 1, 1) - 1.0
    grid = torch.stack((grid_x, grid_y), dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def occlusion_mask(flow_fw: torch.Tensor, flow_bw: torch.Tensor) -> torch.Tensor:
    """Ruder et al.'s reliability mask (N×1×H×W, 1 = reliable) for warping frame t-1 into frame t.

    ``flow_bw`` maps frame t to t-1 (the flow used to warp), ``flow_fw`` maps t-1 to t. A pixel is unreliable
    where the round trip does not return (|w + ŵ|² > 0.01 (|w|² + |ŵ|²) + 0.5, a disocclusion) or on a motion
    boundary (|∇ŵ_u|² + |∇ŵ_v|² > 0.01 |ŵ|² + 0.002).
    """
    fw_at_bw = warp(flow_fw, flow_bw)
    round_trip = (fw_at_bw + flow_bw).pow(2).sum(1, keepdim=True)
    magnitude = fw_at_bw.pow(2).sum(1, keepdim=True) + flow_bw.pow(2).sum(1, keepdim=True)
    disoccluded = round_trip > 0.01 * magnitude + 0.5
    grad_x = F.pad(flow_bw[..., :, 1:] - flow_bw[..., :, :-1], (0, 1, 0, 0))
    grad_y = F.pad(flow_bw[..., 1:, :] - flow_bw[..., :-1, :], (0, 0, 0, 1))
    gradient = (grad_x.pow(2) + grad_y.pow(2)).sum(1, keepdim=True)
    boundary = gradient > 0.01 * flow_bw.pow(2).sum(1, keepdim=True) + 0.002
    return (~(disoccluded | boundary)).to(flow_bw.dtype)


def temporal_loss(output: torch.Tensor, warped_previous: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ruder et al.'s short-term temporal loss: (1/D) Σ c · (x − ω(x_prev))², D = number of pixel values."""
    return (mask * (output - warped_previous).pow(2)).mean()
