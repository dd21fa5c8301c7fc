"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stylecam.log import set_quiet


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only data folder ``shared/`` beside the project root; skips the test if it is missing."""
    path = Path(__file__).resolve().parents[1].parent / "shared"
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} not found")
    return path


def _default_vgg_weights() -> None:
    """Point the VGG loader at the truncated real weights in ../shared unless the caller chose others."""
    weights = Path(__file__).resolve().parents[1].parent / "shared" / "weights" / "vgg19_imagenet_conv1_1-conv3_4.pth"
    if weights.is_file():
        os.environ.setdefault("STYLECAM_VGG_WEIGHTS", str(weights))


_default_vgg_weights()


@pytest.fixture(scope="session")
def fast_net_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained fast-tier network with a realistic output range, saved as a model file."""
    from model_factories import random_net

    from stylecam.nets.checkpoints import save_model

    path = tmp_path_factory.mktemp("fast_net") / "fast.pth"
    save_model(path, random_net())
    return path


@pytest.fixture(autouse=True)
def _notices_on() -> Iterator[None]:
    """Commands run in-process with --quiet silence notices process-wide; give every test a clean start."""
    set_quiet(False)
    yield
    set_quiet(False)


@pytest.fixture(autouse=True)
def _stylecam_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX exports and engines made by tests go to a per-session cache, never the user's ~/.cache."""
    monkeypatch.setenv("STYLECAM_CACHE", str(tmp_path_factory.getbasetemp() / "stylecam-cache"))
