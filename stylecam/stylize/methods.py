"""The three ways to stylize a still image, behind one call: ``method(content) -> stylized`` (RGB 0..1 tensors).

Colour preservation after Gatys et al. 2016 ("Preserving color in neural artistic style transfer"):
``luminance`` transfers style on luminance only and keeps the content's chrominance; ``histogram`` matches
colour statistics (the style images' to the content before optimisation or encoding; for a trained Johnson
network, whose style is fixed, the output's to the content).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from stylecam.imaging.color import luminance, match_color, transfer_luminance
from stylecam.nets.adain import AdaINModel
from stylecam.nets.transformer import TransformerNet
from stylecam.nets.vgg import VGGFeatures
from stylecam.stylize.gatys import GatysSettings, gatys

COLOR_MODES = ("luminance", "histogram")


def run_transformer(net: TransformerNet, image: torch.Tensor, mix: dict[str, float] | None = None) -> torch.Tensor:
    """One feed-forward pass of a Johnson network on RGB 0..1 images (its own convention is 0..255); ``mix``: the
    styles of a several-style network and their weights (default its first style)."""
    with torch.inference_mode():
        return (net(image * 255.0, net.style_weights(mix)) / 255.0).clamp(0.0, 1.0)


def _luminance_rgb(image: torch.Tensor) -> torch.Tensor:
    return luminance(image).expand(-1, 3, -1, -1)


def _match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style's luminance as RGB, its mean and std matched to the content's luminance (Gatys et al.)."""
    s, c = luminance(style), luminance(content)
    matched = (s - s.mean()) / (s.std() + 1e-6) * c.std() + c.mean()
    return matched.clamp(0.0, 1.0).expand(-1, 3, -1, -1)


@dataclass
class JohnsonMethod:
    """A trained feed-forward network (one style, or a mix of the styles of a several-style network)."""

    net: TransformerNet
    preserve_color: str | None = None
    mix: dict[str, float] | None = None

    def __call__(self, content: torch.Tensor) -> torch.Tensor:
        out = run_transformer(self.net, content, self.mix)
        if self.preserve_color == "luminance":
            return transfer_luminance(out, content)
        if self.preserve_color == "histogram":
            return match_color(out, content)
        return out


@dataclass
class AdaINMethod:
    """Arbitrary style in one pass: encoder, AdaIN with strength ``alpha``, trained decoder."""

    model: AdaINModel
    styles: Sequence[torch.Tensor]
    weights: Sequence[float] | None = None
    alpha: float = 1.0
    preserve_color: str | None = None

    def __call__(self, content: torch.Tensor) -> torch.Tensor:
        styles = list(self.styles)
        if self.preserve_color == "histogram":
            styles = [match_color(style, content) for style in styles]
        with torch.inference_mode():
            out = self.model(content, styles, self.alpha, self.weights).clamp(0.0, 1.0)
        if self.preserve_color == "luminance":
            return transfer_luminance(out, content)
        return out


@dataclass
class GatysMethod:
    """Optimisation against VGG losses (slow, any style, the quality reference)."""

    vgg: VGGFeatures
    styles: Sequence[torch.Tensor]
    weights: Sequence[float] | None = None
    init: str | torch.Tensor = "content"
    settings: GatysSettings = field(default_factory=GatysSettings)
    preserve_color: str | None = None

    def __call__(self, content: torch.Tensor) -> torch.Tensor:
        styles, target, init = list(self.styles), content, self.init
        if self.preserve_color == "histogram":
            styles = [match_color(style, content) for style in styles]
        elif self.preserve_color == "luminance":
            styles = [_match_luminance(style, content) for style in styles]
            target = _luminance_rgb(content)
            if isinstance(init, torch.Tensor):
                init = _luminance_rgb(init)
            elif init == "content":
                init = target
        out = gatys(self.vgg, target, styles, self.weights, init, self.settings)
        if self.preserve_color == "luminance":
            return transfer_luminance(out, content)
        return out
