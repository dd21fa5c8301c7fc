"""Optical flow, the occlusion mask, the warping-error metric, scene cuts and the three temporal modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from video_clips import moving_frames, texture

from stylecam.imaging.io import read_image
from stylecam.losses.temporal import occlusion_mask
from stylecam.nets.vgg import load_vgg
from stylecam.stylize.gatys import GatysSettings
from stylecam.video.flow import FlowEstimator, reliability_mask, warp
from stylecam.video.keyframes import CutDetector, GatysRenderer
from stylecam.video.metrics import WarpingError
from stylecam.video.reader import VideoReader, probe
from stylecam.video.temporal import (
    FirstPass,
    FlowBlend,
    PerFrame,
    RuderOptimised,
    blend_keeping_detail,
)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_recovers_known_translation(method: str) -> None:
    previous, current = moving_frames(2, 96, 128, dx=3, dy=1)
    backward, mask = FlowEstimator(method).warp_field(current, previous)
    inner = (slice(16, -16), slice(16, -16))
    assert np.median(backward[inner][..., 0]) == pytest.approx(3.0, abs=0.25)
    assert np.median(backward[inner][..., 1]) == pytest.approx(1.0, abs=0.25)
    assert mask[inner].mean() > 0.9
    error = np.abs(warp(previous, backward).astype(int) - current.astype(int))[inner].mean()
    assert error < 6


def test_mask_matches_the_torch_criteria() -> None:
    """A square moving 6 px right over a still background: both implementations flag the same pixels."""
    height, width = 48, 64
    backward = np.zeros((height, width, 2), np.float32)
    forward = np.zeros((height, width, 2), np.float32)
    backward[20:32, 26:38, 0] = -6.0  # the square now at x 26..37 was at x 20..31
    forward[20:32, 20:32, 0] = 6.0
    ours = reliability_mask(backward, forward)
    as_torch = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None]
    theirs = occlusion_mask(as_torch(forward), as_torch(backward))[0, 0].numpy()
    assert 0.0 < ours.mean() < 1.0
    assert (ours == theirs).mean() > 0.995


class NoisyStylizer:
    """A 'stylizer' that flickers: a fixed colour mapping plus fresh noise every frame."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def run(self, frame: np.ndarray) -> np.ndarray:
        styled = frame[..., ::-1].astype(np.float32) * 0.8 + 30
        return np.clip(styled + self.rng.normal(0, 12, frame.shape), 0, 255).astype(np.uint8)


def test_flow_mode_halves_the_warping_error_on_known_motion() -> None:
    frames = moving_frames(16, 96, 128, dx=2, dy=1)
    score = WarpingError(frames)
    none = [PerFrame(FirstPass(NoisyStylizer())).step(f, i == 0) for i, f in enumerate(frames)]
    flow_mode = FlowBlend(FirstPass(NoisyStylizer()))
    flow = [flow_mode.step(f, i == 0) for i, f in enumerate(frames)]
    assert score(flow) < 0.5 * score(none)
    # the picture stays the stylizer's: close to the noiseless mapping
    clean = [np.clip(f[..., ::-1].astype(np.float32) * 0.8 + 30, 0, 255) for f in frames]
    assert np.abs(flow[-1][16:-16, 16:-16] - clean[-1][16:-16, 16:-16]).mean() < 12


class Invert:
    def run(self, frame: np.ndarray) -> np.ndarray:
        return 255 - frame


def test_flow_mode_restarts_at_a_cut() -> None:
    """At a cut the fresh stylization is used as it is; within a shot the previous output is blended in."""
    frames = moving_frames(2, 48, 64)
    other = 255 - texture(48, 64, seed=5)[:48, :64]
    mode = FlowBlend(FirstPass(Invert()))
    mode.step(frames[0], True)
    assert not np.array_equal(mode.step(other, False), 255 - other)
    assert np.array_equal(mode.step(other, True), 255 - other)


def test_blend_keeping_detail_keeps_texture_energy() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    b = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    weight = np.full((64, 64), 0.5, np.float32)
    plain = a.astype(np.float32) * 0.5 + b * 0.5
    kept = blend_keeping_detail(a, b, weight).astype(np.float32)
    assert kept.std() > 1.2 * plain.std()
    assert np.array_equal(blend_keeping_detail(a, a, weight), a)


def test_cut_detector_finds_the_cut_only(shared_dir: Path) -> None:
    detector = CutDetector()
    photos = [read_image(shared_dir / "images" / "content" / name, max_side=256) for name in
              ("tubingen.jpg", "golden_gate.jpg")]
    shot_a, shot_b = ([photo[y : y + 72, 2 * y : 2 * y + 96] for y in range(8)] for photo in photos)
    cuts = [detector(f) for f in shot_a + shot_b]
    assert cuts == [True] + [False] * 7 + [True] + [False] * 7
    info = probe(shared_dir / "video" / "ntu.mp4")
    detector = CutDetector()
    with VideoReader(info, (128, 72), duration=1.0) as reader:
        assert sum(detector(frame.image) for frame in reader) == 1


@pytest.fixture(scope="module")
def tiny_gatys() -> GatysRenderer:
    torch.manual_seed(0)
    style = torch.rand(1, 3, 64, 64)
    return GatysRenderer(load_vgg().eval(), [style], GatysSettings(iters=4), torch.device("cpu"))


def test_gatys_key_frames_start_from_the_stylizer(tiny_gatys: GatysRenderer) -> None:
    frames = moving_frames(2, 32, 48)
    first = FirstPass(NoisyStylizer(), tiny_gatys, key_iters=3)
    key = first(frames[0], True)
    assert key.shape == frames[0].shape and tiny_gatys.losses["style"] > 0
    ordinary = first(frames[1], False)
    assert ordinary.shape == frames[1].shape


def test_ruder_temporal_loss_pulls_towards_the_warped_previous_output(tiny_gatys: GatysRenderer) -> None:
    frames = moving_frames(3, 32, 48, dx=2, dy=0)

    def run(weight: float, long_term: tuple[int, ...] = ()) -> list[np.ndarray]:
        mode = RuderOptimised(tiny_gatys, None, FlowEstimator("farneback", None), weight, long_term,
                              iters=6, key_iters=6)
        return [mode.step(f, i == 0) for i, f in enumerate(frames)]

    free, held = run(0.0), run(1e9, (2,))
    assert "extra" in tiny_gatys.losses
    score = WarpingError(frames)
    assert score(held) < score(free)
