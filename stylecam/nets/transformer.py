"""Johnson et al.'s feed-forward image transformation network, in two tiers.

The module and parameter names match pytorch/examples' ``fast_neural_style`` (``conv1.conv2d``, ``in1``,
``res1.conv1.conv2d`` …) so its checkpoints load unchanged. Changes from the paper, all configurable: instance
norm (Ulyanov et al.), reflection padding, upsample-then-convolve decoding (no checkerboard artefacts), a width
multiplier, the residual-block count, depthwise-separable convolutions, the kernel size of the end layers, and
``space_to_depth``: the network folds each F×F block of pixels into channels on the way in and unfolds its output
the same way (Shi et al. 2016's sub-pixel layout), so every layer runs at 1/F of the resolution while the network
still sees and writes every pixel. Both tiers use F = 2 (their cost beside the same widths at full resolution:
benchmarks/nets.py and benchmarks/realtime.py). ``skips`` (both tiers): each decoder stage adds the encoder's
output of the same size (U-Net-like, additive, no parameters), so the photo's structure reaches the output past
the bottleneck while the style's normalisation rows still recolour every stage.

``styles``: a network for several styles (Dumoulin et al. 2017's conditional instance normalisation). Every
normalisation layer holds one scale and shift row per style; the convolutions are shared. ``forward`` takes a
style-weight vector (N×S): a one-hot row picks a style, a convex mix blends the styles' normalisation parameters.

Convention (pytorch/examples'): input and output are RGB in 0..255. With ``residual_output`` (stylecam's own
tiers) the network predicts a change added to its input, so an untrained network already returns the photo and
training only has to learn the style: far fewer steps than learning the identity from scratch, which matters on
a CPU. pytorch/examples checkpoints use the plain output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from stylecam.nets.upsampling import UPSAMPLING


@dataclass(frozen=True)
class TransformerConfig:
    """Architecture of a :class:`TransformerNet`; saved in every model file."""

    base_channels: int = 32
    residual_blocks: int = 5
    depthwise: bool = False
    end_kernel: int = 9
    residual_output: bool = False
    space_to_depth: int = 1
    skips: bool = False  # U-Net-style additive skips: each decoder stage adds the encoder's output of its size
    styles: tuple[str, ...] = ()  # names of the styles of a conditional network; () = one style, plain norms
    upsample: str = "nearest"  # the decoder's enlargement before each of its convolutions: nearest or bilinear

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))  # lists from JSON/model files
        if len(set(self.styles)) != len(self.styles):
            raise ValueError(f"duplicate style names in {self.styles}")
        if self.upsample not in UPSAMPLING:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLING)}, not {self.upsample!r}")

    @property
    def channels(self) -> tuple[int, int, int]:
        """Widths of the three encoder stages."""
        return self.base_channels, 2 * self.base_channels, 4 * self.base_channels

    @property
    def stride(self) -> int:
        """How much the network downsamples: frame sides that are multiples of it need no resize back."""
        return 4 * self.space_to_depth

    def to_dict(self) -> dict[str, int | bool | list[str]]:
        """Plain-dict form for model files and cards."""
        return {**asdict(self), "styles": list(self.styles)}


# Johnson et al.'s network as pytorch/examples ships it (full resolution, plain output): how a bare state dict is
# read, and the reference the benchmarks compare the tiers with.
PAPER = TransformerConfig()

TIERS: dict[str, TransformerConfig] = {
    # Johnson et al.'s widths (32/64/128, five residual blocks, 9×9 end layers) on 2×2 pixel blocks, with skips:
    # the quality tier (the blocks make a training step ~3.7× cheaper than the paper's full-resolution layers).
    # Both enlarge bilinearly: nearest copies turn oblique level lines into a staircase the network learns to draw
    # as a ±45° lattice (docs/zoo_history.md, *bilinear upsampling*).
    "quality": TransformerConfig(space_to_depth=2, skips=True, upsample="bilinear"),
    # Real time on two CPU cores (benchmarks/realtime.py): 16/32/64 depthwise on 2×2 pixel blocks, with skips
    # (without them the narrow 1/8-resolution bottleneck loses the photo's structure and paints a lattice).
    "fast": TransformerConfig(base_channels=16, residual_blocks=3, depthwise=True, end_kernel=5, space_to_depth=2,
                              skips=True, upsample="bilinear"),
}


class InstanceNorm(nn.InstanceNorm2d):
    """Affine instance norm of a one-style network; takes (and ignores) the style weights like :class:`StyleNorm`."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, affine=True)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:  # noqa: ARG002
        return super().forward(x)


class StyleNorm(nn.Module):
    """Conditional instance norm (Dumoulin et al. 2017): one scale and shift row per style, mixed by style weights."""

    def __init__(self, channels: int, styles: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(styles, channels))
        self.shift = nn.Parameter(torch.zeros(styles, channels))

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        """Normalise ``x`` (N×C×H×W) and apply ``style`` (N×S or 1×S weights) @ the per-style parameters."""
        assert style is not None, "a conditional network needs style weights"
        scale, shift = style @ self.scale, style @ self.shift
        if style.shape[0] == 1:  # one style vector for the batch: a plain InstanceNormalization op in ONNX
            return F.instance_norm(x, weight=scale[0], bias=shift[0])
        return F.instance_norm(x) * scale[:, :, None, None] + shift[:, :, None, None]


def make_norm(channels: int, config: TransformerConfig) -> nn.Module:
    """The normalisation layer a network of ``config`` uses: conditional for several styles, else affine."""
    return StyleNorm(channels, len(config.styles)) if config.styles else InstanceNorm(channels)


class ConvLayer(nn.Module):
    """Reflection-padded convolution, optionally depthwise-separable (depthwise k×k, then pointwise 1×1)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, depthwise: bool = False) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d: nn.Module
        if depthwise:
            self.conv2d = nn.Sequential(
                nn.Conv2d(cin, cin, kernel, stride, groups=cin, bias=False), nn.Conv2d(cin, cout, 1)
            )
        else:
            self.conv2d = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.reflection_pad(x))


# Bilinear ×2 enlargement (half-pixel centres, clamped edges) is nearest-neighbour ×2 followed by this blur with
# replicated edges; after a reflection pad the blur and a depthwise convolution fold into one larger kernel.
BILINEAR_BLUR = torch.tensor([1.0, 2.0, 1.0]).outer(torch.tensor([1.0, 2.0, 1.0])) / 16


class UpsampleConvLayer(ConvLayer):
    """Upsampling (``mode``: one of :data:`UPSAMPLING`) followed by a :class:`ConvLayer` (Odena et al.'s fix for
    checkerboards)."""

    def __init__(self, cin: int, cout: int, kernel: int, upsample: int, depthwise: bool = False,
                 mode: str = "nearest") -> None:
        super().__init__(cin, cout, kernel, 1, depthwise)
        self.upsample = upsample
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "bilinear" and self.upsample == 2 and isinstance(self.conv2d, nn.Sequential) \
                and not self.training:
            return self.folded_bilinear(x)
        corners = {} if self.mode == "nearest" else {"align_corners": False}
        return super().forward(F.interpolate(x, scale_factor=self.upsample, mode=self.mode, **corners))

    def folded_bilinear(self, x: torch.Tensor) -> torch.Tensor:
        """The bilinear ×2 depthwise layer at inference, exactly: nearest ×2, a reflection pad one pixel wider and
        the depthwise kernel convolved with :data:`BILINEAR_BLUR`. A k×k depthwise convolution costs about what a
        (k+2)×(k+2) one does, and a nearest enlargement far less than a bilinear one (ONNX Runtime on two cores:
        about 2.7 ms less per 640×360 frame in the fast tier)."""
        depthwise, pointwise = self.conv2d[0], self.conv2d[1]
        blur = BILINEAR_BLUR.to(depthwise.weight).expand(depthwise.weight.shape[0], 1, 3, 3)
        kernel = F.conv2d(depthwise.weight.transpose(0, 1), blur.flip(-1, -2), padding=2,
                          groups=depthwise.weight.shape[0]).transpose(0, 1)
        pad = self.reflection_pad.padding[0] + 1
        x = F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (pad,) * 4, mode="reflect")
        return pointwise(F.conv2d(x, kernel, groups=depthwise.groups))


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with instance norm and an identity shortcut (no activation after the sum)."""

    def __init__(self, channels: int, config: TransformerConfig) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3, depthwise=config.depthwise)
        self.in1 = make_norm(channels, config)
        self.conv2 = ConvLayer(channels, channels, 3, depthwise=config.depthwise)
        self.in2 = make_norm(channels, config)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        out = self.relu(self.in1(self.conv1(x), style))
        return self.in2(self.conv2(out), style) + x


def block_kernel(factor: int) -> torch.Tensor:
    """One-hot (3·F²)×3×F×F kernel: a stride-F convolution with it is ``pixel_unshuffle`` (same channel order), the
    transposed convolution is ``pixel_shuffle``. As convolutions they take any size (an odd last row is dropped)
    and export to ONNX without shape arithmetic."""
    kernel = torch.zeros(3 * factor * factor, 3, factor, factor)
    for c in range(3):
        for i in range(factor):
            for j in range(factor):
                kernel[(c * factor + i) * factor + j, c, i, j] = 1.0
    return kernel


class TransformerNet(nn.Module):
    """Image transformation network: 3 down convs, residual blocks, 2 upsample convs, an output conv.

    The end layers act on 3·F² channels (F = ``space_to_depth``), so they stay standard convolutions in every tier.
    """

    def __init__(self, config: TransformerConfig | None = None) -> None:
        super().__init__()
        self.config = config or PAPER
        c1, c2, c3 = self.config.channels
        k, dw = self.config.end_kernel, self.config.depthwise
        pixels = 3 * self.config.space_to_depth ** 2
        cfg = self.config
        self.conv1 = ConvLayer(pixels, c1, k)
        self.in1 = make_norm(c1, cfg)
        self.conv2 = ConvLayer(c1, c2, 3, 2, dw)
        self.in2 = make_norm(c2, cfg)
        self.conv3 = ConvLayer(c2, c3, 3, 2, dw)
        self.in3 = make_norm(c3, cfg)
        for i in range(1, self.config.residual_blocks + 1):
            self.add_module(f"res{i}", ResidualBlock(c3, cfg))
        self.deconv1 = UpsampleConvLayer(c3, c2, 3, 2, dw, cfg.upsample)
        self.in4 = make_norm(c2, cfg)
        self.deconv2 = UpsampleConvLayer(c2, c1, 3, 2, dw, cfg.upsample)
        self.in5 = make_norm(c1, cfg)
        self.deconv3 = ConvLayer(c1, pixels, k)
        self.relu = nn.ReLU()
        if self.config.space_to_depth > 1:
            self.register_buffer("block_kernel", block_kernel(self.config.space_to_depth), persistent=False)
        if not self.config.residual_output:
            output_conv = self.deconv3.conv2d
            assert isinstance(output_conv, nn.Conv2d)
            nn.init.constant_(output_conv.bias, 127.5)  # start at mid-grey: the output need not climb from 0

    def style_weights(self, mix: dict[str, float] | str | None = None) -> torch.Tensor | None:
        """The 1×S weight vector for a style name or a {name: weight} mix (weights as given; None = the first
        style); None for a one-style network. Unknown names raise a ValueError listing the styles."""
        names = self.config.styles
        if not names:
            return None
        chosen = {names[0]: 1.0} if mix is None else {mix: 1.0} if isinstance(mix, str) else mix
        unknown = [name for name in chosen if name not in names]
        if unknown:
            raise ValueError(f"unknown style {', '.join(unknown)}; this network has: {', '.join(names)}")
        weights = torch.zeros(1, len(names), device=next(self.parameters()).device)
        for name, weight in chosen.items():
            weights[0, names.index(name)] = weight
        return weights

    def body(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Everything but the residual sum; for sides not divisible by the stride the result is a few px off."""
        if self.config.space_to_depth == 1:
            return self.layers(x, style)
        f = self.config.space_to_depth
        folded = F.conv2d(x, self.block_kernel, stride=f)
        return F.conv_transpose2d(self.layers(folded, style), self.block_kernel, stride=f)

    def layers(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """The convolutional layers, input to output convolution."""
        full = self.relu(self.in1(self.conv1(x), style))
        half = self.relu(self.in2(self.conv2(full), style))
        y = self.relu(self.in3(self.conv3(half), style))
        for i in range(1, self.config.residual_blocks + 1):
            y = getattr(self, f"res{i}")(y, style)
        y = self.relu(self.in4(self.deconv1(y), style))
        if self.config.skips:
            y = _crop_to(y, half) + half
        y = self.relu(self.in5(self.deconv2(y), style))
        if self.config.skips:
            y = _crop_to(y, full) + full
        return self.deconv3(y)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Stylize RGB images in 0..255 (N×3×H×W); the output is unclamped, nominally 0..255.

        ``style``: N×S or 1×S style weights of a conditional network (default: its first style); ignored otherwise.
        """
        if style is None and self.config.styles:
            style = self.style_weights()
        y = self.body(x, style)
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y + x if self.config.residual_output else y


def _crop_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` cut to ``like``'s height and width (an upsampled odd side comes back one pixel larger)."""
    return x[..., : like.shape[-2], : like.shape[-1]]


def infer_config(state_dict: dict[str, torch.Tensor]) -> TransformerConfig:
    """Recover the architecture from a bare state dict's shapes (pytorch/examples checkpoints: plain output)."""
    try:
        conv1 = state_dict["conv1.conv2d.weight"]
    except KeyError:
        raise ValueError("no conv1.conv2d.weight: not a Johnson TransformerNet state dict") from None
    residual = sorted({int(k.split(".")[0][3:]) for k in state_dict if k.startswith("res") and k[3].isdigit()})
    return TransformerConfig(
        base_channels=int(conv1.shape[0]),
        residual_blocks=len(residual),
        depthwise="conv2.conv2d.0.weight" in state_dict,
        end_kernel=int(conv1.shape[-1]),
        space_to_depth=math.isqrt(int(conv1.shape[1]) // 3),
    )


def count_flops(config: TransformerConfig, height: int, width: int) -> int:
    """Multiply-adds ×2 of the layers' convolutions for one H×W frame (norms, activations and the one-hot pixel-block
    fold and unfold, which only move data, are left out)."""
    net = TransformerNet(config)
    total = 0

    def hook(module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, nn.Conv2d)
        kh, kw = module.kernel_size
        per_output = kh * kw * module.in_channels // module.groups
        total += 2 * per_output * output.numel()

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(torch.zeros(1, 3, height, width))
    for handle in handles:
        handle.remove()
    return total


def fold_into_blocks(net: TransformerNet, factor: int) -> TransformerNet:
    """``net`` rebuilt with ``space_to_depth=factor``, doing what ``net`` does on the frame shrunk by ``factor``.

    The first convolution sees the mean of each block and the output convolution writes its result to every pixel
    of the block, the other layers are copied: the result equals ``net`` run on the block-averaged frame with its
    change enlarged (nearest neighbour). A starting point for training the folded architecture from a trained
    network of the same widths (``styletrain johnson --init``), which then only has to refine the stroke scale.
    """
    if net.config.space_to_depth != 1:
        raise ValueError("the network is already folded")
    folded = TransformerNet(replace(net.config, space_to_depth=factor))
    state = net.state_dict()
    blocks = factor * factor
    state["conv1.conv2d.weight"] = state["conv1.conv2d.weight"].repeat_interleave(blocks, dim=1) / blocks
    state["deconv3.conv2d.weight"] = state["deconv3.conv2d.weight"].repeat_interleave(blocks, dim=0)
    state["deconv3.conv2d.bias"] = state["deconv3.conv2d.bias"].repeat_interleave(blocks)
    folded.load_state_dict(state)
    return folded


def tier_of(config: TransformerConfig) -> str:
    """The name of the tier ``config`` is (whatever its styles and upsampling), or ``custom``."""
    return next((name for name, tier in TIERS.items() if tier == replace(config, styles=(), upsample=tier.upsample)),
                "custom")


def with_styles(net: TransformerNet, names: tuple[str, ...]) -> TransformerNet:
    """``net``'s architecture and shared weights holding the styles ``names``.

    A style ``net`` already has keeps its normalisation rows; a new one starts from the mean of ``net``'s rows (or
    from a one-style network's own norms), so it first looks like a blend of what the network knew. The shared
    convolutions are copied unchanged.
    """
    result = TransformerNet(replace(net.config, styles=names))
    state = net.state_dict()
    own = result.state_dict()
    for key in own:
        if key.endswith((".scale", ".shift")) and key not in state:  # from a one-style network's .weight/.bias
            stem, kind = key.rsplit(".", 1)
            source = state[f"{stem}.{'weight' if kind == 'scale' else 'bias'}"]
            own[key] = source.unsqueeze(0).repeat(len(names), 1)
        elif key.endswith((".scale", ".shift")):
            rows = state[key]
            mean = rows.mean(0)
            own[key] = torch.stack([rows[net.config.styles.index(n)] if n in net.config.styles else mean
                                    for n in names])
        else:
            own[key] = state[key]
    result.load_state_dict(own)
    return result


def add_style(net: TransformerNet, name: str) -> TransformerNet:
    """``net`` with one more style ``name`` at the end (see :func:`with_styles`)."""
    return with_styles(net, (*net.config.styles, name))


def freeze_all_but_styles(net: TransformerNet, indices: Sequence[int]) -> None:
    """Leave only the normalisation scales and shifts of the styles ``indices`` trainable: every other weight of
    ``net`` stops taking gradients, and the other styles' rows get a zero gradient (so Adam leaves them exactly as
    they were)."""
    mask = torch.zeros(len(net.config.styles), 1)
    mask[list(indices)] = 1.0
    for module in net.modules():
        for param in module.parameters(recurse=False):
            if isinstance(module, StyleNorm):
                param.register_hook(lambda grad: grad * mask.to(grad.device))
            else:
                param.requires_grad_(False)
