"""Huang & Belongie's AdaIN: a fixed VGG encoder, adaptive instance normalisation, and a trained decoder.

The encoder is VGG19 up to ``relu4_1`` when the full weights are present, ``relu3_1`` with the truncated ones;
the decoder mirrors the encoder (convolutions reversed, pools replaced by nearest upsampling, reflection padding).
Images are RGB in 0..1 at both ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from stylecam.losses.perceptual import mean_std
from stylecam.nets.vgg import LAYER_TABLE, VGGFeatures, layer_order

ENCODER_LAYERS = ("relu4_1", "relu3_1")
# Replicated border around the content while it is encoded: VGG's zero padding otherwise makes the features along
# the edges unlike any inside, and the decoder draws them as a frame around every picture.
BORDER_PAD = 16


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Renormalise content features to the style features' per-channel mean and std."""
    c_mean, c_std = mean_std(content, eps)
    s_mean, s_std = mean_std(style, eps)
    return (content - c_mean) / c_std * s_std + s_mean


def masked_adain(content: torch.Tensor, style: torch.Tensor, mask: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN with statistics taken over a spatial mask's region only (N×1×H×W, values 0..1).

    The mask is resized to the feature size; features outside the mask are returned unchanged so that several
    styles can be applied to different regions and summed.
    """
    mask = nn.functional.interpolate(mask, size=content.shape[-2:], mode="nearest")
    area = mask.sum(dim=(2, 3), keepdim=True).clamp_min(1.0)
    c_mean = (content * mask).sum(dim=(2, 3), keepdim=True) / area
    c_std = (((content - c_mean) ** 2 * mask).sum(dim=(2, 3), keepdim=True) / area + eps).sqrt()
    s_mean, s_std = mean_std(style, eps)
    return mask * ((content - c_mean) / c_std * s_std + s_mean) + (1 - mask) * content


def default_encoder_layer(vgg: VGGFeatures) -> str:
    """relu4_1 when the weights reach it, else relu3_1."""
    for layer in ENCODER_LAYERS:
        if layer in vgg.available:
            return layer
    vgg.check_layers([ENCODER_LAYERS[-1]])
    raise AssertionError("unreachable")


class AdaINDecoder(nn.Module):
    """Mirror of VGG19 up to ``encoder_layer``: reversed convolutions with ReLU, pools become 2× upsampling."""

    def __init__(self, encoder_layer: str = "relu3_1") -> None:
        super().__init__()
        if encoder_layer not in ENCODER_LAYERS:
            raise ValueError(f"AdaIN encoder layer must be one of {ENCODER_LAYERS}, not {encoder_layer}")
        self.encoder_layer = encoder_layer
        last = layer_order(encoder_layer)
        encoder = [row for row in LAYER_TABLE[: last + 1] if not row[0].startswith("relu")]
        modules: list[nn.Module] = []
        for name, _, cin, cout in reversed(encoder):
            if name.startswith("pool"):
                modules.append(nn.Upsample(scale_factor=2, mode="nearest"))
                continue
            modules += [nn.ReflectionPad2d(1), nn.Conv2d(cout, cin, 3)]
            if name != "conv1_1":
                modules.append(nn.ReLU())
        self.net = nn.Sequential(*modules)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Decode features back to an RGB image (unclamped, nominally 0..1)."""
        return self.net(features)


class AdaINModel(nn.Module):
    """Encoder + AdaIN + decoder, with strength ``alpha`` and weighted interpolation between several styles."""

    def __init__(self, vgg: VGGFeatures, decoder: AdaINDecoder) -> None:
        super().__init__()
        vgg.check_layers([decoder.encoder_layer])
        self.vgg = vgg
        self.decoder = decoder

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """VGG features of an RGB 0..1 image at the decoder's encoder layer."""
        return self.vgg(image, [self.decoder.encoder_layer])[self.decoder.encoder_layer]

    def encode_content(self, content: torch.Tensor) -> torch.Tensor:
        """:meth:`encode` of the content with a replicated border (:data:`BORDER_PAD`), which
        :meth:`decode_content` removes again."""
        return self.encode(F.pad(content, (BORDER_PAD,) * 4, mode="replicate"))

    def decode_content(self, features: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Decode features of :meth:`encode_content` to a ``height``×``width`` image, border removed. The decoder's
        output is a few px off when a side is not a multiple of the encoder's stride, so it is always resized to the
        padded size (an exact identity where it has that size), which also keeps exported graphs right at any size."""
        padded = (height + 2 * BORDER_PAD, width + 2 * BORDER_PAD)
        out = F.interpolate(self.decoder(features), size=padded, mode="bilinear", align_corners=False)
        return out[..., BORDER_PAD:BORDER_PAD + height, BORDER_PAD:BORDER_PAD + width]

    def forward(
        self,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        alpha: float = 1.0,
        weights: Sequence[float] | None = None,
    ) -> torch.Tensor:
        """Stylize ``content`` (N×3×H×W, 0..1) with one or more style images, mixed by ``weights``; the result has
        the content's size."""
        content_features = self.encode_content(content)
        weights = list(weights) if weights is not None else [1.0] * len(styles)
        if len(weights) != len(styles) or not styles:
            raise ValueError("need one weight per style image and at least one style")
        total = float(sum(weights))
        target = sum(
            (w / total) * adain(content_features, self.encode(style)) for w, style in zip(weights, styles)
        )
        assert isinstance(target, torch.Tensor)
        mixed = alpha * target + (1 - alpha) * content_features
        return self.decode_content(mixed, *content.shape[-2:])
