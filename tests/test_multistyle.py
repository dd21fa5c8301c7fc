"""One network for several styles (conditional instance norm, Dumoulin et al. 2017): blending, training on tiny
generated images, and adding a style that trains only its own normalisation rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from in_process import run_main
from PIL import Image

from stylecam.cli.train import JOHNSON_DEFAULTS, main
from stylecam.nets.checkpoints import load_transformer
from stylecam.nets.transformer import TIERS, StyleNorm, TransformerNet, add_style, with_styles
from stylecam.training.tasks import JohnsonWeights

SIZE = 32


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_rows(net: TransformerNet, seed: int = 0) -> TransformerNet:
    """Give every style its own, clearly different, normalisation parameters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, StyleNorm):
                module.scale.copy_(0.5 + torch.rand(module.scale.shape, generator=generator))
                module.shift.copy_(torch.rand(module.shift.shape, generator=generator) - 0.5)
    return net.eval()


@pytest.mark.parametrize("tier", ["fast", "quality"])
def test_a_blend_at_0_and_at_1_equals_each_style_alone(tier: str) -> None:
    net = _random_rows(with_styles(TransformerNet(TIERS[tier]), ("ink", "oil", "chalk")))
    x = torch.rand(1, 3, 40, 56) * 255
    with torch.no_grad():
        alone = {name: net(x, net.style_weights(name)) for name in net.config.styles}
        assert (alone["ink"] - alone["oil"]).abs().max() > 1.0  # the styles really differ
        for first, second in (("ink", "oil"), ("oil", "chalk")):
            torch.testing.assert_close(net(x, net.style_weights({first: 1.0, second: 0.0})), alone[first])
            torch.testing.assert_close(net(x, net.style_weights({first: 0.0, second: 1.0})), alone[second])
        halfway = net(x, net.style_weights({"ink": 0.5, "oil": 0.5}))
        assert (halfway - alone["ink"]).abs().max() > 0.1 and (halfway - alone["oil"]).abs().max() > 0.1
        # a batch with one style per image computes what each image computes alone
        both = net(torch.cat([x, x]), torch.cat([net.style_weights("ink"), net.style_weights("chalk")]))
        torch.testing.assert_close(both[1:], alone["chalk"], rtol=1e-4, atol=1e-3)


def test_unknown_style_names_are_refused_with_the_choices() -> None:
    net = with_styles(TransformerNet(TIERS["fast"]), ("ink", "oil"))
    with pytest.raises(ValueError, match="unknown style pencil; this network has: ink, oil"):
        net.style_weights({"pencil": 1.0})
    assert TransformerNet(TIERS["fast"]).style_weights("ink") is None


def test_adding_a_style_keeps_every_other_weight() -> None:
    net = _random_rows(with_styles(TransformerNet(TIERS["fast"]), ("ink", "oil")))
    grown = add_style(net, "chalk")
    assert grown.config.styles == ("ink", "oil", "chalk")
    x = torch.rand(1, 3, 32, 48) * 255
    with torch.no_grad():
        for name in ("ink", "oil"):
            torch.testing.assert_close(grown(x, grown.style_weights(name)), net(x, net.style_weights(name)))
        # the new style starts as the mean of the old styles' rows
        torch.testing.assert_close(grown(x, grown.style_weights("chalk")),
                                   net(x, net.style_weights({"ink": 0.5, "oil": 0.5})))


def test_cli_defaults_match_the_training_weights() -> None:
    weights = JohnsonWeights()
    assert JOHNSON_DEFAULTS == {"content": weights.content, "style": weights.style, "moments": weights.moments,
                                "tv": weights.tv, "style_tiles": weights.style_tiles,
                                "norm_lr_scale": weights.norm_lr_scale, "style_octaves": weights.style_octaves,
                                "sliced": weights.sliced, "shift": weights.shift, "rotation": weights.rotation}


# --------------------------------------------------------------------------------------------- training


def _pattern(colours: tuple[tuple[int, int, int], tuple[int, int, int]], period: int) -> Image.Image:
    y, x = np.mgrid[0:64, 0:64]
    img = np.empty((64, 64, 3), np.uint8)
    on = (x // period + y // period) % 2 == 0
    img[on], img[~on] = colours
    return Image.fromarray(img)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """photos/ (6 smooth random photos) and three pattern styles."""
    root = tmp_path_factory.mktemp("multistyle")
    rng = np.random.default_rng(7)
    (root / "photos").mkdir()
    for i in range(6):
        y, x = np.mgrid[0:40, 0:48] / 48
        img = np.stack([0.5 + 0.5 * np.sin(rng.uniform(2, 8) * x + rng.uniform(2, 8) * y + c) for c in range(3)], -1)
        Image.fromarray((img * 255).astype(np.uint8)).save(root / "photos" / f"p{i}.png")
    _pattern(((230, 40, 20), (20, 40, 200)), 8).save(root / "red.png")
    _pattern(((250, 220, 30), (10, 10, 10)), 4).save(root / "yellow.png")
    _pattern(((30, 160, 60), (240, 240, 230)), 6).save(root / "green.png")
    return root


def _train(*argv: Any) -> tuple[int, str]:
    return run_main(main, *argv)


def _common(root: Path, out: Path, steps: int) -> list[Any]:
    return ["--data", root / "photos", "-o", out, "--image-size", SIZE, "--batch-size", 2, "--iterations", steps,
            "--run-dir", out.with_suffix(""), "--sample-every", steps, "--device", "cpu", "-q"]


@pytest.fixture(scope="module")
def two_styles(tiny: Path) -> Path:
    out = tiny / "two.pth"
    rc, err = _train("johnson", "--style-image", tiny / "red.png", tiny / "yellow.png", "--lr", 1e-2,
                     "--warmup", 2, *_common(tiny, out, 14))
    assert rc == 0, err
    return out


def test_a_several_style_network_trains_every_style(two_styles: Path) -> None:
    net = load_transformer(two_styles)
    assert net.config.styles == ("red", "yellow")
    state = torch.load(two_styles.with_suffix("") / "checkpoint.pt", weights_only=True)
    history = state["history"]
    assert [set(h) - {"step", "total"} for h in history[:3]] == [{"warmup"}] * 2 + [{"content", "style", "moments", "tv"}]
    totals = [h["total"] for h in history[2:]]  # after the warm-up
    assert np.mean(totals[-3:]) < 0.9 * np.mean(totals[:3]), totals
    # each style learned its own normalisation: the rows, equal at the start, now differ, and so do the outputs
    assert (net.in1.scale[0] - net.in1.scale[1]).abs().max() > 1e-4
    x = torch.rand(1, 3, SIZE, SIZE) * 255
    with torch.no_grad():
        assert (net(x, net.style_weights("red")) - net(x, net.style_weights("yellow"))).abs().mean() > 0.1
    card = json.loads(two_styles.with_suffix(".json").read_text())
    assert [s["name"] for s in card["style_images"]] == ["red.png", "yellow.png"]
    assert card["config"]["styles"] == ["red", "yellow"] and card["tier"] == "fast"
    assert set(card["final_losses"]) == {"content", "style", "moments", "tv", "total"}
    assert card["settings"]["warmup"] == 2
    samples = sorted(p.name for p in (two_styles.with_suffix("") / "samples").iterdir())
    assert samples == ["step_0000014_red.jpg", "step_0000014_yellow.jpg"]


def test_add_style_trains_only_the_new_styles_norms(tiny: Path, two_styles: Path) -> None:
    out = tiny / "three.pth"
    rc, err = _train("add-style", "--model", two_styles, "--style-image", tiny / "green.png", "--lr", 1e-2,
                     *_common(tiny, out, 6))
    assert rc == 0, err
    before, after = load_transformer(two_styles), load_transformer(out)
    assert after.config.styles == ("red", "yellow", "green")
    changed_rows = 0
    for key, value in after.state_dict().items():
        old = before.state_dict()[key]
        if key.endswith((".scale", ".shift")):
            assert torch.equal(value[:2], old), key  # the old styles' rows, bit for bit
            changed_rows += int(not torch.equal(value[2], old.mean(0)))
        else:
            assert torch.equal(value, old), key  # every shared weight, bit for bit
    assert changed_rows > 0  # the new style's rows moved from their starting point
    card = json.loads(out.with_suffix(".json").read_text())
    assert [s["name"] for s in card["style_images"]] == ["red.png", "yellow.png", "green.png"]
    assert card["settings"]["warmup"] == 0  # adding a style starts from a trained network
    assert card["initialised_from"]["model"] == "two.pth" and card["config"]["styles"] == ["red", "yellow", "green"]


def test_tune_style_trains_only_that_styles_norms(tiny: Path, two_styles: Path) -> None:
    out = tiny / "tuned.pth"
    rc, err = _train("tune-style", "--model", two_styles, "--style", "red", "--style-image", tiny / "green.png",
                     "--style-scale", 3, "--lr", 1e-2, *_common(tiny, out, 4))
    assert rc == 0, err
    before, after = load_transformer(two_styles), load_transformer(out)
    assert after.config.styles == ("red", "yellow")
    moved = 0
    for key, value in after.state_dict().items():
        old = before.state_dict()[key]
        if key.endswith((".scale", ".shift")):
            assert torch.equal(value[1], old[1]), key  # yellow's rows, bit for bit
            moved += int(not torch.equal(value[0], old[0]))
        else:
            assert torch.equal(value, old), key  # every shared weight, bit for bit
    assert moved > 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert [s["name"] for s in card["style_images"]] == ["green.png", "yellow.png"]  # red now learns green.png
    assert card["settings"]["style"] == ["red"] and card["initialised_from"]["model"] == "two.pth"


def _task(tiny: Path, weights: JohnsonWeights) -> tuple[Any, TransformerNet, torch.Tensor]:
    """(JohnsonTask for the red and yellow styles, its two-style network, two photos at SIZE)."""
    from stylecam.imaging.io import read_image
    from stylecam.imaging.tensors import to_tensor
    from stylecam.nets.vgg import load_vgg
    from stylecam.training.tasks import JohnsonTask

    styles = [to_tensor(read_image(tiny / f"{name}.png")) for name in ("red", "yellow")]
    photos = torch.cat([to_tensor(read_image(p)) for p in sorted((tiny / "photos").iterdir())[:2]])
    photos = torch.nn.functional.interpolate(photos, size=(SIZE, SIZE))
    net = with_styles(TransformerNet(TIERS["fast"]), ("red", "yellow")).eval()
    return JohnsonTask(net, load_vgg(), styles, weights, None, None, [], tiny, 0, photos), net, photos


def test_a_style_scale_multiplies_only_its_own_styles_terms(tiny: Path) -> None:
    terms = {}
    net = with_styles(TransformerNet(TIERS["fast"]), ("red", "yellow")).eval()
    for scale in ((), (3.0, 1.0)):
        task, _, photos = _task(tiny, JohnsonWeights(style_scale=scale))
        with torch.no_grad():  # a batch of one image per step: step 0 learns red, step 1 yellow
            terms[scale] = [task.losses(net, photos[:1], step) for step in (0, 1)]
    plain, scaled = terms[()], terms[(3.0, 1.0)]
    for key in ("style", "moments"):
        torch.testing.assert_close(scaled[0][key], 3.0 * plain[0][key])
        torch.testing.assert_close(scaled[1][key], plain[1][key])
    torch.testing.assert_close(scaled[0]["content"], plain[0]["content"])


def test_a_style_share_gives_its_style_that_many_images_of_each_round(tiny: Path) -> None:
    plain, _, _ = _task(tiny, JohnsonWeights())
    shared, _, _ = _task(tiny, JohnsonWeights(style_share=(1, 3)))
    assert [int(i) for step in range(4) for i in plain.style_index(2, step)] == [0, 1] * 4
    assert [int(i) for step in range(4) for i in shared.style_index(2, step)] == [0, 1, 1, 1] * 2
    with pytest.raises(ValueError, match="style shares"):
        _task(tiny, JohnsonWeights(style_share=(1, 0)))


def _identity(x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
    return x


def test_the_photos_that_set_the_units_score_one_on_every_style_term_at_every_pyramid_level(tiny: Path) -> None:
    task, _, photos = _task(tiny, JohnsonWeights(style_octaves=2, sliced=1.0))
    assert len(task.targets) == 2
    with torch.no_grad():  # each of the two unit photos with each of the two styles (a batch of one: step = style)
        terms = [task.losses(_identity, photo[None], step) for photo in photos for step in (0, 1)]
    for key, weight in (("style", 10.0), ("moments", 10.0)):
        assert float(sum(t[key] for t in terms)) / len(terms) / weight == pytest.approx(1.0, rel=1e-4), key
    # the sliced term draws new directions every step, so its mean over the unit photos is near 1, not exactly 1
    assert 0.5 < float(sum(t["sliced"] for t in terms)) / len(terms) < 2.0
    assert "sliced" not in _task(tiny, JohnsonWeights())[0].losses(_identity, photos, 0)


def test_a_pyramid_level_is_the_style_term_of_the_halved_image_against_the_halved_style(tiny: Path) -> None:
    from stylecam.imaging.io import read_image
    from stylecam.imaging.tensors import to_tensor
    from stylecam.nets.vgg import load_vgg
    from stylecam.training.tasks import JohnsonTask, octave

    x = torch.rand(1, 3, 32, 48)
    assert torch.equal(octave(x, 0), x) and octave(x, 2).shape == (1, 3, 8, 12)
    torch.testing.assert_close(octave(x, 1)[..., 0, 0], x[..., :2, :2].mean(dim=(-1, -2)))
    task, net, photos = _task(tiny, JohnsonWeights(style_octaves=2))
    styles = [octave(to_tensor(read_image(tiny / f"{name}.png")), 1) for name in ("red", "yellow")]
    full = _task(tiny, JohnsonWeights())[0]
    half = JohnsonTask(net, load_vgg(), styles, JohnsonWeights(), None, None, [], tiny, 0, octave(photos, 1))
    with torch.no_grad():
        both = task.losses(_identity, photos, 0)["style"]
        parts = full.losses(_identity, photos, 0)["style"], half.losses(_identity, octave(photos, 1), 0)["style"]
    torch.testing.assert_close(both, (parts[0] + parts[1]) / 2)
    assert abs(float(parts[0] - parts[1])) > 1e-3 * float(parts[0])  # the coarse level does measure something else


class _Pointwise(torch.nn.Module):
    """A stand-in network that treats every pixel alike (commutes with any flip), or, shifted, one that does not."""

    def __init__(self, shift: int = 0) -> None:
        super().__init__()
        self.shift = shift

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        return (255.0 - x).roll(self.shift, dims=-1) if self.shift else 255.0 - x


def test_the_equivariance_term_is_zero_only_for_a_network_that_commutes_with_flips_and_turns(tiny: Path) -> None:
    from stylecam.training.warps import dihedral

    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    assert torch.equal(dihedral(x, 4), x.transpose(-1, -2)) and torch.equal(dihedral(x, 3), x.flip(-1, -2))
    task, net, photos = _task(tiny, JohnsonWeights(equivariance=5.0))
    assert "equivariance" not in _task(tiny, JohnsonWeights())[0].losses(net, photos, 0)
    with torch.no_grad():
        for step in range(4):  # each step draws another symmetry
            assert float(task.losses(_Pointwise(), photos, step)["equivariance"]) < 1e-10
            assert float(task.losses(_Pointwise(shift=5), photos, step)["equivariance"]) > 1e-3
        assert float(task.losses(net, photos, 0)["equivariance"]) > 0  # an untrained network does not commute


class _FrameBound(torch.nn.Module):
    """A stand-in network that paints diagonal lines placed from the image's top-left corner, whatever the photo."""

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        h, w = x.shape[-2:]
        y, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        return 255.0 - x + 40.0 * ((y + xx) % 11 == 0).float()


def test_the_shift_term_is_zero_for_a_network_that_follows_the_photo_and_not_for_a_frame_bound_one(tiny: Path) -> None:
    task, net, photos = _task(tiny, JohnsonWeights(shift=5.0))
    assert task.min_image_side() == 72 and _task(tiny, JohnsonWeights())[0].min_image_side() == 8
    photos = torch.nn.functional.interpolate(photos, size=(72, 72))  # room for the stride-8 offsets and margins
    assert "shift" not in _task(tiny, JohnsonWeights())[0].losses(net, photos, 0)
    with torch.no_grad():
        values = [(float(task.losses(_Pointwise(), photos, step)["shift"]),
                   float(task.losses(_FrameBound(), photos, step)["shift"])) for step in range(6)]
    assert all(pointwise < 1e-10 for pointwise, _ in values)
    assert any(frame_bound > 1e-3 for _, frame_bound in values)  # every offset but (0, 0) moves the lines


def test_rotate_turns_about_the_centre_and_a_full_turn_is_the_identity() -> None:
    from stylecam.training.warps import rotate, turn_safe_crop

    x = torch.zeros(1, 1, 33, 33)
    x[..., 16, 24] = 1.0  # a dot 8 px right of the centre
    turned = rotate(x, 90.0)
    assert turned.flatten().argmax().item() in (8 * 33 + 16, 24 * 33 + 16)  # now straight above or below it
    photo = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(rotate(photo, 360.0), photo, atol=1e-4, rtol=0)
    crop = turn_safe_crop(photo, multiple=4)
    assert crop.shape == (2, 3, 28, 28)  # 40 / √2 = 28.3, a multiple of 4
    torch.testing.assert_close(crop, photo[..., 6:34, 14:42])
    ones = torch.ones(1, 1, 40, 56)
    assert bool((turn_safe_crop(rotate(ones, 37.0)) > 1 - 1e-5).all())  # nothing of the reflected corners inside


def test_soften_keeps_flat_colour_and_most_of_fine_hatching() -> None:
    from stylecam.training.warps import soften

    flat = torch.full((1, 3, 12, 12), 0.3)
    torch.testing.assert_close(soften(flat), flat)
    lines = torch.zeros(1, 1, 48, 48)
    lines[..., ::3, :] = 1.0
    softened = soften(lines)
    assert 0.7 < float(softened.max() - softened.min()) < 0.9  # a 3×3 box would leave none of it


class _CornerBound(torch.nn.Module):
    """A stand-in network that follows the photo but paints a patch into each corner of its frame, whatever the
    photo: a disk inside the frame never sees it."""

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        h, w = x.shape[-2:]
        y, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        near_corner = (torch.minimum(y, h - 1 - y) < 8) & (torch.minimum(xx, w - 1 - xx) < 8)
        return 255.0 - x + 40.0 * near_corner.float()


def test_the_rotation_term_is_zero_for_a_network_that_follows_the_photo_and_not_for_frame_bound_ones(
        tiny: Path) -> None:
    """The lattice of _FrameBound is the kind a flip or quarter turn cannot catch (its lines are diagonal); an oblique
    turn does. _CornerBound's patches commute with every flip and turn of the square and lie outside any disk; the
    turned crop has corners of its own and catches them."""
    task, net, photos = _task(tiny, JohnsonWeights(rotation=5.0))
    photos = torch.nn.functional.interpolate(photos, size=(48, 48))
    assert "rotation" not in _task(tiny, JohnsonWeights())[0].losses(net, photos, 0)
    assert task.min_image_side() == 23 and _task(tiny, JohnsonWeights())[0].min_image_side() == 8
    with torch.no_grad():
        values = [[float(task.losses(stand_in, photos, step)["rotation"])
                   for stand_in in (_Pointwise(), _FrameBound(), _CornerBound())] for step in range(4)]
    assert all(pointwise < 1e-8 for pointwise, _, _ in values), values
    assert all(frame_bound > 1e-3 and corner_bound > 1e-3 for _, frame_bound, corner_bound in values), values


def test_the_shift_term_refuses_crops_too_small_for_it(tiny: Path, tmp_path: Path) -> None:
    rc, err = _train("johnson", "--style-image", tiny / "red.png", "--shift-weight", 1,
                     *_common(tiny, tmp_path / "out.pth", 1))
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and lines == [f"styletrain: error: --image-size {SIZE}: these loss terms need crops of at least "
                                 "72 px"], err
    assert not (tmp_path / "out.pth").exists()


@pytest.mark.parametrize("option, what", [("--style-scale", "factors"), ("--style-share", "counts")])
def test_style_scales_and_shares_must_match_the_style_images(tiny: Path, tmp_path: Path, option: str,
                                                             what: str) -> None:
    rc, err = _train("johnson", "--style-image", tiny / "red.png", tiny / "yellow.png", option, 2,
                     *_common(tiny, tmp_path / "out.pth", 1))
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and lines == [f"styletrain: error: 1 {option} {what} for 2 style images"], err
    assert not (tmp_path / "out.pth").exists()


@pytest.mark.parametrize(("command", "args", "message"), [
    ("add-style", [], "holds one style"),  # from a one-style model
    ("add-style", ["--name", "red"], "already has a style"),
    ("tune-style", ["--style", "red"], "holds one style"),  # from a one-style model
    ("tune-style", ["--style", "green"], "has no style 'green'"),
    ("tune-style", ["--style", "red", "yellow"], "2 --style names for 1 style images"),
    ("tune-style", ["--style", "red", "red", "--style-image", "green.png", "green.png"],
     "--style names a style twice: red red")])
def test_norms_only_commands_refuse_with_one_line(tiny: Path, two_styles: Path, tmp_path: Path, command: str,
                                                  args: list[str], message: str) -> None:
    model = two_styles
    if message == "holds one style":
        model = tmp_path / "one.pth"
        rc, err = _train("johnson", "--style-image", tiny / "red.png", *_common(tiny, model, 1))
        assert rc == 0, err
    args = [tiny / a if a.endswith(".png") else a for a in args]
    images = [] if "--style-image" in args else ["--style-image", tiny / "green.png"]
    rc, err = _train(command, "--model", model, *images, *args, *_common(tiny, tmp_path / "out.pth", 1))
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and message in lines[0], err
    assert not (tmp_path / "out.pth").exists()


# --------------------------------------------------------------------------------------------- export, backends, apps


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding one several-style fast network (with a card naming its tier)."""
    from stylecam.nets.checkpoints import save_model

    folder = tmp_path_factory.mktemp("zoo")
    net = _random_rows(with_styles(TransformerNet(TIERS["fast"]), ("ink", "oil", "chalk")), seed=3)
    with torch.no_grad():
        net.deconv3.conv2d.weight.mul_(30.0)  # changes of tens of levels, as a trained network makes
    save_model(folder / "paints.pth", net)
    (folder / "paints.json").write_text(json.dumps({"kind": "johnson", "tier": "fast",
                                                    "config": net.config.to_dict()}))
    return folder


@pytest.fixture
def zoo(zoo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STYLECAM_MODELS", str(zoo_dir))
    return zoo_dir


def _frame(height: int = 72, width: int = 96) -> np.ndarray:
    from stylecam.export.onnx_export import synthetic_photo

    return synthetic_photo(width, height)


def test_the_several_style_graph_takes_the_style_as_an_input_and_matches_torch(zoo_dir: Path) -> None:
    from stylecam.export import metadata
    from stylecam.export.onnx_export import check_johnson, export_johnson, synthetic_photo

    net = load_transformer(zoo_dir / "paints.pth")
    proto = export_johnson(net)
    assert [i.name for i in proto.graph.input] == ["input", "style"]
    assert metadata.read_metadata(proto)["styles"] == ["ink", "oil", "chalk"]
    # each size runs another style; the last a half-and-half blend
    report = check_johnson(proto, net, synthetic_photo(), [(96, 64), (130, 97), (64, 80), (100, 76)], tolerance=1.0)
    assert report.passed, report.line()
    # a graph exported for one of its styles (export-onnx --style oil) starts at that style
    from stylecam.export.onnx_export import write_onnx
    from stylecam.runtime.onnx_backend import OnnxBackend

    graph = write_onnx(export_johnson(net, style="oil"), zoo_dir / "oil.onnx")
    assert OnnxBackend(graph, "cpu").mix.current() == {"oil": 1.0}


def test_zoo_names_every_style_and_backends_switch_without_loading(zoo: Path) -> None:
    from stylecam import zoo as zoo_module
    from stylecam.runtime.select import open_backend

    names = {e.name: e.style for e in zoo_module.list_models() if e.path.parent == zoo}
    assert names == {"paints": None, "ink": "ink", "oil": "oil", "chalk": "chalk"}
    net = load_transformer(zoo / "paints.pth")
    frame = _frame()
    x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
    for backend_name in ("torch", "onnx"):
        backend = open_backend("oil", backend_name, "cpu")
        assert backend.mix.names == ("ink", "oil", "chalk") and backend.mix.current() == {"oil": 1.0}
        for mix in ({"oil": 1.0}, {"chalk": 1.0}, {"ink": 0.3, "chalk": 0.7}):
            backend.mix.set(mix)
            with torch.no_grad():
                expected = net(x, net.style_weights(mix)).clamp(0, 255)[0].permute(1, 2, 0).numpy()
            assert np.abs(backend.run(frame).astype(float) - expected).max() <= 1.5, (backend_name, mix)
    blended = open_backend("ink", "torch", "cpu", blend=("chalk", 0.25))
    assert blended.mix.current() == {"ink": 0.75, "chalk": 0.25}


def test_style_bank_shares_one_backend_and_blends_with_keys(zoo: Path) -> None:
    from stylecam.realtime.keys import KeyHandler
    from stylecam.realtime.styles import StyleBank, johnson_styles

    opened: list[str] = []

    def opener(entry: Any) -> Any:
        from stylecam.runtime.select import open_backend

        opened.append(entry.label)
        return open_backend(entry.model, "torch", "cpu")

    entries, start = johnson_styles(["ink"])
    labels = [e.label for e in entries]
    assert {"ink", "oil", "chalk"} <= set(labels) and "paints" not in labels
    bank = StyleBank(entries, start, opener=opener)
    frame = _frame()
    first, _ = bank.run(frame, 1.0)
    bank.select(labels.index("chalk"))
    bank.wait_idle()
    second, index = bank.run(frame, 1.0)
    assert entries[index].label == "chalk" and opened == ["ink"]  # switched within the open network
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 1.0

    class Target:
        def __getattr__(self, name: str) -> Any:
            return {"cycle_blend": lambda: said.append(bank.cycle_blend()),
                    "change_blend": lambda delta: said.append(bank.change_blend(delta))}[name]

    said: list[str] = []
    keys = KeyHandler(Target())
    keys.handle("b")
    keys.handle("]")
    assert said[-1] in ("chalk + 60% ink", "chalk + 60% oil")
    partner = said[-1].split("% ")[1]
    assert bank.backend.mix.names and bank.mix_for(bank.index) == pytest.approx({"chalk": 0.4, partner: 0.6})
    blended, _ = bank.run(frame, 1.0)
    assert np.abs(blended.astype(int) - second.astype(int)).mean() > 0.5
    while bank.blend is not None:  # b cycles through the partners, then stops blending
        keys.handle("b")
    assert bank.describe() == "chalk"


def test_stylize_takes_a_style_by_name_and_a_blend(zoo: Path, tmp_path: Path) -> None:
    from stylecam.cli.stylize import main as stylize

    photo = tmp_path / "photo.png"
    Image.fromarray(_frame(64, 80)).save(photo)
    outputs = {}
    for name, extra in (("ink", []), ("chalk", []), ("ink_chalk", ["--mix", "chalk:1"]), ("half", ["--mix", "chalk"])):
        out = tmp_path / f"{name}.png"
        model = "ink" if name != "chalk" else "chalk"
        assert stylize([str(photo), "-o", str(out), "--model", model, "--device", "cpu", "-q", *extra]) == 0
        outputs[name] = np.asarray(Image.open(out)).astype(int)
    assert np.array_equal(outputs["ink_chalk"], outputs["chalk"])  # a blend at 1 is the other style alone
    assert np.abs(outputs["half"] - outputs["ink"]).mean() > 0.5 and np.abs(outputs["half"] - outputs["chalk"]).mean() > 0.5
    rc, err = run_main(stylize, photo, "-o", tmp_path / "bad.png", "--model", "ink", "--mix", "pencil", "-q")
    assert rc == 2 and err.count("\n") == 1 and "this network has: ink, oil, chalk" in err


def test_a_style_of_a_file_outside_the_zoo_is_named_file_colon_style(zoo_dir: Path, tmp_path: Path) -> None:
    from stylecam.cli.stylize import main as stylize
    from stylecam.realtime.styles import johnson_entry
    from stylecam.runtime.select import open_backend

    photo = tmp_path / "photo.png"
    Image.fromarray(_frame(64, 80)).save(photo)
    file = zoo_dir / "paints.pth"
    for model in (str(file), f"{file}:chalk"):
        assert stylize([str(photo), "-o", str(tmp_path), "--model", model, "--device", "cpu", "-q"]) == 0
    mixed = tmp_path / "mixed.png"
    assert stylize([str(photo), "-o", str(mixed), "--model", str(file), "--mix", "chalk:1", "--device", "cpu", "-q"]) == 0
    first, chalk = (np.asarray(Image.open(tmp_path / name)).astype(int)  # output names say the style
                    for name in ("photo_paints.png", "photo_chalk.png"))
    assert np.array_equal(chalk, np.asarray(Image.open(mixed)).astype(int))
    assert np.abs(first - chalk).mean() > 0.5
    backend = open_backend(f"{file}:chalk", "torch", "cpu")
    assert backend.mix.current() == {"chalk": 1.0}
    assert johnson_entry(f"{file}:chalk").label == "chalk" and johnson_entry(str(file)).label == "paints"
    rc, err = run_main(stylize, photo, "-o", tmp_path / "bad.png", "--model", f"{file}:pencil", "-q")
    assert rc == 2 and err.count("\n") == 1 and "this network has: ink, oil, chalk" in err
