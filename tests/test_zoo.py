"""The trained-model zoo: lookup by name in $STYLECAM_MODELS folders, cards, and helpful errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import stylecam.zoo as zoo
from stylecam.errors import ModelError
from stylecam.zoo import MODELS_ENV, list_models, model_dirs, resolve_model


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A $STYLECAM_MODELS folder with a Johnson model ``a`` and an AdaIN decoder ``b``; no repo models."""
    empty_repo = tmp_path / "repo_models"
    empty_repo.mkdir()
    monkeypatch.setattr(zoo, "REPO_MODELS", empty_repo)
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "a.pth").write_bytes(b"a")
    (folder / "a.json").write_text(json.dumps({"kind": "johnson", "style": "mosaic"}))
    (folder / "b.pth").write_bytes(b"b")
    (folder / "b.json").write_text(json.dumps({"kind": "adain_decoder"}))
    (folder / "notes.txt").write_text("not a model")
    monkeypatch.setenv(MODELS_ENV, str(folder))
    return folder


def test_model_dirs(models: Path) -> None:
    assert model_dirs() == [models, zoo.REPO_MODELS]


def test_list_models_finds_both(models: Path) -> None:
    entries = list_models()
    assert [entry.name for entry in entries] == ["a", "b"]
    a, b = entries
    assert a.path == models / "a.pth" and b.path == models / "b.pth"
    assert a.kind == "johnson" and b.kind == "adain_decoder"
    assert a.card == {"kind": "johnson", "style": "mosaic"}


def test_style_images_of_a_tier(models: Path) -> None:
    def card(tier: str, style: str | None) -> str:
        images = [{"name": style, "sha256": "0"}] if style else []
        return json.dumps({"kind": "johnson", "tier": tier, "style_images": images})

    for name, tier, style in [("f1", "fast", "udnie.jpg"), ("f2", "fast", "candy.jpg"), ("f3", "fast", "candy.jpg"),
                              ("f4", "fast", None), ("q1", "quality", "mosaic.jpg")]:
        (models / f"{name}.pth").write_bytes(b"x")
        (models / f"{name}.json").write_text(card(tier, style))
    entries = {entry.name: entry for entry in list_models()}
    assert entries["f1"].style_image == "udnie.jpg" and entries["f4"].style_image is None
    assert entries["a"].style_image is None and entries["b"].style_image is None
    assert zoo.style_images_of_tier(list(entries.values()), "fast") == ["candy.jpg", "udnie.jpg"]
    assert zoo.style_images_of_tier(list(entries.values()), "quality") == ["mosaic.jpg"]


def test_card_missing_or_broken_means_johnson(models: Path) -> None:
    (models / "c.pth").write_bytes(b"c")  # no card
    (models / "d.pth").write_bytes(b"d")
    (models / "d.json").write_text("{not json")
    (models / "e.pth").write_bytes(b"e")
    (models / "e.json").write_text("[1, 2]")  # valid JSON, not an object
    entries = {entry.name: entry for entry in list_models()}
    for name in ("c", "d", "e"):
        assert entries[name].card == {}
        assert entries[name].kind == "johnson"


def test_resolve_by_name(models: Path) -> None:
    assert resolve_model("a") == models / "a.pth"
    assert resolve_model("b", kind="adain_decoder") == models / "b.pth"


def test_resolve_name_of_other_kind_fails(models: Path) -> None:
    with pytest.raises(ModelError, match="unknown style 'b'"):
        resolve_model("b")  # b is an AdaIN decoder, not a Johnson model
    with pytest.raises(ModelError, match="available: b"):
        resolve_model("a", kind="adain_decoder")


def test_resolve_existing_path(models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere" / "my_style.pth"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"x")
    assert resolve_model(str(elsewhere)) == elsewhere
    # A relative path works too, and wins over a zoo name.
    monkeypatch.chdir(elsewhere.parent)
    (elsewhere.parent / "a").write_bytes(b"local file called a")
    assert resolve_model("my_style.pth") == Path("my_style.pth")
    assert resolve_model("a") == Path("a")


def test_display_name_of_a_file_a_file_style_and_a_zoo_name(tmp_path: Path) -> None:
    net = tmp_path / "paints.v2.pth"
    net.write_bytes(b"x")
    assert zoo.display_name(str(net)) == "paints.v2"
    assert zoo.display_name(f"{net}:scream") == "scream"
    assert zoo.display_name("mosaic") == "mosaic"
    assert zoo.display_name("styles.v2") == "styles.v2"  # a zoo name with a dot is not a file with a suffix


def test_resolve_unknown_name_lists_choices(models: Path) -> None:
    with pytest.raises(ModelError) as info:
        resolve_model("nope")
    message = str(info.value)
    assert "nope" in message
    assert "available: a" in message
    assert "b" not in message.split("available:")[1]  # only models of the requested kind are offered


def test_resolve_missing_path(models: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model file not found"):
        resolve_model(str(tmp_path / "missing.pth"))
    with pytest.raises(ModelError, match="model file not found"):
        resolve_model("nope.pth")


def test_empty_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo, "REPO_MODELS", tmp_path / "missing_repo_models")
    monkeypatch.delenv(MODELS_ENV, raising=False)
    assert list_models() == []
    with pytest.raises(ModelError, match="none yet"):
        resolve_model("mosaic")


def test_earlier_folder_shadows_later(models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "a.pth").write_bytes(b"shadow")
    monkeypatch.setenv(MODELS_ENV, os.pathsep.join([str(first), str(models)]))
    assert resolve_model("a") == first / "a.pth"
    assert [entry.name for entry in list_models()] == ["a", "b"]
    # The repo folder comes last.
    (zoo.REPO_MODELS / "z.pth").write_bytes(b"z")
    (zoo.REPO_MODELS / "a.pth").write_bytes(b"repo a")
    assert resolve_model("z") == zoo.REPO_MODELS / "z.pth"
    assert resolve_model("a") == first / "a.pth"
