"""``stylize`` end to end: every method on a real photo with the real VGG weights, colour modes, bad input."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylecam.cli.stylize import main
from stylecam.imaging.color import rgb_to_yiq
from stylecam.imaging.io import read_image
from stylecam.imaging.tensors import to_tensor
from stylecam.losses.perceptual import content_loss, gram_matrix, style_loss
from stylecam.nets.adain import AdaINDecoder
from stylecam.nets.checkpoints import load_transformer, save_model
from stylecam.nets.transformer import PAPER, TIERS, TransformerNet
from stylecam.nets.vgg import load_vgg
from stylecam.stylize.methods import run_transformer


@pytest.fixture(scope="module")
def photo(shared_dir: Path) -> Path:
    return shared_dir / "images" / "content" / "tubingen.jpg"


@pytest.fixture(scope="module")
def style_image(shared_dir: Path) -> Path:
    return shared_dir / "images" / "styles" / "starry_night.jpg"


@pytest.fixture(scope="module")
def johnson_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "fastnet.pth"
    save_model(path, TransformerNet(TIERS["fast"]))
    return path


@pytest.fixture(scope="module")
def midtone_johnson_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained plain-output fast net whose output is mid-grey texture, unlike the photo it is given."""
    torch.manual_seed(0)
    net = TransformerNet(dataclasses.replace(TIERS["fast"], residual_output=False))
    with torch.no_grad():
        net.deconv3.conv2d.weight.mul_(40.0)
        net.deconv3.conv2d.bias.fill_(128.0)
    path = tmp_path_factory.mktemp("models") / "midtone.pth"
    save_model(path, net)
    return path


@pytest.fixture(scope="module")
def decoder_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "decoder.pth"
    save_model(path, AdaINDecoder("relu3_1"))
    return path


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess, as a user would."""
    code = "import sys; from stylecam.cli.stylize import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_johnson_output_is_the_network_output(photo: Path, johnson_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    assert main([str(photo), "-o", str(out), "--model", str(johnson_file), "--size", "160", "-q"]) == 0
    written = np.asarray(Image.open(out))
    assert max(written.shape[:2]) == 160
    expected = run_transformer(load_transformer(johnson_file), to_tensor(read_image(photo, max_side=160)))
    expected_u8 = (expected[0].permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(written.astype(float) - expected_u8).max() <= 1.0


def test_johnson_loads_pytorch_examples_checkpoint(photo: Path, tmp_path: Path) -> None:
    torch.manual_seed(1)
    state = TransformerNet(PAPER).state_dict()
    state["in1.running_mean"] = torch.zeros(32)  # what old pytorch/examples checkpoints carry
    state["in1.running_var"] = torch.ones(32)
    checkpoint = tmp_path / "udnie.model"
    torch.save(state, checkpoint)
    out = tmp_path / "out.jpg"
    assert main([str(photo), "-o", str(out), "--model", str(checkpoint), "--size", "96", "-q"]) == 0
    assert Image.open(out).size[0] == 96


def test_preserve_color_luminance_keeps_content_chrominance(photo: Path, midtone_johnson_file: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    assert main([str(photo), "-o", str(out), "--model", str(midtone_johnson_file), "--size", "128", "--preserve-color", "-q"]) == 0
    content_iq = rgb_to_yiq(to_tensor(read_image(photo, max_side=128)))[:, 1:]
    output = to_tensor(read_image(out))
    output_iq = rgb_to_yiq(output)[:, 1:]
    # Recombining can leave the RGB cube, and clamping then moves the colour: compare unclamped pixels.
    inside = ((output > 0.01) & (output < 0.99)).all(dim=1, keepdim=True).expand_as(output_iq)
    assert inside.float().mean() > 0.5
    assert (output_iq - content_iq)[inside].abs().max() < 0.02
    plain = to_tensor(read_image(tmp_path / "plain.png")) if main(
        [str(photo), "-o", str(tmp_path / "plain.png"), "--model", str(midtone_johnson_file), "--size", "128", "-q"]
    ) == 0 else None
    assert plain is not None and (rgb_to_yiq(plain)[:, 1:] - content_iq).abs().mean() > 0.02


def test_gatys_moves_towards_style_and_keeps_content(photo: Path, style_image: Path, tmp_path: Path) -> None:
    out = tmp_path / "gatys.png"
    args = [str(photo), "-o", str(out), "-s", str(style_image), "--size", "96", "--iters", "40", "--style-weight", "100", "-q"]
    assert main(args) == 0
    vgg = load_vgg()
    content = to_tensor(read_image(photo, max_side=96))
    result = to_tensor(read_image(out))
    style = torch.nn.functional.interpolate(to_tensor(read_image(style_image, max_side=96)), size=content.shape[-2:])
    layers = ["relu1_1", "relu2_1", "relu3_1"]
    with torch.no_grad():
        grams = {k: gram_matrix(v) for k, v in vgg(style, layers).items()}
        before = style_loss(vgg(content, layers), grams).item()
        after = style_loss(vgg(result, layers), grams).item()
        content_targets = vgg(content, ["relu3_2"])
        kept = content_loss(vgg(result, ["relu3_2"]), content_targets).item()
        noise = content_loss(vgg(torch.rand_like(content), ["relu3_2"]), content_targets).item()
    assert after < 0.5 * before  # the output's textures moved well towards the style
    assert kept < 0.5 * noise  # and its structure is still the photo's


def test_gatys_adam_noise_init_multiscale_runs(photo: Path, style_image: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.jpg"
    args = [str(photo), "-o", str(out), "-s", str(style_image), str(style_image), "--style-weights", "1", "2",
            "--size", "64", "--iters", "5", "--optimizer", "adam", "--init", "noise", "--scales", "2",
            "--style-scale", "0.5", "--preserve-color", "histogram", "-q"]
    assert main(args) == 0
    assert max(Image.open(out).size) == 64


def test_adain_interpolation_and_alpha(photo: Path, style_image: Path, shared_dir: Path,
                                       decoder_file: Path, tmp_path: Path) -> None:
    other = shared_dir / "images" / "styles" / "mosaic.jpg"
    common = [str(photo), "--decoder", str(decoder_file), "--size", "96", "-q"]
    single, mixed, weak = tmp_path / "single.png", tmp_path / "mixed.png", tmp_path / "weak.png"
    assert main([*common, "-o", str(single), "-s", str(style_image)]) == 0
    assert main([*common, "-o", str(mixed), "-s", str(style_image), str(other), "--style-weights", "1", "0"]) == 0
    assert main([*common, "-o", str(weak), "-s", str(style_image), "--alpha", "0.2"]) == 0
    a, b, c = (np.asarray(Image.open(p)).astype(int) for p in (single, mixed, weak))
    assert np.abs(a - b).max() <= 1  # weight 0 on the second style means only the first counts
    assert np.abs(a - c).mean() > 1  # alpha changes the result


def test_adain_output_keeps_the_input_size_when_sides_are_not_multiples_of_4(
        photo: Path, style_image: Path, decoder_file: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd.png"
    Image.open(photo).convert("RGB").resize((130, 97)).save(odd)
    out = tmp_path / "odd_out.png"
    assert main([str(odd), "-s", str(style_image), "--decoder", str(decoder_file), "--size", "0", "-o", str(out),
                 "-q"]) == 0
    assert Image.open(out).size == (130, 97)


def test_adain_without_decoder_takes_the_zoos_first(photo: Path, style_image: Path, decoder_file: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(decoder_file, models / "aaa_decoder.pth")  # sorts before the shipped adain_decoder
    (models / "aaa_decoder.json").write_text('{"kind": "adain_decoder"}')
    monkeypatch.setenv("STYLECAM_MODELS", str(models))
    implicit, explicit = tmp_path / "implicit.png", tmp_path / "explicit.png"
    common = [str(photo), "-s", str(style_image), "--size", "64", "-q"]
    assert main([*common, "--method", "adain", "-o", str(implicit)]) == 0
    assert main([*common, "--decoder", str(decoder_file), "-o", str(explicit)]) == 0
    assert np.array_equal(np.asarray(Image.open(implicit)), np.asarray(Image.open(explicit)))


def test_folder_of_inputs_to_output_folder(shared_dir: Path, johnson_file: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "styled"
    content = shared_dir / "images" / "content"
    assert main([str(content), "-o", f"{outdir}/", "--model", str(johnson_file), "--size", "64", "-q"]) == 0
    assert sorted(p.stem for p in outdir.iterdir()) == sorted(f"{p.stem}_fastnet" for p in content.glob("*.jpg"))


def test_help_does_not_import_torch() -> None:
    code = ("import sys\nfrom stylecam.cli.stylize import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--preserve-color" in result.stdout and result.stdout.strip().endswith("False")


def test_missing_input(tmp_path: Path, johnson_file: Path) -> None:
    result = run_cli(tmp_path / "nope.jpg", "--model", johnson_file)
    assert_one_line_error(result, 66, "nope.jpg")


def test_truncated_jpeg(photo: Path, johnson_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo.read_bytes()[:4000])
    result = run_cli(broken, "--model", johnson_file, "-o", tmp_path / "o.jpg")
    assert_one_line_error(result, 66, "broken.jpg")
    assert not (tmp_path / "o.jpg").exists()


def test_tiny_image(johnson_file: Path, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    assert_one_line_error(run_cli(tiny, "--model", johnson_file), 66, "1×1")


def test_huge_image_downscaled_with_notice_or_refused(johnson_file: Path, tmp_path: Path) -> None:
    huge = tmp_path / "huge.jpg"
    Image.new("RGB", (12000, 9000), (200, 120, 40)).save(huge, quality=50)
    result = run_cli(huge, "--model", johnson_file, "-o", tmp_path / "small.jpg", "--size", "256")
    assert result.returncode == 0, result.stderr
    assert "12000×9000" in result.stderr and Image.open(tmp_path / "small.jpg").size == (256, 192)
    refused = run_cli(huge, "--model", johnson_file, "-o", tmp_path / "full.jpg", "--size", "0")
    assert_one_line_error(refused, 66, "GiB", "--size")
    assert not (tmp_path / "full.jpg").exists()


def test_unknown_style_lists_available(photo: Path, tmp_path: Path) -> None:
    assert_one_line_error(run_cli(photo, "--model", "no_such_style"), 65, "no_such_style", "available")


def test_corrupt_and_foreign_models(photo: Path, decoder_file: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x80\x02not a model" * 100)
    assert_one_line_error(run_cli(photo, "--model", corrupt), 65, "corrupt.pth")
    assert_one_line_error(run_cli(photo, "--model", decoder_file), 65, "decoder.pth")


def test_output_equal_to_input_is_refused(photo: Path, johnson_file: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(photo.read_bytes())
    before = victim.read_bytes()
    assert_one_line_error(run_cli(victim, "--model", johnson_file, "-o", victim), 73, "victim.jpg")
    assert victim.read_bytes() == before


def test_usage_errors(photo: Path) -> None:
    assert_one_line_error(run_cli(photo), 2, "--model")
