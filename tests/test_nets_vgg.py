"""VGG19 feature extractor: torchvision-format weights (full and truncated), layer access, weight lookup order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from stylecam.errors import ModelError
from stylecam.nets import vgg as vgg_module
from stylecam.nets.vgg import WEIGHTS_ENV, VGGFeatures, find_weights, load_vgg, load_vgg_state

TRUNCATED = "weights/vgg19_imagenet_conv1_1-conv3_4.pth"
# torchvision's vgg19().features: indices of the 16 convolutions and their (out, in) channels.
CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
CONV_CHANNELS = (
    (64, 3), (64, 64),
    (128, 64), (128, 128),
    (256, 128), (256, 256), (256, 256), (256, 256),
    (512, 256), (512, 512), (512, 512), (512, 512),
    (512, 512), (512, 512), (512, 512), (512, 512),
)  # fmt: skip
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def full_vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchvision-format full VGG19 file (features + classifier) with random He-initialised weights."""
    generator = torch.Generator().manual_seed(0)
    state: dict[str, torch.Tensor] = {}
    for index, (cout, cin) in zip(CONV_INDICES, CONV_CHANNELS):
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=generator) * (2 / (9 * cin)) ** 0.5
        state[f"features.{index}.bias"] = 0.01 * torch.randn(cout, generator=generator)
    # A classifier (shrunk from 4096x25088 to keep the file small): loading must ignore it.
    state["classifier.0.weight"] = torch.randn(64, 512, generator=generator)
    state["classifier.0.bias"] = torch.zeros(64)
    state["classifier.6.weight"] = torch.randn(1000, 64, generator=generator)
    state["classifier.6.bias"] = torch.zeros(1000)
    path = tmp_path_factory.mktemp("vgg") / "vgg19-full.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def truncated_path(shared_dir: Path) -> Path:
    path = shared_dir / TRUNCATED
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def real_vgg(truncated_path: Path) -> VGGFeatures:
    return load_vgg(truncated_path)


def _photo(shared_dir: Path, name: str, size: tuple[int, int]) -> torch.Tensor:
    image = Image.open(shared_dir / "images" / "content" / f"{name}.jpg").convert("RGB").resize(size)
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).float().div(255).unsqueeze(0)


# --- full and truncated files ------------------------------------------------------------------------------


def test_full_synthetic_file_reaches_relu5_4(full_vgg_file: Path) -> None:
    raw = torch.load(full_vgg_file, weights_only=True)
    state = load_vgg_state(full_vgg_file)
    assert not any(k.startswith("classifier") for k in state)
    vgg = load_vgg(full_vgg_file)
    assert vgg.n_convs == 16
    assert vgg.deepest_relu == "relu5_4"
    assert "pool5" in vgg.available and "relu5_4" in vgg.available
    # The weights in the module are the file's, layer by layer.
    for index in CONV_INDICES:
        assert torch.equal(vgg.features[index].weight, raw[f"features.{index}.weight"])
        assert torch.equal(vgg.features[index].bias, raw[f"features.{index}.bias"])
    x = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(1))
    out = vgg(x, ["relu1_1", "relu4_1", "relu5_4", "pool5"])
    assert set(out) == {"relu1_1", "relu4_1", "relu5_4", "pool5"}
    assert out["relu5_4"].shape == (1, 512, 2, 3)
    assert out["pool5"].shape == (1, 512, 1, 1)
    assert out["relu4_1"].shape == (1, 512, 4, 6)
    assert (out["relu5_4"] >= 0).all() and out["relu5_4"].abs().sum() > 0
    # relu5_4 recomputed by hand from the raw file: 16 convs with relus, max pools after each block.
    h = (x - MEAN) / STD
    for n, index in enumerate(CONV_INDICES):
        h = F.relu(F.conv2d(h, raw[f"features.{index}.weight"], raw[f"features.{index}.bias"], padding=1))
        if n in (1, 3, 7, 11):
            h = F.max_pool2d(h, 2)
    torch.testing.assert_close(out["relu5_4"], h, rtol=1e-4, atol=1e-5)


def test_full_file_parameters_are_frozen(full_vgg_file: Path) -> None:
    vgg = load_vgg(full_vgg_file)
    assert not vgg.training
    assert all(not p.requires_grad for p in vgg.parameters())


def test_truncated_file_reaches_relu3_4(real_vgg: VGGFeatures) -> None:
    assert real_vgg.n_convs == 8
    assert real_vgg.deepest_relu == "relu3_4"
    assert "relu3_4" in real_vgg.available and "pool3" in real_vgg.available
    assert "conv4_1" not in real_vgg.available and "relu4_1" not in real_vgg.available
    x = torch.rand(1, 3, 24, 40, generator=torch.Generator().manual_seed(2))
    out = real_vgg(x, ["relu3_4", "relu2_1"])
    assert out["relu3_4"].shape == (1, 256, 6, 10)
    assert out["relu2_1"].shape == (1, 128, 12, 20)
    assert out["relu3_4"].abs().sum() > 0


def test_truncated_file_keys(truncated_path: Path) -> None:
    state = load_vgg_state(truncated_path)
    assert set(state) == {f"features.{i}.{p}" for i in CONV_INDICES[:8] for p in ("weight", "bias")}


def test_bare_and_wrapped_feature_dicts_load(tmp_path: Path, truncated_path: Path) -> None:
    state = load_vgg_state(truncated_path)
    bare = {k.removeprefix("features."): v for k, v in state.items()}  # a vgg19().features.state_dict()
    torch.save(bare, tmp_path / "bare.pth")
    torch.save({"state_dict": state}, tmp_path / "wrapped.pth")
    for name in ("bare.pth", "wrapped.pth"):
        loaded = load_vgg_state(tmp_path / name)
        assert set(loaded) == set(state)
        assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_deeper_layer_than_weights_reach(real_vgg: VGGFeatures) -> None:
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ModelError) as info:
        real_vgg(x, ["relu1_1", "relu4_1"])
    message = str(info.value)
    assert "relu4_1" in message
    assert "relu3_4" in message
    assert "available" in message
    for name in ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3"):
        assert name in message
    with pytest.raises(ModelError, match="relu3_4"):
        real_vgg.check_layers(["relu5_1"])


@pytest.mark.parametrize("name", ["relu6_1", "conv1_3", "fc7", ""])
def test_unknown_layer(real_vgg: VGGFeatures, name: str) -> None:
    with pytest.raises(ModelError, match="unknown VGG19 layer"):
        real_vgg(torch.rand(1, 3, 16, 16), [name])


def test_preferred_adapts_to_weights(real_vgg: VGGFeatures, full_vgg_file: Path) -> None:
    wanted = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    assert real_vgg.preferred(wanted) == ["relu1_1", "relu2_1", "relu3_1"]
    assert load_vgg(full_vgg_file).preferred(wanted) == wanted


def test_wrong_shapes_and_foreign_files(tmp_path: Path) -> None:
    bad = {"features.0.weight": torch.zeros(64, 3, 5, 5), "features.0.bias": torch.zeros(64)}
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="features.0.weight has shape"):
        load_vgg_state(tmp_path / "bad.pth")
    torch.save(torch.nn.Linear(3, 4).state_dict(), tmp_path / "linear.pth")
    with pytest.raises(ModelError, match="no VGG19"):
        load_vgg_state(tmp_path / "linear.pth")
    (tmp_path / "garbage.pth").write_bytes(b"\x00not a torch file" * 10)
    with pytest.raises(ModelError, match="cannot read"):
        load_vgg_state(tmp_path / "garbage.pth")


# --- where the weights come from ---------------------------------------------------------------------------


@pytest.fixture
def weight_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    files = {
        "explicit": tmp_path / "explicit.pth",
        "env": tmp_path / "env.pth",
        "hub": hub / "checkpoints" / "vgg19-dcbb9e9d.pth",
    }
    for path in files.values():
        path.write_bytes(b"x")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    return files


def test_find_weights_order(weight_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_download(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("must not download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setenv(WEIGHTS_ENV, str(weight_files["env"]))
    assert find_weights(weight_files["explicit"]) == weight_files["explicit"]
    assert find_weights(str(weight_files["explicit"])) == weight_files["explicit"]
    assert find_weights() == weight_files["env"]
    monkeypatch.delenv(WEIGHTS_ENV)
    assert find_weights() == weight_files["hub"]
    assert find_weights(download=False) == weight_files["hub"]


def test_find_weights_missing_explicit_or_env_file(
    weight_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = weight_files["explicit"].with_name("missing.pth")
    with pytest.raises(ModelError, match="given path"):
        find_weights(missing)
    monkeypatch.setenv(WEIGHTS_ENV, str(missing))
    # A broken $STYLECAM_VGG_WEIGHTS is an error, not silently skipped in favour of the hub cache.
    with pytest.raises(ModelError, match=WEIGHTS_ENV):
        find_weights()


def test_find_weights_nothing_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    with pytest.raises(ModelError, match=WEIGHTS_ENV):
        find_weights(download=False)


def test_failed_download_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)

    def offline(*_args: object, **_kwargs: object) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ModelError, match=WEIGHTS_ENV) as info:
        find_weights()
    assert vgg_module.VGG19_URL in str(info.value)


# --- computations ------------------------------------------------------------------------------------------


def test_relu1_1_by_hand(truncated_path: Path, real_vgg: VGGFeatures) -> None:
    raw = torch.load(truncated_path, map_location="cpu", weights_only=True)
    x = torch.rand(2, 3, 7, 9, generator=torch.Generator().manual_seed(3))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    normalised = (x - mean) / std
    conv = F.conv2d(normalised, raw["features.0.weight"], raw["features.0.bias"], padding=1)
    expected = conv.clamp_min(0)
    out = real_vgg(x, ["conv1_1", "relu1_1"])
    torch.testing.assert_close(out["conv1_1"], conv, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out["relu1_1"], expected, rtol=1e-5, atol=1e-4)
    # One output value written out as a sum, to pin down the padding and the channel order.
    y, xx, channel = 3, 4, 5
    patch = normalised[0, :, y - 1 : y + 2, xx - 1 : xx + 2]
    value = (patch * raw["features.0.weight"][channel]).sum() + raw["features.0.bias"][channel]
    assert out["conv1_1"][0, channel, y, xx].item() == pytest.approx(value.item(), rel=1e-5, abs=1e-4)
    # Without the normalisation the result would be different (the module does apply it).
    unnormalised = F.conv2d(x, raw["features.0.weight"], raw["features.0.bias"], padding=1)
    assert not torch.allclose(out["conv1_1"], unnormalised, atol=1e-2)


def test_average_pooling_option(truncated_path: Path) -> None:
    state = load_vgg_state(truncated_path)
    max_vgg = VGGFeatures(state, pool="max")
    avg_vgg = VGGFeatures(state, pool="avg")
    x = torch.rand(1, 3, 16, 20, generator=torch.Generator().manual_seed(4))
    max_out = max_vgg(x, ["relu1_2", "pool1", "relu2_1"])
    avg_out = avg_vgg(x, ["relu1_2", "pool1", "relu2_1"])
    torch.testing.assert_close(avg_out["relu1_2"], max_out["relu1_2"])  # before the first pool: identical
    torch.testing.assert_close(avg_out["pool1"], F.avg_pool2d(avg_out["relu1_2"], 2))
    torch.testing.assert_close(max_out["pool1"], F.max_pool2d(max_out["relu1_2"], 2))
    assert avg_out["pool1"].shape == (1, 64, 8, 10)
    assert (max_out["pool1"] - avg_out["pool1"]).abs().max() > 1.0
    assert not torch.allclose(max_out["relu2_1"], avg_out["relu2_1"])
    assert (max_out["pool1"] >= avg_out["pool1"] - 1e-5).all()  # a max is never below the mean


def test_real_weights_photo_differs_from_noise(shared_dir: Path, real_vgg: VGGFeatures, truncated_path: Path) -> None:
    photo = _photo(shared_dir, "tubingen", (128, 96))
    noise = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    fp = real_vgg(photo, ["relu3_1"])["relu3_1"]
    fn = real_vgg(noise, ["relu3_1"])["relu3_1"]
    assert fp.shape == fn.shape == (1, 256, 24, 32)
    profile_p, profile_n = fp.mean(dim=(2, 3)).flatten(), fn.mean(dim=(2, 3)).flatten()
    # Which channels respond differs clearly: with the real weights the per-channel mean responses of a photo
    # and of noise have cosine similarity ~0.7 (0.55-0.71 over the five content photos); random He-initialised
    # weights give 0.9-0.97, because random filters respond to any input much alike.
    assert F.cosine_similarity(profile_p, profile_n, dim=0) < 0.8
    assert (profile_p - profile_n).norm() > 0.5 * profile_p.norm()
    # Trained first-layer filters are smooth (neighbouring taps correlate, ~0.54); random ones are not (~0).
    w = torch.load(truncated_path, weights_only=True)["features.0.weight"]
    neighbours = torch.stack((w[..., :, :-1].flatten(), w[..., :, 1:].flatten()))
    assert torch.corrcoef(neighbours)[0, 1] > 0.3


def test_empty_state_dict_is_rejected() -> None:
    # Without any convolution the module must not build a randomly initialised VGG19 claiming relu5_4.
    with pytest.raises(ModelError, match="no features.0"):
        VGGFeatures({})


def test_unknown_pool_is_rejected(truncated_path: Path) -> None:
    with pytest.raises(ValueError, match="pool"):
        VGGFeatures(load_vgg_state(truncated_path), pool="mean")
