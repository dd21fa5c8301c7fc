"""``styletrain`` end to end on tiny generated data: Johnson and AdaIN training, checkpoints, resume, SIGINT,
the NaN guard, DistributedDataParallel (gloo), model cards, the zoo listing, and the training data pipeline.

Everything is real (real truncated VGG19 weights, real optimisation) but tiny: 32 px crops, batches of 2 and
a few dozen steps, so the whole file runs in well under a minute on two CPU cores.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from in_process import run_main
from PIL import Image

import stylecam.zoo
from stylecam.cli.train import main
from stylecam.errors import InputError
from stylecam.nets.checkpoints import load_adain_decoder, load_transformer, read_model_file, save_model
from stylecam.nets.transformer import TIERS, TransformerNet, fold_into_blocks
from stylecam.zoo import total_iterations
from stylecam.training import data as tdata
from stylecam.training import tasks as ttasks
from stylecam.training.loop import CHECKPOINT_NAME

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32
JOHNSON_STEPS = 24


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Any:
    """Tiny tensors gain nothing from threads, and on a shared, busy machine idle-spinning workers make every
    step many times slower; the subprocesses get OMP_NUM_THREADS=1 as well."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A smooth random 'photo': sinusoidal colour gradients with a few soft colour blobs."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    img = np.empty((height, width, 3))
    for c in range(3):
        img[..., c] = 0.5 + 0.5 * np.sin(rng.uniform(2, 8) * x + rng.uniform(2, 8) * y + rng.uniform(0, 6))
    for _ in range(3):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.3)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / r**2)[..., None]
        img = img * (1 - blob) + blob * rng.uniform(0, 1, 3)
    return Image.fromarray((img * 255).round().astype(np.uint8))


def _pattern(kind: str, size: int = 64) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size]
    img = np.zeros((size, size, 3), np.uint8)
    if kind == "checker":
        on = ((x // 8) + (y // 8)) % 2 == 0
        img[on], img[~on] = (230, 40, 20), (20, 40, 200)
    elif kind == "stripes":
        on = (x + y) // 6 % 2 == 0
        img[on], img[~on] = (250, 220, 30), (10, 10, 10)
    else:  # dots
        img[:] = (240, 240, 230)
        img[((x % 12 - 6) ** 2 + (y % 12 - 6) ** 2) < 12] = (30, 120, 40)
    return Image.fromarray(img)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """photos/ (8 photos in nested folders, a corrupt bad.jpg sorted first, a text file, a hidden junk file),
    styles/ (3 patterns) and style.png (a 64×64 checker)."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(1234)
    layout = ["a/p0.jpg", "a/p1.png", "a/p2.jpg", "b/c/p3.png", "b/c/p4.jpg", "b/c/p5.png", "p6.jpg", "p7.png"]
    for i, rel in enumerate(layout):
        path = root / "photos" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _photo(rng, *((48, 40) if i % 2 else (40, 56))).save(path, quality=95)
    (root / "photos/a/bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG " * 8)
    (root / "photos/b/notes.txt").write_text("not an image\n")
    (root / "photos/a/._p0.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble junk")
    (root / "styles").mkdir()
    for kind in ("checker", "stripes", "dots"):
        _pattern(kind).save(root / "styles" / f"{kind}.png")
    _pattern("checker").save(root / "style.png")
    (root / "models").mkdir()
    return root


def _train(*argv: Any) -> tuple[int, str]:
    """Run ``styletrain`` in-process; (exit code, stderr)."""
    return run_main(main, *argv)


def _johnson_args(d: Path, output: Path, run_dir: Path, iterations: int, *extra: Any) -> list[Any]:
    return ["johnson", "--style-image", d / "style.png", "--data", d / "photos", "-o", output, "--tier", "fast",
            "--image-size", SIZE, "--batch-size", 2, "--iterations", iterations, "--run-dir", run_dir,
            "--seed", 0, "--device", "cpu", "--warmup", 0, "-q", *extra]


def _checkpoint(run_dir: Path) -> dict[str, Any]:
    return torch.load(run_dir / CHECKPOINT_NAME, map_location="cpu", weights_only=True)


def _totals(history: list[dict[str, float]]) -> list[float]:
    return [h["total"] for h in history]


@pytest.fixture(scope="module")
def johnson_run(data_dir: Path) -> dict[str, Any]:
    """One real Johnson training run on the tiny data set."""
    out, run = data_dir / "models" / "checker.pth", data_dir / "runs" / "checker"
    rc, err = _train(*_johnson_args(data_dir, out, run, JOHNSON_STEPS, "--lr", 1e-2, "--checkpoint-every", 8,
                                    "--sample-every", 12))
    assert rc == 0, err
    return {"output": out, "run_dir": run}


@pytest.fixture(scope="module")
def adain_run(data_dir: Path) -> dict[str, Any]:
    """One real AdaIN decoder training run."""
    out, run = data_dir / "models" / "adain_tiny.pth", data_dir / "runs" / "adain"
    rc, err = _train("adain", "--data", data_dir / "photos", "--style-data", data_dir / "styles", "-o", out,
                     "--image-size", SIZE, "--batch-size", 2, "--iterations", 30, "--lr", 1e-3,
                     "--run-dir", run, "--sample-every", 30, "--seed", 0, "--device", "cpu", "-q")
    assert rc == 0, err
    return {"output": out, "run_dir": run}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------- Johnson


def test_johnson_training_learns_and_writes_model_card_and_samples(johnson_run: dict[str, Any],
                                                                    data_dir: Path) -> None:
    state = _checkpoint(johnson_run["run_dir"])
    history = state["history"]
    assert state["step"] == JOHNSON_STEPS and [h["step"] for h in history] == list(range(1, JOHNSON_STEPS + 1))
    totals = _totals(history)
    assert all(math.isfinite(t) for t in totals)
    first, last = np.mean(totals[:4]), np.mean(totals[-4:])
    assert last < 0.9 * first, f"loss did not fall: {first:.4g} -> {last:.4g}"
    # the log holds every 10th step (LoopSettings.log_every) and agrees with the checkpoint's history
    logged = [json.loads(line) for line in (johnson_run["run_dir"] / "train_log.jsonl").read_text().splitlines()]
    assert [h["step"] for h in logged] == [10, 20] and logged == [history[9], history[19]]

    net = load_transformer(johnson_run["output"])
    assert net.config == TIERS["fast"]
    for key, value in net.state_dict().items():
        assert torch.equal(value, state["model"][key]), key
    with torch.no_grad():
        styled = net(torch.rand(1, 3, SIZE, SIZE) * 255)
    assert styled.shape == (1, 3, SIZE, SIZE) and torch.isfinite(styled).all()

    card = json.loads(johnson_run["output"].with_suffix(".json").read_text())
    assert card["kind"] == "johnson"
    sha = hashlib.sha256((data_dir / "style.png").read_bytes()).hexdigest()
    assert card["style_images"] == [{"name": "style.png", "sha256": sha}]
    settings = card["settings"]
    assert settings["tier"] == "fast" and settings["batch_size"] == 2 and settings["image_size"] == SIZE
    assert settings["seed"] == 0 and settings["world_size"] == 1 and settings["lr"] == pytest.approx(1e-2)
    # the weights actually used, defaults included (not null)
    assert settings["content_weight"] == 1.0 and settings["temporal_weight"] == 0.0
    assert settings["style_weight"] == ttasks.JohnsonWeights().style and settings["tv_weight"] == ttasks.JohnsonWeights().tv
    assert settings["moments_weight"] == ttasks.JohnsonWeights().moments and settings["warmup"] == 0
    assert settings["precision"] in ("fp32", "bf16")
    assert settings["skipped_images"] == 1  # bad.jpg; notes.txt and ._p0.jpg are not images at all
    assert card["iterations"] == JOHNSON_STEPS
    assert set(card["final_losses"]) == {"content", "style", "moments", "tv", "total"}
    assert all(math.isfinite(v) for v in card["final_losses"].values())
    assert card["final_losses"]["total"] == pytest.approx(np.mean(totals), rel=1e-4)  # mean of the last ≤50
    assert isinstance(card["wall_time_s"], (int, float)) and card["wall_time_s"] >= 0
    assert card["device"] == "cpu" and card["torch"] == torch.__version__
    assert "commit" in card
    assert datetime.datetime.fromisoformat(card["date"]).tzinfo is not None
    assert card["tier"] == "fast" and card["config"] == TIERS["fast"].to_dict()

    samples = sorted(p.name for p in (johnson_run["run_dir"] / "samples").iterdir())
    assert samples == ["step_0000012.jpg", "step_0000024.jpg"]
    with Image.open(johnson_run["run_dir"] / "samples" / samples[-1]) as img:
        assert img.size[0] > 0 and img.size[1] > 0


@pytest.mark.parametrize("temporal", [0.0, 1.0], ids=["plain", "temporal"])
def test_resume_reproduces_the_uninterrupted_run(data_dir: Path, tmp_path: Path, temporal: float) -> None:
    k = 3
    extra = ("--temporal-weight", temporal, "--checkpoint-every", 100, "--sample-every", 2)
    rc, err = _train(*_johnson_args(data_dir, tmp_path / "a.pth", tmp_path / "run_a", 2 * k, *extra))
    assert rc == 0, err
    rc, err = _train(*_johnson_args(data_dir, tmp_path / "b.pth", tmp_path / "run_b", k, *extra))
    assert rc == 0, err
    halfway = _checkpoint(tmp_path / "run_b")
    assert halfway["step"] == k
    rc, err = _train(*_johnson_args(data_dir, tmp_path / "b.pth", tmp_path / "run_b", 2 * k, *extra, "--resume"))
    assert rc == 0, err

    a, b = _checkpoint(tmp_path / "run_a"), _checkpoint(tmp_path / "run_b")
    assert a["step"] == b["step"] == 2 * k
    assert a["history"] == b["history"]
    assert ("temporal" in a["history"][0]) == (temporal > 0)
    if temporal:
        assert all(h["temporal"] > 0 for h in a["history"])
    model_a = read_model_file(tmp_path / "a.pth")["state_dict"]
    model_b = read_model_file(tmp_path / "b.pth")["state_dict"]
    assert model_a.keys() == model_b.keys()
    for key in model_a:
        assert torch.equal(model_a[key], model_b[key]), key
    # the resumed half really trained (the comparison is not between two copies of the step-k weights)
    assert not torch.equal(model_b["conv1.conv2d.weight"], halfway["model"]["conv1.conv2d.weight"])


def test_sigint_saves_a_checkpoint_and_the_run_resumes(data_dir: Path, tmp_path: Path) -> None:
    out, run = tmp_path / "int.pth", tmp_path / "run"
    argv = [sys.executable, "-m", "stylecam.cli.train",
            *map(str, _johnson_args(data_dir, out, run, 100_000, "--checkpoint-every", 2, "--sample-every", 1000))]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (run / CHECKPOINT_NAME).is_file():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 60 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    lines = _error_lines(stderr)
    assert len(lines) == 1 and "--resume" in lines[0] and lines[0].startswith("styletrain: error:"), stderr
    assert "Traceback" not in stderr
    state = _checkpoint(run)
    step = state["step"]
    assert 0 < step < 100_000 and len(state["history"]) == step
    assert f"stopped at step {step}" in lines[0]
    assert not out.exists()

    rc, err = _train(*_johnson_args(data_dir, out, run, step + 2, "--checkpoint-every", 2, "--sample-every", 1000,
                                    "--resume"))
    assert rc == 0, err
    assert load_transformer(out).config == TIERS["fast"]
    resumed = _checkpoint(run)
    assert resumed["step"] == step + 2 and resumed["history"][:step] == state["history"]
    assert json.loads(out.with_suffix(".json").read_text())["iterations"] == step + 2


def test_time_limit_ends_the_run_early_and_writes_the_model(data_dir: Path, tmp_path: Path) -> None:
    out, run = tmp_path / "timed.pth", tmp_path / "run"
    rc, err = _train(*_johnson_args(data_dir, out, run, 1000, "--max-minutes", 0, "--sample-every", 1000))
    assert rc == 0, err
    assert load_transformer(out).config == TIERS["fast"]
    assert json.loads(out.with_suffix(".json").read_text())["iterations"] == 1
    assert _checkpoint(run)["step"] == 1


def test_init_fine_tunes_a_trained_network_and_records_where_it_started(johnson_run: dict[str, Any],
                                                                        data_dir: Path, tmp_path: Path) -> None:
    start = johnson_run["output"]
    out = tmp_path / "tuned.pth"
    rc, err = _train(*_johnson_args(data_dir, out, tmp_path / "run", 1, "--init", start, "--lr", 1e-12))
    assert rc == 0, err
    # one step at a negligible learning rate: the weights are the starting network's, not a fresh init
    for key, value in load_transformer(out).state_dict().items():
        torch.testing.assert_close(value, load_transformer(start).state_dict()[key], rtol=1e-5, atol=1e-6)
    card = json.loads(out.with_suffix(".json").read_text())
    origin = card["initialised_from"]
    assert origin["model"] == start.name and origin["sha256"] == hashlib.sha256(start.read_bytes()).hexdigest()
    assert origin["card"] == json.loads(start.with_suffix(".json").read_text())
    assert card["settings"]["style_tiles"] == 1 and card["settings"]["warmup"] == 0
    assert stylecam.zoo.total_iterations(card) == 1 + JOHNSON_STEPS  # this run's step plus the starting model's


def test_upsample_switches_a_started_network_to_nearest_and_a_later_init_keeps_it(
        johnson_run: dict[str, Any], data_dir: Path, tmp_path: Path) -> None:
    start = johnson_run["output"]
    assert load_transformer(start).config.upsample == "bilinear"  # the tiers' default
    nearest, kept = tmp_path / "nearest.pth", tmp_path / "kept.pth"
    rc, err = _train(*_johnson_args(data_dir, nearest, tmp_path / "run1", 1, "--init", start, "--lr", 1e-12,
                                    "--upsample", "nearest"))
    assert rc == 0, err
    net = load_transformer(nearest)
    assert net.config.upsample == "nearest" and json.loads(nearest.with_suffix(".json").read_text())["tier"] == "fast"
    for key, value in net.state_dict().items():  # the same weights, enlarged another way
        torch.testing.assert_close(value, load_transformer(start).state_dict()[key], rtol=1e-5, atol=1e-6)
    rc, err = _train(*_johnson_args(data_dir, kept, tmp_path / "run2", 1, "--init", nearest, "--lr", 1e-12))
    assert rc == 0, err
    assert load_transformer(kept).config.upsample == "nearest"


def test_resume_takes_the_upsampling_of_its_checkpoint_and_refuses_another(data_dir: Path, tmp_path: Path) -> None:
    out, run = tmp_path / "bilinear.pth", tmp_path / "run"
    rc, err = _train(*_johnson_args(data_dir, out, run, 1, "--upsample", "nearest", "--lr", 1e-12))
    assert rc == 0, err
    assert _checkpoint(run)["config"]["upsample"] == "nearest"
    rc, err = _train(*_johnson_args(data_dir, out, run, 2, "--lr", 1e-12, "--resume"))  # no --upsample
    assert rc == 0, err
    assert load_transformer(out).config.upsample == "nearest" and _checkpoint(run)["step"] == 2
    rc, err = _train(*_johnson_args(data_dir, out, run, 3, "--lr", 1e-12, "--resume", "--upsample", "bilinear"))
    assert rc != 0 and _checkpoint(run)["step"] == 2
    assert err.strip().splitlines() == [
        f"styletrain: error: {run / CHECKPOINT_NAME} holds a network with upsample='nearest' (this run: "
        "'bilinear'); resume with the options it was started with"]


def test_new_lr_replaces_the_saved_schedule_on_resume_and_keeps_adams_state(data_dir: Path, tmp_path: Path) -> None:
    out, run = tmp_path / "annealed.pth", tmp_path / "run"
    assert _train(*_johnson_args(data_dir, out, run, 2, "--lr", 1e-3, "--norm-lr-scale", 5))[0] == 0
    saved = _checkpoint(run)["optimizer"]
    rc, err = _train(*_johnson_args(data_dir, out, run, 3, "--lr", 4e-4, "--norm-lr-scale", 5, "--resume"))
    assert rc == 0, err  # without --new-lr the saved schedule goes on
    assert [g["lr"] for g in _checkpoint(run)["optimizer"]["param_groups"]] == pytest.approx([1e-3, 5e-3])
    rc, err = _train(*_johnson_args(data_dir, out, run, 5, "--lr", 4e-4, "--norm-lr-scale", 5, "--lr-decay-every", 1,
                                    "--lr-decay", 0.5, "--resume", "--new-lr"))
    assert rc == 0, err
    state = _checkpoint(run)["optimizer"]
    assert [g["lr"] for g in state["param_groups"]] == pytest.approx([1e-4, 5e-4])  # 4e-4 halved at steps 4 and 5
    assert all(s["step"] == 5 for s in state["state"].values()) and len(state["state"]) == len(saved["state"])
    assert json.loads(out.with_suffix(".json").read_text())["settings"]["lr_schedule_from_step"] == 3
    rc, err = _train(*_johnson_args(data_dir, out, run, 6, "--new-lr"))
    assert rc == 2 and err.strip().splitlines() == [
        "styletrain: error: --new-lr changes a resumed run's schedule: give --resume too"]


def test_resumed_run_keeps_the_origin_of_its_first_start(johnson_run: dict[str, Any], data_dir: Path,
                                                         tmp_path: Path) -> None:
    start, other = johnson_run["output"], tmp_path / "other.pth"
    shutil.copy(start, other)  # same architecture, another file (e.g. the model this run shipped)
    out, run = tmp_path / "tuned.pth", tmp_path / "run"
    assert _train(*_johnson_args(data_dir, out, run, 2, "--init", start, "--lr", 1e-12))[0] == 0
    rc, err = _train(*_johnson_args(data_dir, out, run, 3, "--init", other, "--lr", 1e-12, "--resume"))
    assert rc == 0, err
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["initialised_from"]["model"] == start.name
    assert stylecam.zoo.total_iterations(card) == 3 + JOHNSON_STEPS
    # a fresh run in the same folder without --init starts from nothing, and so does its resume
    assert _train(*_johnson_args(data_dir, out, run, 1))[0] == 0
    assert _train(*_johnson_args(data_dir, out, run, 2, "--resume"))[0] == 0
    assert "initialised_from" not in json.loads(out.with_suffix(".json").read_text())


def test_init_folds_a_full_resolution_network_into_the_fast_tiers_blocks(data_dir: Path, tmp_path: Path) -> None:
    full = TransformerNet(dataclasses.replace(TIERS["fast"], space_to_depth=1))
    for param in full.parameters():
        param.data += 0.05 * torch.randn_like(param)
    start, out = tmp_path / "full.pth", tmp_path / "folded.pth"
    save_model(start, full)
    rc, err = _train(*_johnson_args(data_dir, out, tmp_path / "run", 1, "--init", start, "--lr", 1e-12))
    assert rc == 0, err
    trained = load_transformer(out)
    assert trained.config == TIERS["fast"]
    for key, value in fold_into_blocks(full, 2).state_dict().items():
        torch.testing.assert_close(trained.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    assert json.loads(out.with_suffix(".json").read_text())["initialised_from"]["model"] == "full.pth"


@pytest.mark.parametrize("problem", ["missing", "wrong tier"])
def test_bad_init_model_fails_with_one_line(johnson_run: dict[str, Any], data_dir: Path, tmp_path: Path,
                                            problem: str) -> None:
    init = tmp_path / "absent.pth" if problem == "missing" else johnson_run["output"]
    args = _johnson_args(data_dir, tmp_path / "m.pth", tmp_path / "run", 2, "--init", init)
    if problem == "wrong tier":
        args[args.index("--tier") + 1] = "quality"
    proc = _styletrain(tmp_path, *args)
    assert proc.returncode != 0
    lines = _error_lines(proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert ("absent.pth" in lines[0]) if problem == "missing" else (
        "the quality tier's architecture (it is a fast-tier network: pass --tier fast)" in lines[0])
    assert not (tmp_path / "m.pth").exists()


# --------------------------------------------------------------------------------------------- NaN guard


def _assert_finite_checkpoint(run: Path) -> dict[str, Any]:
    state = _checkpoint(run)
    assert state["model"] and all(torch.isfinite(v).all() for v in state["model"].values())
    return state


def test_absurd_lr_stops_with_exit_70_and_keeps_the_last_good_checkpoint(data_dir: Path, tmp_path: Path) -> None:
    out, run = tmp_path / "nan.pth", tmp_path / "run"
    rc, err = _train(*_johnson_args(data_dir, out, run, 20, "--lr", 1e12, "--checkpoint-every", 1,
                                    "--sample-every", 1000, "--precision", "fp32"))
    assert rc == 70, err
    lines = _error_lines(err)
    assert len(lines) == 1 and "last good checkpoint" in lines[0] and str(run / CHECKPOINT_NAME) in lines[0], err
    state = _assert_finite_checkpoint(run)
    assert 1 <= state["step"] < 20 and f"step {state['step']}" in lines[0] and "loss became" in lines[0]
    assert all(math.isfinite(t) for t in _totals(state["history"]))
    assert not out.exists()


def test_divergence_before_any_checkpoint_does_not_claim_one(data_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    rc, err = _train(*_johnson_args(data_dir, tmp_path / "nan.pth", run, 20, "--lr", 1e12,
                                    "--checkpoint-every", 100, "--sample-every", 1000, "--precision", "fp32"))
    assert rc == 70, err
    assert not (run / CHECKPOINT_NAME).exists()
    lines = _error_lines(err)
    assert len(lines) == 1 and "no checkpoint was saved" in lines[0] and "last good checkpoint" not in lines[0], err
    assert "loss became" in lines[0]  # caught by the loss check at once, not only when a checkpoint is due


def test_nan_gradients_with_a_finite_loss_never_reach_the_checkpoint(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At step index 2 the loss stays finite but every gradient is NaN (d√x/dx at 0 times 0)."""
    original = ttasks.JohnsonTask.losses

    def poisoned(self: Any, model: torch.nn.Module, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        terms = original(self, model, batch, step)
        if step == 2:
            zero = sum((p * 0).sum() for p in model.parameters())
            terms["poison"] = torch.sqrt(zero)
        return terms

    monkeypatch.setattr(ttasks.JohnsonTask, "losses", poisoned)
    run = tmp_path / "run"
    rc, err = _train(*_johnson_args(data_dir, tmp_path / "nan.pth", run, 10, "--checkpoint-every", 1,
                                    "--sample-every", 1000))
    assert rc == 70, err
    lines = _error_lines(err)
    assert len(lines) == 1 and str(run / CHECKPOINT_NAME) in lines[0], err
    state = _assert_finite_checkpoint(run)
    assert state["step"] == 2


# --------------------------------------------------------------------------------------------- AdaIN


def test_adain_decoder_training(adain_run: dict[str, Any]) -> None:
    state = _checkpoint(adain_run["run_dir"])
    totals = _totals(state["history"])
    assert len(totals) == 30 and all(math.isfinite(t) for t in totals)
    first, last = np.mean(totals[:5]), np.mean(totals[-5:])
    assert last < 0.9 * first, f"loss did not fall: {first:.4g} -> {last:.4g}"
    assert set(state["history"][0]) == {"step", "content", "style", "layout", "total"}

    decoder = load_adain_decoder(adain_run["output"])
    assert decoder.encoder_layer == "relu3_1"  # the deepest AdaIN layer the truncated VGG19 reaches
    with torch.no_grad():
        image = decoder(torch.rand(1, 256, 8, 8))
    assert image.shape == (1, 3, 32, 32) and torch.isfinite(image).all()

    card = json.loads(adain_run["output"].with_suffix(".json").read_text())
    assert card["kind"] == "adain_decoder" and card["iterations"] == 30
    assert card["settings"]["style_weight"] == 10.0 and card["settings"]["lr"] == pytest.approx(1e-3)
    assert card["settings"]["batch_size"] == 2 and card["settings"]["skipped_images"] == 1
    assert card["settings"]["identity_weight"] == 0.0 and card["settings"]["layout_weight"] == 5e5
    assert (adain_run["run_dir"] / "samples" / "step_0000030.jpg").is_file()


def test_adain_fine_tune_learns_to_decode_a_photo(data_dir: Path, adain_run: dict[str, Any]) -> None:
    out, run = data_dir / "models" / "adain_tuned.pth", data_dir / "runs" / "adain_tuned"
    start = load_adain_decoder(adain_run["output"])
    rc, err = _train("adain", "--init", adain_run["output"], "--data", data_dir / "photos", "--style-data",
                     data_dir / "styles", "-o", out, "--image-size", SIZE, "--batch-size", 4, "--iterations", 40,
                     "--lr", 1e-3, "--identity-weight", 1, "--layout-weight", 0, "--run-dir", run, "--seed", 1,
                     "--device", "cpu", "-q")
    assert rc == 0, err
    history = _checkpoint(run)["history"]
    assert set(history[0]) == {"step", "content", "style", "identity", "total"}
    identity = [h["identity"] for h in history]
    assert np.mean(identity[-5:]) < 0.8 * np.mean(identity[:5])  # it learns to give the photo back
    assert torch.equal(start.net[1].weight, load_adain_decoder(adain_run["output"]).net[1].weight)  # --init kept
    assert not torch.equal(start.net[1].weight, load_adain_decoder(out).net[1].weight)
    assert json.loads(out.with_suffix(".json").read_text())["initialised_from"]["model"] == "adain_tiny.pth"


def test_adain_paper_recipe_has_only_its_two_terms(data_dir: Path) -> None:
    run = data_dir / "runs" / "adain_paper"
    rc, err = _train("adain", "--data", data_dir / "photos", "--style-data", data_dir / "styles",
                     "-o", data_dir / "models" / "adain_paper.pth", "--image-size", SIZE, "--batch-size", 2,
                     "--iterations", 2, "--identity-weight", 0, "--layout-weight", 0, "--run-dir", run,
                     "--device", "cpu", "-q")
    assert rc == 0, err
    assert set(_checkpoint(run)["history"][0]) == {"step", "content", "style", "total"}


def test_adain_identity_items_are_their_own_style() -> None:
    task = ttasks.AdaINTask.__new__(ttasks.AdaINTask)
    task.identity_weight = 0.0
    assert task.identity_count(8) == 0
    task.identity_weight = 5.0
    assert [task.identity_count(n) for n in (1, 2, 4, 8, 16)] == [1, 1, 1, 2, 4]


# --------------------------------------------------------------------------------------------- DDP


def test_batch_indices_split_one_global_batch_between_ranks() -> None:
    n, batch, seed = 23, 3, 7
    per_epoch = n // (batch * 2)
    seen: list[int] = []
    for step in range(2 * per_epoch + 1):
        e0, r0 = tdata.batch_indices(n, batch, step, seed, rank=0, world=2)
        e1, r1 = tdata.batch_indices(n, batch, step, seed, rank=1, world=2)
        eg, whole = tdata.batch_indices(n, batch * 2, step, seed)  # the same global batch, one process
        assert e0 == e1 == eg == step // per_epoch
        assert len(r0) == len(r1) == batch and not set(r0) & set(r1)
        assert sorted(r0 + r1) == sorted(whole) and r0 == whole[0::2] and r1 == whole[1::2]
        if e0 == 0:
            seen += whole
    # within an epoch, the global batches walk one seeded permutation: no item twice
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003)).tolist()
    assert seen == order[: per_epoch * batch * 2] and len(set(seen)) == len(seen)
    # deterministic, and reshuffled for the next epoch
    assert tdata.batch_indices(n, batch, 1, seed, 1, 2) == tdata.batch_indices(n, batch, 1, seed, 1, 2)
    assert tdata.batch_indices(n, batch, per_epoch, seed)[1] != tdata.batch_indices(n, batch, 0, seed)[1]


def test_ddp_two_processes_with_gloo(data_dir: Path, tmp_path: Path) -> None:
    """torchrun, 2 CPU processes: the result equals one process training on the whole global batch."""
    out, run = tmp_path / "ddp.pth", tmp_path / "run_ddp"
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "stylecam.cli.train",
            *map(str, _johnson_args(data_dir, out, run, 1, "--sample-every", 1, "--precision", "fp32"))]
    proc = subprocess.run(argv, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.is_file() and (run / CHECKPOINT_NAME).is_file() and (run / "samples" / "step_0000001.jpg").is_file()
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["settings"]["world_size"] == 2 and card["iterations"] == 1

    # one process with the global batch (2 × 2) sees the same items; with gradients averaged across the ranks,
    # Adam's first step (≈ lr·sign(grad)) must agree except where a gradient is ~0 (biases before an instance norm)
    single = tmp_path / "single.pth"
    rc, err = _train(*_johnson_args(data_dir, single, tmp_path / "run_single", 1, "--sample-every", 100,
                                    "--precision", "fp32", "--batch-size", 4))
    assert rc == 0, err
    ddp, one = read_model_file(out)["state_dict"], read_model_file(single)["state_dict"]
    total = sum(v.numel() for v in ddp.values())
    differing = sum(int(((ddp[k] - one[k]).abs() > 1e-5).sum()) for k in ddp)
    assert differing / total < 0.01, f"{differing}/{total} weights differ from the single-process run"


# --------------------------------------------------------------------------------------------- data


def test_find_images_is_recursive_sorted_and_images_only(data_dir: Path, tmp_path: Path) -> None:
    files = tdata.find_images(data_dir / "photos")
    rel = [p.relative_to(data_dir / "photos").as_posix() for p in files]
    assert rel == ["a/bad.jpg", "a/p0.jpg", "a/p1.png", "a/p2.jpg", "b/c/p3.png", "b/c/p4.jpg", "b/c/p5.png",
                   "p6.jpg", "p7.png"]
    assert files == sorted(files)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="no images"):
        tdata.find_images(tmp_path / "empty")
    with pytest.raises(InputError, match="not found"):
        tdata.find_images(tmp_path / "missing")


def test_photo_dataset_crops_are_deterministic_and_bad_files_skipped(data_dir: Path) -> None:
    ds = tdata.PhotoDataset(data_dir / "photos", SIZE, seed=3)
    assert len(ds) == 9
    bad = ds.files.index(data_dir / "photos/a/bad.jpg")
    good = (bad + 4) % len(ds)
    item = ds[good]
    assert item.shape == (3, SIZE, SIZE) and item.dtype == torch.float32
    assert float(item.min()) >= 0.0 and float(item.max()) <= 1.0 and float(item.std()) > 0.01
    assert torch.equal(item, ds[good])
    again = tdata.PhotoDataset(data_dir / "photos", SIZE, seed=3)  # a fresh instance (another worker, a resume)
    assert torch.equal(item, again[good])
    ds.epoch = 1
    assert not torch.equal(item, ds[good])
    ds.epoch = 0
    assert not torch.equal(item, tdata.PhotoDataset(data_dir / "photos", SIZE, seed=4)[good])
    assert not ds.skipped
    replaced = ds[bad]  # the corrupt file yields the next readable photo instead, and is counted
    assert replaced.shape == (3, SIZE, SIZE)
    assert ds.skipped == {data_dir / "photos/a/bad.jpg"}
    batch = next(tdata.batches(ds, 2, start_step=5, seed=3))
    assert batch.shape == (2, 3, SIZE, SIZE)


def test_a_smaller_crop_scale_zooms_into_the_photo(tmp_path: Path) -> None:
    from stylecam.cli.train import CROP_SCALE

    assert CROP_SCALE == tdata.CROP_SCALE  # the CLI's default, repeated for --help without torch
    y, x = np.mgrid[0:200, 0:300]
    ramp = np.stack([x * 255 // 299, y * 255 // 199, np.zeros_like(x)], -1).astype(np.uint8)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    spans = {}
    for scale in ((0.1, 0.1), (1.0, 1.0)):  # the vertical ramp's span in a crop measures how much of the photo it shows
        crops = [tdata.PhotoDataset(tmp_path, 32, seed, crop_scale=scale)[0] for seed in range(8)]
        spans[scale] = np.mean([float(c[1].max() - c[1].min()) for c in crops])
    assert spans[(0.1, 0.1)] < 0.5 * spans[(1.0, 1.0)], spans


@pytest.mark.parametrize("scale", [("0", "0.5"), ("0.6", "0.3"), ("0.5", "1.5")])
def test_a_bad_crop_scale_is_refused_with_one_line(data_dir: Path, tmp_path: Path, scale: tuple[str, str]) -> None:
    rc, err = run_main(main, *_johnson_args(data_dir, tmp_path / "m.pth", tmp_path / "run", 1), "--crop-scale", *scale)
    lines = _error_lines(err)
    assert rc == 2 and len(lines) == 1 and "--crop-scale" in lines[0], err
    assert not (tmp_path / "m.pth").exists() and not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------------- zoo listing


def test_styletrain_list_shows_trained_models(johnson_run: dict[str, Any], adain_run: dict[str, Any],
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    zoo, empty = tmp_path / "zoo", tmp_path / "empty"
    zoo.mkdir()
    empty.mkdir()
    for model in (johnson_run["output"], adain_run["output"]):
        shutil.copy(model, zoo / model.name)
        shutil.copy(model.with_suffix(".json"), zoo / model.with_suffix(".json").name)
    monkeypatch.setenv("STYLECAM_MODELS", str(zoo))
    monkeypatch.setattr(stylecam.zoo, "REPO_MODELS", empty)
    assert main(["list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert set(rows) == {"checker", "adain_tiny"}
    assert rows["checker"][1:4] == ["johnson", "fast", str(JOHNSON_STEPS)]
    assert rows["adain_tiny"][1:4] == ["adain_decoder", "-", "30"]
    assert rows["checker"][-1] == str(zoo / "checker.pth")

    monkeypatch.setenv("STYLECAM_MODELS", str(empty))
    assert main(["list"]) == 0
    assert "no trained models yet" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------- bad input


def _styletrain(tmp_path: Path, *argv: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stylecam.cli.train", *map(str, argv)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)


def test_missing_data_folder_exits_66_with_one_line(data_dir: Path, tmp_path: Path) -> None:
    proc = _styletrain(tmp_path, *_johnson_args(data_dir, tmp_path / "m.pth", tmp_path / "run", 2)[:4],
                       tmp_path / "no_such_photos", "-o", tmp_path / "m.pth", "--iterations", 2)
    assert proc.returncode == 66, proc.stderr
    lines = _error_lines(proc.stderr)
    assert len(lines) == 1 and "no_such_photos" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "m.pth").exists()


def test_missing_output_folder_fails_with_one_line(data_dir: Path, tmp_path: Path) -> None:
    proc = _styletrain(tmp_path, *_johnson_args(data_dir, tmp_path / "nowhere" / "m.pth", tmp_path / "run", 2))
    assert proc.returncode != 0
    lines = _error_lines(proc.stderr)
    assert len(lines) == 1 and "nowhere" in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()
