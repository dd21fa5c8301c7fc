"""Model files: stylecam's format, pytorch/examples fast_neural_style checkpoints, and broken or foreign files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from stylecam.errors import ModelError
from stylecam.nets.adain import AdaINDecoder
from stylecam.nets.checkpoints import load_adain_decoder, load_transformer, save_model
from stylecam.nets.transformer import PAPER, TIERS, TransformerNet


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# --- a faithful copy of pytorch/examples' fast_neural_style/neural_style/transformer_net.py -----------------


class RefConvLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class RefResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = RefConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = RefConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class RefUpsampleConvLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, upsample=None) -> None:
        super().__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = x
        if self.upsample:
            x_in = nn.functional.interpolate(x_in, mode="nearest", scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


class RefTransformerNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = RefConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = RefConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = RefConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1 = RefResidualBlock(128)
        self.res2 = RefResidualBlock(128)
        self.res3 = RefResidualBlock(128)
        self.res4 = RefResidualBlock(128)
        self.res5 = RefResidualBlock(128)
        self.deconv1 = RefUpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = RefUpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = RefConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = nn.ReLU()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y


def _randomise(model: nn.Module) -> nn.Module:
    """Give every parameter (instance-norm affine ones included) non-default random values."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if ".weight" in name and param.dim() == 1:  # instance-norm scale
                param.copy_(1.0 + 0.3 * torch.randn_like(param))
            elif param.dim() == 1:
                param.copy_(0.2 * torch.randn_like(param))
    return model


def _stale_norm_stats(model: nn.Module) -> dict[str, torch.Tensor]:
    """The running-stat buffers pre-0.4 PyTorch saved for every InstanceNorm2d (in1 … in5, resN.in1/in2)."""
    extra: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.InstanceNorm2d):
            extra[f"{name}.running_mean"] = torch.randn(module.num_features) * 10
            extra[f"{name}.running_var"] = torch.rand(module.num_features) * 10 + 0.5
    return extra


@pytest.fixture(scope="module")
def reference() -> RefTransformerNet:
    torch.manual_seed(1)
    return _randomise(RefTransformerNet()).eval()


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    generator = torch.Generator().manual_seed(2)
    return torch.rand(1, 3, 36, 44, generator=generator) * 255  # multiples of 4: no final resize in either net


# --- stylecam's own format ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_save_load_transformer_round_trip(tmp_path: Path, tier: str) -> None:
    net = _randomise(TransformerNet(TIERS[tier])).eval()
    path = tmp_path / f"{tier}.pth"
    save_model(path, net, extra={"style": "mosaic"})
    assert path.is_file()
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away
    loaded = load_transformer(path)
    assert loaded.config == TIERS[tier]
    assert not loaded.training
    x = torch.rand(1, 3, 37, 53) * 255
    with torch.no_grad():
        expected, got = net(x), loaded(x)
    assert torch.equal(expected, got)
    # A freshly initialised network of the same tier gives something else: the weights really were loaded.
    with torch.no_grad():
        other = TransformerNet(TIERS[tier]).eval()(x)
    assert not torch.allclose(other, got)


def test_saved_file_payload(tmp_path: Path) -> None:
    net = TransformerNet(TIERS["fast"])
    save_model(tmp_path / "m.pth", net, extra={"style": "candy"})
    payload = torch.load(tmp_path / "m.pth", weights_only=True)
    assert payload["stylecam_format"] == 1
    assert payload["kind"] == "johnson"
    assert payload["config"] == TIERS["fast"].to_dict()
    assert payload["style"] == "candy"
    assert set(payload["state_dict"]) == set(net.state_dict())


@pytest.mark.parametrize("layer", ["relu3_1", "relu4_1"])
def test_save_load_adain_decoder_round_trip(tmp_path: Path, layer: str) -> None:
    decoder = AdaINDecoder(layer).eval()
    path = tmp_path / "dec.pth"
    save_model(path, decoder)
    loaded = load_adain_decoder(path)
    assert isinstance(loaded, AdaINDecoder)
    assert loaded.encoder_layer == layer
    assert not loaded.training
    channels = 256 if layer == "relu3_1" else 512
    features = torch.rand(1, channels, 5, 7)
    with torch.no_grad():
        expected, got = decoder(features), loaded(features)
    assert got.shape == (1, 3, 5 * (4 if layer == "relu3_1" else 8), 7 * (4 if layer == "relu3_1" else 8))
    assert torch.equal(expected, got)
    with torch.no_grad():
        assert not torch.allclose(AdaINDecoder(layer)(features), got)


def test_save_model_rejects_other_modules(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        save_model(tmp_path / "x.pth", nn.Linear(2, 2))


# --- pytorch/examples checkpoints --------------------------------------------------------------------------


def test_reference_net_has_pytorch_examples_keys(reference: RefTransformerNet) -> None:
    keys = set(reference.state_dict())
    assert {"conv1.conv2d.weight", "in1.weight", "res5.conv2.conv2d.bias", "deconv3.conv2d.weight"} <= keys
    assert set(TransformerNet(PAPER).state_dict()) == keys


def test_pytorch_examples_checkpoint_loads(tmp_path: Path, reference: RefTransformerNet, image: torch.Tensor) -> None:
    path = tmp_path / "mosaic.pth"
    torch.save(reference.state_dict(), path)
    net = load_transformer(path)
    assert net.config == PAPER  # pytorch/examples' network: full resolution, plain output
    with torch.no_grad():
        expected, got = reference(image), net(image)
    assert got.shape == expected.shape == image.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-3)


def test_old_pytorch_examples_checkpoint_with_running_stats_loads(
    tmp_path: Path, reference: RefTransformerNet, image: torch.Tensor
) -> None:
    state = dict(reference.state_dict())
    stale = _stale_norm_stats(reference)
    assert {"in1.running_mean", "in5.running_var", "res3.in2.running_var", "res1.in1.running_mean"} <= set(stale)
    state.update(stale)
    # The stale keys really would break a plain load.
    with pytest.raises(RuntimeError, match="running_mean"):
        TransformerNet(PAPER).load_state_dict(state)
    path = tmp_path / "udnie.pth"
    torch.save(state, path)
    net = load_transformer(path)
    with torch.no_grad():
        expected, got = reference(image), net(image)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-3)


# --- broken and foreign files ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_transformer(tmp_path / "nope.pth")
    with pytest.raises(ModelError, match="not found"):
        load_adain_decoder(tmp_path / "nope.pth")


def test_random_bytes_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    path.write_bytes(bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).tolist()))
    with pytest.raises(ModelError, match="corrupt"):
        load_transformer(path)
    with pytest.raises(ModelError, match="corrupt"):
        load_adain_decoder(path)


def test_truncated_torch_file(tmp_path: Path) -> None:
    good = tmp_path / "good.pth"
    save_model(good, TransformerNet(TIERS["fast"]))
    data = good.read_bytes()
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt"):
        load_transformer(bad)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(ModelError):
        load_transformer(empty)


def test_linear_state_dict_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "linear.pth"
    torch.save(nn.Linear(4, 2).state_dict(), path)
    with pytest.raises(ModelError, match="not a Johnson TransformerNet"):
        load_transformer(path)
    with pytest.raises(ModelError, match="not a stylecam AdaIN decoder file"):
        load_adain_decoder(path)


def test_pytorch_examples_checkpoint_to_load_adain_decoder(tmp_path: Path, reference: RefTransformerNet) -> None:
    path = tmp_path / "mosaic.pth"
    torch.save(reference.state_dict(), path)
    with pytest.raises(ModelError, match="bare state dict, not a stylecam AdaIN decoder"):
        load_adain_decoder(path)


@pytest.mark.parametrize("config", [{"encoder_layer": "relu9_1"}, {}, None])
def test_adain_file_with_bad_config(tmp_path: Path, config: dict | None) -> None:
    payload = {"stylecam_format": 1, "kind": "adain_decoder", "config": config}
    payload["state_dict"] = AdaINDecoder("relu3_1").state_dict()
    path = tmp_path / "dec.pth"
    torch.save(payload, path)
    with pytest.raises(ModelError, match="AdaIN decoder"):
        load_adain_decoder(path)


def test_adain_file_of_other_encoder_layer(tmp_path: Path) -> None:
    # Card says relu4_1 but the weights are a relu3_1 decoder's.
    payload = {"stylecam_format": 1, "kind": "adain_decoder", "config": {"encoder_layer": "relu4_1"}}
    payload["state_dict"] = AdaINDecoder("relu3_1").state_dict()
    path = tmp_path / "dec.pth"
    torch.save(payload, path)
    with pytest.raises(ModelError, match="does not fit an AdaIN decoder"):
        load_adain_decoder(path)


def test_non_dict_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ModelError, match="state dict"):
        load_transformer(path)


def test_adain_decoder_file_to_load_transformer(tmp_path: Path) -> None:
    path = tmp_path / "dec.pth"
    save_model(path, AdaINDecoder("relu3_1"))
    with pytest.raises(ModelError, match=r"adain_decoder model, not a Johnson network"):
        load_transformer(path)


def test_johnson_file_to_load_adain_decoder(tmp_path: Path) -> None:
    path = tmp_path / "johnson.pth"
    save_model(path, TransformerNet(TIERS["fast"]))
    with pytest.raises(ModelError, match=r"johnson model, not an AdaIN decoder"):
        load_adain_decoder(path)


def test_mismatched_state_dict_is_rejected(tmp_path: Path) -> None:
    # A Johnson-looking state dict with a missing layer: the shapes say one thing, the keys another.
    state = dict(TransformerNet(PAPER).state_dict())
    del state["deconv2.conv2d.weight"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(ModelError, match="does not fit a Johnson TransformerNet"):
        load_transformer(path)


def test_the_upsampling_mode_is_saved_and_files_without_it_load_as_nearest(tmp_path: Path) -> None:
    import dataclasses

    net = _randomise(TransformerNet(dataclasses.replace(TIERS["fast"], upsample="bilinear"))).eval()
    save_model(tmp_path / "bilinear.pth", net)
    loaded = load_transformer(tmp_path / "bilinear.pth")
    assert loaded.config.upsample == "bilinear"
    x = torch.rand(1, 3, 40, 56) * 255
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    payload = torch.load(tmp_path / "bilinear.pth", weights_only=True)
    del payload["config"]["upsample"]  # a file written before the option existed
    torch.save(payload, tmp_path / "old.pth")
    assert load_transformer(tmp_path / "old.pth").config == dataclasses.replace(TIERS["fast"], upsample="nearest")
