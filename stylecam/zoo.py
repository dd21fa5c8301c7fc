"""The trained-model zoo: models found by name in ``trained_models/`` (and ``$STYLECAM_MODELS`` folders).

A model ``NAME`` is ``NAME.pth`` with an optional JSON card ``NAME.json`` beside it. A network of several styles
(its card's ``config.styles``) is one entry under its file name (its first style) and one entry per style, named
``STYLE`` for the fast tier and ``STYLE_TIER`` for the others (``mosaic``, ``mosaic_quality``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stylecam.errors import ModelError

MODELS_ENV = "STYLECAM_MODELS"
MODEL_SUFFIX = ".pth"
REPO_MODELS = Path(__file__).resolve().parents[1] / "trained_models"


@dataclass(frozen=True)
class ZooEntry:
    """One model in the zoo: its name, file and card (empty when it has none)."""

    name: str
    path: Path
    card: dict[str, Any]
    style: str | None = None  # the style of a several-style network this entry stands for

    @property
    def styles(self) -> list[str]:
        """The style names of a several-style network (empty for a one-style model)."""
        return list((self.card.get("config") or {}).get("styles") or [])

    @property
    def is_one_style(self) -> bool:
        """Whether the entry stands for one style: a one-style model, or one style of a several-style network
        (not the network's own file-name entry, which repeats its first style)."""
        return not self.styles or self.style is not None

    @property
    def mix(self) -> dict[str, float] | None:
        """The style weights that run this entry's style (None for a one-style model)."""
        return {self.style: 1.0} if self.style else None

    @property
    def kind(self) -> str:
        """``johnson`` or ``adain_decoder``, as the card says (``johnson`` when unknown)."""
        return str(self.card.get("kind", "johnson"))

    @property
    def style_image(self) -> str | None:
        """The file name of the style image the card says the model learned (its first), or None."""
        images = self.card.get("style_images") or []
        position = self.styles.index(self.style) if self.style in self.styles else 0
        return str(images[position]["name"]) if len(images) > position else None

    @property
    def total_iterations(self) -> int | None:
        """Training steps, those of the models it was fine-tuned from (``initialised_from``) included."""
        return total_iterations(self.card)


def total_iterations(card: dict[str, Any]) -> int | None:
    """A card's steps plus those of the card it was fine-tuned from, and so on down the chain."""
    steps = card.get("iterations")
    origin = (card.get("initialised_from") or {}).get("card")
    if steps is None or not origin:
        return steps
    earlier = total_iterations(origin)
    return steps if earlier is None else steps + earlier


def model_dirs() -> list[Path]:
    """Folders searched for models: ``$STYLECAM_MODELS`` entries (os.pathsep-separated), then trained_models/."""
    extra = [Path(p).expanduser() for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    return [*extra, REPO_MODELS]


def _read_card(path: Path) -> dict[str, Any]:
    card_path = path.with_suffix(".json")
    if not card_path.is_file():
        return {}
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def style_entry_name(style: str, tier: str | None) -> str:
    """The zoo name of ``style`` in a several-style network of ``tier``: the bare name for the fast tier."""
    return style if tier in (None, "fast") else f"{style}_{tier}"


def _entries_of(path: Path) -> list[ZooEntry]:
    """The zoo entries one model file stands for: itself, and each of its styles."""
    card = _read_card(path)
    whole = ZooEntry(path.stem, path, card)
    return [whole, *(ZooEntry(style_entry_name(style, card.get("tier")), path, card, style) for style in whole.styles)]


def list_models() -> list[ZooEntry]:
    """Every model (and every style of a several-style model) in the searched folders; an earlier folder's, or
    a file's own, entry shadows a later one of the same name."""
    found: dict[str, ZooEntry] = {}
    for folder in model_dirs():
        files = sorted(folder.glob(f"*{MODEL_SUFFIX}")) if folder.is_dir() else []
        per_file = [_entries_of(path) for path in files]
        for whole, *_ in per_file:
            found.setdefault(whole.name, whole)
        for _, *styles in per_file:
            for entry in styles:
                found.setdefault(entry.name, entry)
    return sorted(found.values(), key=lambda entry: entry.name)


def style_images_of_tier(entries: list[ZooEntry], tier: str) -> list[str]:
    """Sorted file names of the style images that the Johnson models of ``tier`` among ``entries`` learned."""
    return sorted({e.style_image for e in entries
                   if e.kind == "johnson" and e.card.get("tier") == tier and e.style_image is not None})


def first_decoder() -> str | None:
    """The name of the zoo's first AdaIN decoder (the default wherever a decoder is needed), or None."""
    return next((entry.name for entry in list_models() if entry.kind == "adain_decoder"), None)


def resolve_model(name_or_path: str, kind: str = "johnson") -> Path:
    """A model file from an existing path or a zoo name of the given kind; unknown names list the choices."""
    return resolve_style(name_or_path, kind)[0]


def split_file_style(name_or_path: str) -> tuple[Path, str] | None:
    """``FILE:STYLE`` (an existing model file and the name of one of its styles) as (file, style), else None."""
    file, colon, style = name_or_path.rpartition(":")
    path = Path(file).expanduser()
    return (path, style) if colon and style and path.is_file() else None


def display_name(name_or_path: str) -> str:
    """How a model argument is shown and tagged: the STYLE of ``FILE:STYLE``, an existing file's stem, else the
    argument itself (a zoo name, dots and all)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path.stem
    file_style = split_file_style(name_or_path)
    return file_style[1] if file_style is not None else name_or_path


def resolve_style(name_or_path: str, kind: str = "johnson") -> tuple[Path, str | None]:
    """(model file, style of a several-style network or None) for an existing path, ``FILE:STYLE`` or a zoo name
    of ``kind``; unknown names list the choices."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path, None
    file_style = split_file_style(name_or_path)
    if file_style is not None:
        return file_style
    entries = [entry for entry in list_models() if entry.kind == kind]
    for entry in entries:
        if entry.name == name_or_path:
            return entry.path, entry.style
    if path.suffix or os.sep in name_or_path:
        raise ModelError(f"model file not found: {name_or_path}")
    names = ", ".join(entry.name for entry in entries) or "none yet (train one with styletrain)"
    raise ModelError(f"unknown style '{name_or_path}'; available: {names}")
