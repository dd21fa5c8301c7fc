"""Model files: stylecam's own format and the state dicts pytorch/examples' fast_neural_style saves.

A stylecam model file is a ``torch.save``'d dict ``{"stylecam_format": 1, "kind": …, "config": …,
"state_dict": …}``; ``kind`` is ``"johnson"`` (a :class:`TransformerNet`) or ``"adain_decoder"``.
A bare state dict is taken as a Johnson network whose architecture is inferred from its shapes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylecam.errors import ModelError
from stylecam.nets.adain import AdaINDecoder
from stylecam.nets.state_files import load_state_file
from stylecam.nets.transformer import TransformerConfig, TransformerNet, infer_config

FORMAT_VERSION = 1
KIND_JOHNSON = "johnson"
KIND_ADAIN = "adain_decoder"
# Old PyTorch InstanceNorm2d(affine=True) tracked running stats that newer versions reject.
_STALE_NORM_KEY = re.compile(r"(^|\.)in\d+\.(running_mean|running_var|num_batches_tracked)$")


def save_model(path: str | os.PathLike[str], model: nn.Module, extra: dict[str, Any] | None = None) -> None:
    """Write a model in stylecam's format atomically (temporary name, then rename)."""
    if isinstance(model, TransformerNet):
        kind, config = KIND_JOHNSON, model.config.to_dict()
    elif isinstance(model, AdaINDecoder):
        kind, config = KIND_ADAIN, {"encoder_layer": model.encoder_layer}
    else:
        raise TypeError(f"cannot save a {type(model).__name__}")
    payload = {"stylecam_format": FORMAT_VERSION, "kind": kind, "config": config, **(extra or {})}
    payload["state_dict"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, target)


def read_model_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a model file's payload; corrupt or foreign files raise a one-line :class:`ModelError`."""
    model_path = Path(path)
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    raw = load_state_file(model_path, "model file")
    if "stylecam_format" in raw:
        return raw
    state = {k: v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    return {"kind": KIND_JOHNSON, "config": None, "state_dict": state}


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], path: Path, what: str) -> None:
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise ModelError(f"{path} does not fit {what}: {detail[:160]}") from exc


def load_transformer(path: str | os.PathLike[str]) -> TransformerNet:
    """A :class:`TransformerNet` in eval mode from a stylecam file or a pytorch/examples checkpoint."""
    model_path = Path(path)
    payload = read_model_file(model_path)
    if payload["kind"] != KIND_JOHNSON:
        raise ModelError(f"{model_path} is an {payload['kind']} model, not a Johnson network (try --method adain)")
    state = {k: v for k, v in payload["state_dict"].items() if not _STALE_NORM_KEY.search(k)}
    try:
        config = TransformerConfig(**payload["config"]) if payload["config"] else infer_config(state)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{model_path} is not a Johnson TransformerNet model ({exc})") from exc
    net = TransformerNet(config)
    _load_state(net, state, model_path, "a Johnson TransformerNet")
    return net.eval()


def load_adain_decoder(path: str | os.PathLike[str]) -> AdaINDecoder:
    """An :class:`AdaINDecoder` in eval mode from a stylecam model file."""
    model_path = Path(path)
    payload = read_model_file(model_path)
    if payload["kind"] != KIND_ADAIN:
        if payload["config"] is None:  # a bare state dict: read_model_file only guesses it is a Johnson network
            raise ModelError(f"{model_path} is a bare state dict, not a stylecam AdaIN decoder file")
        raise ModelError(f"{model_path} is a {payload['kind']} model, not an AdaIN decoder")
    try:
        decoder = AdaINDecoder(payload["config"]["encoder_layer"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{model_path} is not a valid AdaIN decoder file (bad config: {exc})") from exc
    _load_state(decoder, payload["state_dict"], model_path, "an AdaIN decoder")
    return decoder.eval()
