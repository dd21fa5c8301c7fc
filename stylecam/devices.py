"""Choosing the torch device from a ``--device`` value."""

from __future__ import annotations

import torch

from stylecam.errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an explicit device that is absent is a UsageError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":")[0]
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if kind not in available:
        raise UsageError(f"unknown device '{name}'; choose one of {', '.join(DEVICE_CHOICES)}")
    if not available[kind]:
        raise UsageError(f"device '{name}' is not available on this machine; try --device cpu")
    return torch.device(name)
