"""Model cards: the JSON written next to every trained model (what it learned from, how, and how it ended)."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from stylecam.errors import InputError
from stylecam.files import file_sha256


def git_commit() -> str | None:
    """The source tree's commit (with ``-dirty`` when it has uncommitted changes), or None outside git."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def build_card(kind: str, settings: dict[str, Any], steps: int, final_losses: dict[str, float],
               wall_seconds: float, device: torch.device, style_images: list[Path] | None = None) -> dict[str, Any]:
    """A complete card: kind, style image(s) with hashes, settings, steps, final losses, time, device, commit."""
    return {
        "kind": kind,
        "style_images": [{"name": p.name, "sha256": file_sha256(p)} for p in style_images or []],
        "settings": settings,
        "iterations": steps,
        "final_losses": {k: round(v, 6) for k, v in final_losses.items()},
        "wall_time_s": round(wall_seconds, 1),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "host": platform.machine(),
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def provenance(model_path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a fine-tuning run started from: the model file's name and hash, and its own card if it has one."""
    path = Path(model_path)
    if not path.is_file():
        raise InputError(f"model not found: {path}")
    card_path = path.with_suffix(".json")
    previous = json.loads(card_path.read_text()) if card_path.is_file() else None
    return {"model": path.name, "sha256": file_sha256(path), "card": previous}


PROVENANCE_RECORD = "initialised_from.json"  # in the run folder: what the run's first start was initialised from


def run_provenance(start_model: str | os.PathLike[str] | None, run_dir: Path, resume: bool,
                   write: bool = True) -> dict[str, Any] | None:
    """:func:`provenance` of the run's starting model, kept in the run folder on its first start: a resumed run
    returns the first start's (its weights come from the checkpoint, so ``--init`` then only has to name a model of
    the same architecture, and the card still counts the steps the run really started from)."""
    record = run_dir / PROVENANCE_RECORD
    if resume and record.is_file():
        return json.loads(record.read_text())
    if start_model is None:
        if write:
            record.unlink(missing_ok=True)  # a fresh start's own run: an earlier run's record is not its origin
        return None
    info = provenance(start_model)
    if write:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(record, info)
    return info


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """``data`` as indented JSON at ``path``, atomically (temporary name, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def write_card(model_path: str | os.PathLike[str], card: dict[str, Any]) -> Path:
    """Write ``card`` as JSON next to the model (same stem, ``.json``), atomically."""
    path = Path(model_path).with_suffix(".json")
    _write_json(path, card)
    return path
