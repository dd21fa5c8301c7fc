"""What an interrupted render leaves for ``--resume``: a hidden state file beside its playable partial output.

``.NAME.resume.npz`` holds, as JSON, the input's identity (size, modification time, SHA-256 of its first and
last MiB), every setting that shapes the output, the frames written, the partial's own size and modification
time; and, as arrays, the last input and output frames the temporal mode remembers (flow: one pair; ruder:
as many as its long-term offsets reach), exactly as they were, so the history restarts from the last frame
written without the encoder's loss. A resumed render re-muxes the partial's packets (no re-encoding) and
encodes on from the next source frame.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stylecam.errors import UsageError

VERSION = 1
EDGE_BYTES = 1 << 20
"""Bytes hashed at each end of the input: enough to tell files apart, quick on any size of file."""


def state_path(target: Path) -> Path:
    """Where the resume state of ``target`` is kept: ``.<name>.resume.npz`` beside it."""
    return target.with_name(f".{target.name}.resume.npz")


def file_identity(path: Path) -> dict[str, Any]:
    """Size, modification time and a hash of the first and last MiB of a file."""
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as file:
        digest.update(file.read(EDGE_BYTES))
        file.seek(max(EDGE_BYTES, stat.st_size - EDGE_BYTES))
        digest.update(file.read(EDGE_BYTES))
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256_edges": digest.hexdigest()}


def _partial_identity(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass
class ResumeState:
    """Where an interrupted render stopped (see the module docstring)."""

    source: dict[str, Any]
    settings: dict[str, Any]
    frames: int
    offset_pts: int
    """Source timestamp of the first frame written (time zero of the output)."""
    last_pts: int
    last_time: float
    since_cut: int
    inputs: np.ndarray
    outputs: np.ndarray
    partial: dict[str, int] | None = None

    @property
    def history(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The remembered (input, output) pairs, oldest first."""
        return list(zip(self.inputs, self.outputs))


def save_state(target: Path, state: ResumeState) -> None:
    """Write ``state`` for the partial output now at ``target`` (under a temporary name, then renamed)."""
    state.partial = _partial_identity(target)
    meta = {key: getattr(state, key) for key in ("source", "settings", "frames", "offset_pts", "last_pts",
                                                  "last_time", "since_cut", "partial")}
    path = state_path(target)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("wb") as file:
            np.savez(file, meta=np.array(json.dumps({"version": VERSION, **meta})), inputs=state.inputs,
                     outputs=state.outputs)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def discard_state(target: Path) -> None:
    """Forget the resume state of ``target`` (its render finished)."""
    with contextlib.suppress(OSError):
        state_path(target).unlink()


def load_state(target: Path) -> ResumeState | None:
    """The state an interrupted render of ``target`` left, or None when there is none that still describes
    the file at ``target`` (finished since, replaced, or never interrupted)."""
    path = state_path(target)
    if not path.is_file() or not target.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            inputs, outputs = data["inputs"], data["outputs"]
    except (OSError, ValueError, KeyError):
        return None
    if meta.pop("version", None) != VERSION or meta.get("partial") != _partial_identity(target):
        return None
    return ResumeState(inputs=inputs, outputs=outputs, **meta)


def check_state(state: ResumeState, target: Path, source: Path, settings: dict[str, Any]) -> None:
    """UsageError, in one line, when ``state`` is not a render of ``source`` with these ``settings``."""
    if state.source != file_identity(source):
        raise UsageError(f"cannot resume {target}: it was rendered from another input than {source} "
                         "(run without --resume to start over)")
    changed = sorted(key for key in {*state.settings, *settings} if state.settings.get(key) != settings.get(key))
    if changed:
        was = ", ".join(f"{key} {state.settings.get(key)!r} → {settings.get(key)!r}" for key in changed)
        raise UsageError(f"cannot resume {target}: the options differ from the interrupted run's ({was}); "
                         "run without --resume to start over")
