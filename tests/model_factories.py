"""Untrained networks with realistic output ranges, shared by the export and backend tests."""

from __future__ import annotations

import torch

from stylecam.nets.transformer import TIERS, TransformerNet


def random_net(tier: str = "fast", seed: int = 0) -> TransformerNet:
    """A random-init network of a shipped tier whose instance norms have non-trivial affine parameters and whose
    output differs from its input by tens of levels (so differences are measured on realistic magnitudes)."""
    torch.manual_seed(seed)
    net = TransformerNet(TIERS[tier])
    for module in net.modules():
        if isinstance(module, torch.nn.InstanceNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.3, 0.3)
    net.deconv3.conv2d.weight.data *= 30
    if not net.config.residual_output:
        net.deconv3.conv2d.bias.data += 128
    return net.eval()
