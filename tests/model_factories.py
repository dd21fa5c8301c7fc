"""Untrained networks with realistic output ranges, shared by the export, backend and live tests."""

from __future__ import annotations

import torch

from stylecam.nets.transformer import TIERS, TransformerNet


def random_net(tier: str = "fast", seed: int = 0, shift: float = 0.0) -> TransformerNet:
    """A random-init network of a shipped tier whose instance norms have non-trivial affine parameters and whose
    output differs from its input by tens of levels of texture plus a colour ``shift`` (for the plain-output
    form, around mid-grey), so that differences are measured on realistic magnitudes."""
    torch.manual_seed(seed)
    net = TransformerNet(TIERS[tier])
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.InstanceNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
        net.deconv3.conv2d.weight.mul_(30.0)
        net.deconv3.conv2d.bias.fill_(shift if net.config.residual_output else 128.0 + shift)
    return net.eval()
