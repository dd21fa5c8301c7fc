"""Reading ``torch.save``'d dictionaries (model files, VGG weights) with one-line errors for bad files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from stylecam.errors import ModelError


def load_state_file(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """The dict saved in ``path`` (tensors only, ``weights_only``); a corrupt or foreign file is a ModelError."""
    file_path = Path(path)
    try:
        raw = torch.load(file_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for damaged files; all mean the same to the user
        raise ModelError(f"cannot read {what} {file_path}: corrupt or not a PyTorch file") from exc
    if not isinstance(raw, dict):
        raise ModelError(f"{file_path} does not hold a state dict ({what} expected)")
    return raw
