"""TransformerNet tiers: shapes, config recovery from state dicts, FLOP count, depthwise convolutions, folding."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stylecam.imaging.sizes import NET_STRIDE
from stylecam.nets.transformer import (
    PAPER,
    TIERS,
    TransformerConfig,
    TransformerNet,
    count_flops,
    fold_into_blocks,
    infer_config,
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("size", [(32, 48), (37, 53), (41, 40)])
def test_output_shape_equals_input_shape(tier: str, size: tuple[int, int]) -> None:
    net = TransformerNet(TIERS[tier]).eval()
    x = torch.rand(2, 3, *size) * 255
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    # The two images of the batch are processed independently (instance norm, no batch statistics).
    with torch.no_grad():
        y0 = net(x[:1])
    torch.testing.assert_close(y[:1], y0, rtol=1e-4, atol=1e-3)
    # And the output really depends on the input.
    assert not torch.allclose(y[0], y[1])


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_infer_config_recovers_tier(tier: str) -> None:
    config = TIERS[tier]
    state = TransformerNet(config).state_dict()
    # A bare state dict cannot say whether the output is residual, has skips or enlarges bilinearly (none has
    # weights of its own): it is read as pytorch/examples' plain form.
    assert infer_config(state) == dataclasses.replace(config, residual_output=False, skips=False, upsample="nearest")


def test_infer_config_recovers_nondefault_config() -> None:
    config = TransformerConfig(base_channels=8, residual_blocks=2, depthwise=False, end_kernel=7)
    state = TransformerNet(config).state_dict()
    assert infer_config(state) == config
    assert infer_config(state) != PAPER


def test_tiers_differ() -> None:
    assert PAPER == TransformerConfig(base_channels=32, residual_blocks=5, depthwise=False, end_kernel=9)
    # The quality tier has the paper's widths, on 2x2 pixel blocks, with skips and bilinear enlargement, like the
    # fast tier.
    assert TIERS["quality"] == dataclasses.replace(PAPER, space_to_depth=2, skips=True, upsample="bilinear")
    assert PAPER.upsample == "nearest" and TIERS["fast"].upsample == "bilinear"
    assert not TIERS["quality"].residual_output and not TIERS["fast"].residual_output  # they repaint the photo
    assert TIERS["fast"].depthwise and TIERS["fast"].base_channels < TIERS["quality"].base_channels


def test_infer_config_rejects_foreign_state_dict() -> None:
    with pytest.raises(ValueError, match="conv1.conv2d.weight"):
        infer_config(nn.Linear(3, 4).state_dict())


def test_count_flops_paper_network_640x360_by_hand() -> None:
    h, w = 360, 640
    # Multiply-accumulates of every convolution: k*k*cin/groups per output value, times the output count.
    # Spatial sizes: stride-2 convs with reflection padding 1 on 360x640 give 180x320, then 90x160;
    # the two upsampling layers go back to 180x320 and 360x640.
    per_layer = {
        "conv1": (9 * 9 * 3) * 32 * (360 * 640),  # 3->32, 9x9, full resolution: 1,791,590,400
        "conv2": (3 * 3 * 32) * 64 * (180 * 320),  # 32->64, 3x3 stride 2: 1,061,683,200
        "conv3": (3 * 3 * 64) * 128 * (90 * 160),  # 64->128, 3x3 stride 2: 1,061,683,200
        "res": 5 * 2 * (3 * 3 * 128) * 128 * (90 * 160),  # 5 blocks x 2 convs, 128->128: 21,233,664,000
        "deconv1": (3 * 3 * 128) * 64 * (180 * 320),  # upsample x2, 128->64 3x3: 4,246,732,800
        "deconv2": (3 * 3 * 64) * 32 * (360 * 640),  # upsample x2, 64->32 3x3: 4,246,732,800
        "deconv3": (9 * 9 * 32) * 3 * (360 * 640),  # 32->3, 9x9: 1,791,590,400
    }
    assert per_layer["res"] == 21_233_664_000
    macs = sum(per_layer.values())
    assert macs == 35_433_676_800  # about 35.4 GMAC (70.9 GFLOP) per 640x360 frame
    assert count_flops(PAPER, h, w) == 2 * macs
    # On 2x2 blocks (the quality tier) the five residual blocks work at 1/8 of the frame: a quarter of the cost.
    assert count_flops(TIERS["quality"], h, w) < count_flops(PAPER, h, w) / 3


def test_count_flops_fast_tier_is_much_cheaper_and_counts_groups() -> None:
    config = TIERS["fast"]
    h, w = 64, 96
    assert count_flops(config, h, w) < count_flops(TIERS["quality"], h, w) / 10
    # A depthwise 3x3 on c channels costs 9 MACs per output value (not 9*c*c): the whole tier by hand. It works
    # on 2x2 pixel blocks, so its stages are at 1/2, 1/4 and 1/8 of the frame and its end layers see 12 channels.
    c1, c2, c3 = config.channels
    k = config.end_kernel
    assert config.space_to_depth == 2
    half, quarter, eighth = (h // 2) * (w // 2), (h // 4) * (w // 4), (h // 8) * (w // 8)
    macs = 0
    macs += k * k * 12 * c1 * half  # conv1 (standard)
    macs += 9 * c1 * quarter + c1 * c2 * quarter  # conv2: depthwise s2 + pointwise
    macs += 9 * c2 * eighth + c2 * c3 * eighth  # conv3
    macs += config.residual_blocks * 2 * (9 * c3 + c3 * c3) * eighth  # residual convs
    macs += (9 * c3 + c3 * c2) * quarter  # deconv1
    macs += (9 * c2 + c2 * c1) * half  # deconv2
    macs += k * k * c1 * 12 * half  # deconv3 (standard)
    assert count_flops(config, h, w) == 2 * macs


def test_size_rounding_uses_the_fast_tiers_stride() -> None:
    # imaging.sizes keeps torch out of the CLI's start-up, so it holds the stride as a constant of its own.
    assert NET_STRIDE == TIERS["fast"].stride == 8


def test_folding_a_network_into_blocks_equals_running_it_on_the_shrunk_frame() -> None:
    residual = dataclasses.replace(TIERS["fast"], residual_output=True)  # the tier the folded zoo was made in
    full = TransformerNet(dataclasses.replace(residual, space_to_depth=1)).eval()
    for param in full.parameters():  # away from the untrained near-identity, so a wrong mapping shows
        param.data += 0.05 * torch.randn_like(param)
    folded = fold_into_blocks(full, 2).eval()
    assert folded.config == residual
    x = torch.rand(1, 3, 64, 96) * 255
    with torch.no_grad():
        shrunk = F.avg_pool2d(x, 2)
        expected = x + F.interpolate(full(shrunk) - shrunk, scale_factor=2, mode="nearest")
        got = folded(x)
        assert (full(x) - x).abs().mean() > 0.1
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="already folded"):
        fold_into_blocks(folded, 2)


def test_depthwise_uses_groups() -> None:
    net = TransformerNet(TIERS["fast"])
    c1, c2, c3 = TIERS["fast"].channels
    # conv2 is depthwise 3x3 (groups = input channels) followed by a pointwise 1x1.
    depthwise, pointwise = net.conv2.conv2d[0], net.conv2.conv2d[1]
    assert isinstance(depthwise, nn.Conv2d) and isinstance(pointwise, nn.Conv2d)
    assert depthwise.groups == c1 == depthwise.in_channels == depthwise.out_channels
    assert tuple(depthwise.weight.shape) == (c1, 1, 3, 3)
    assert depthwise.stride == (2, 2)
    assert pointwise.kernel_size == (1, 1) and tuple(pointwise.weight.shape) == (c2, c1, 1, 1)
    # Every 3x3 conv inside the network is grouped; only the 3-channel end layers stay standard.
    grouped = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(grouped) == 2 + 2 * TIERS["fast"].residual_blocks + 2
    assert all(m.groups == m.in_channels for m in grouped)
    assert net.conv1.conv2d.groups == 1 and net.deconv3.conv2d.groups == 1
    # Behaviourally: the depthwise conv mixes no channels, so zeroing channel 0 of its input only changes
    # channel 0 of its output.
    x = torch.randn(1, c1, 8, 8)
    x2 = x.clone()
    x2[:, 0] = 0
    with torch.no_grad():
        diff = (depthwise(x) - depthwise(x2)).abs().sum(dim=(0, 2, 3))
    assert diff[0] > 0
    assert torch.all(diff[1:] == 0)
    # Fewer parameters than the standard version of the same widths.
    standard = TransformerNet(TransformerConfig(16, 3, False, 5))
    n_dw = sum(p.numel() for p in net.parameters())
    n_std = sum(p.numel() for p in standard.parameters())
    assert n_dw < n_std / 3


def test_quality_tier_has_no_groups() -> None:
    net = TransformerNet(TIERS["quality"])
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 + 2 * 5 + 3
    assert all(m.groups == 1 for m in convs)


def test_residual_output_returns_the_input_plus_a_change() -> None:
    net = TransformerNet(dataclasses.replace(TIERS["fast"], residual_output=True)).eval()
    x = torch.rand(1, 3, 40, 52) * 255
    with torch.no_grad():
        y = net(x)
        plain = TransformerNet(dataclasses.replace(TIERS["fast"], residual_output=False))
        plain.load_state_dict(net.state_dict())
        assert torch.allclose(y, plain.eval()(x) + x, atol=1e-4)
    # Untrained, the change is small: the photo comes through almost untouched.
    assert (y - x).abs().mean() < 5.0


def test_bilinear_upsampling_is_a_config_choice_that_keeps_the_weights_and_the_tier() -> None:
    from model_factories import random_net

    from stylecam.nets.transformer import tier_of

    bilinear = random_net("fast")
    nearest = TransformerNet(dataclasses.replace(TIERS["fast"], upsample="nearest")).eval()
    nearest.load_state_dict(bilinear.state_dict())  # the same weights: only the enlargement differs
    assert tier_of(nearest.config) == tier_of(bilinear.config) == "fast"
    x = torch.rand(1, 3, 48, 64) * 255
    with torch.no_grad():
        a, b = nearest(x), bilinear(x)
    assert a.shape == b.shape == x.shape
    assert (a - b).abs().max() > 5.0
    with pytest.raises(ValueError, match="upsample must be one of nearest, bilinear"):
        TransformerConfig(upsample="cubic")


@pytest.mark.parametrize("height, width", [(48, 64), (40, 56), (52, 60)])
def test_folded_bilinear_layers_at_inference_equal_bilinear_enlargement_then_the_depthwise_convolution(
        height: int, width: int) -> None:
    from model_factories import random_net

    net = TransformerNet(dataclasses.replace(TIERS["fast"], upsample="bilinear"))
    net.load_state_dict(random_net("fast").state_dict())
    layer = net.deconv2
    x = torch.randn(2, layer.conv2d[0].in_channels, height // 8, width // 8)
    with torch.no_grad():
        plain = layer.train()(x)  # training: F.interpolate(bilinear), reflection pad 1, depthwise 3×3, pointwise
        folded = layer.eval()(x)  # inference: nearest, reflection pad 2, depthwise 5×5, pointwise
    assert folded.shape == plain.shape == (2, layer.conv2d[1].out_channels, height // 8 * 2, width // 8 * 2)
    assert torch.allclose(folded, plain, atol=1e-4), (folded - plain).abs().max()
    with torch.no_grad():  # and the whole network, either way
        x = torch.rand(1, 3, height, width) * 255
        assert torch.allclose(net.train()(x), net.eval()(x), atol=1e-3)
