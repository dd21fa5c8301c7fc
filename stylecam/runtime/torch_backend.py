"""PyTorch backend: a Johnson TransformerNet in eager mode (optionally ``torch.compile``d)."""

from __future__ import annotations

import numpy as np
import torch

from stylecam.nets.transformer import TransformerNet
from stylecam.imaging.frames import frame_to_nchw, nchw_to_frame
from stylecam.runtime.base import StyleMix


class TorchBackend:
    """Runs a :class:`TransformerNet` with PyTorch under ``inference_mode`` (float16 autocast on CUDA); a
    several-style network runs the styles ``mix`` says."""

    name = "torch"

    def __init__(self, net: TransformerNet, device: torch.device, compile: bool = False,
                 mix: StyleMix | None = None) -> None:
        self.device = str(device)
        self._device = device
        self.net = net.to(device).eval()
        self._forward = torch.compile(self.net) if compile else self.net
        self.mix = mix or StyleMix(net.config.styles)

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame."""
        height, width = frame.shape[:2]
        with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=self._device.type == "cuda"):
            x = torch.from_numpy(frame_to_nchw(frame)).to(self._device)
            style = torch.from_numpy(self.mix.vector).to(self._device) if self.mix.names else None
            y = self._forward(x, style)
        return nchw_to_frame(y.float().cpu().numpy(), height, width)
