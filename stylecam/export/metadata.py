"""A model's card in ONNX metadata (``metadata_props``) and back.

Every key stylecam writes starts with ``stylecam.``; structured values are JSON. The card travels whole under
``stylecam.card`` (style images, training settings, final losses …), and the facts a runner needs (kind, tier,
input convention, static size) have keys of their own so that tools such as Netron show them at a glance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIX = "stylecam."
FORMAT_VERSION = 1
# Values stored as JSON; the rest are plain strings.
JSON_KEYS = frozenset({"format", "card", "config", "source", "vgg_weights", "inputs", "outputs", "size",
                       "dynamic", "fp16", "opset", "scale", "styles"})

JOHNSON_INPUTS = {"input": "RGB float32 1×3×H×W in 0..255"}
STYLE_INPUT = "float32 1×S weights over the metadata's styles (one-hot: one style; a convex mix: a blend)"
JOHNSON_OUTPUTS = {"output": "RGB float32 1×3×H×W, nominally 0..255, unclamped"}
ADAIN_INPUTS = {
    "content": "RGB float32 1×3×H×W in 0..1",
    "style": "RGB float32 1×3×h×w in 0..1",
    "alpha": "float32 scalar, style strength 0..1",
}
ADAIN_OUTPUTS = {"output": "RGB float32 1×3×H×W, nominally 0..1, unclamped"}


def read_card(model_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON card beside a model file (same stem, ``.json``), or an empty dict when it has none."""
    card_path = Path(model_path).with_suffix(".json")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """``{key: value}`` → ``{"stylecam.key": string}``; JSON for the keys in :data:`JSON_KEYS`."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[PREFIX + key] = json.dumps(value, sort_keys=True) if key in JSON_KEYS else str(value)
    return out


def decode(props: Mapping[str, str]) -> dict[str, Any]:
    """The inverse of :func:`encode`: stylecam's keys without the prefix, JSON values parsed; other keys dropped."""
    out: dict[str, Any] = {}
    for full_key, text in props.items():
        if not full_key.startswith(PREFIX):
            continue
        key = full_key[len(PREFIX):]
        if key in JSON_KEYS:
            try:
                out[key] = json.loads(text)
            except ValueError:
                out[key] = text
        else:
            out[key] = text
    return out


def write_metadata(model: Any, values: Mapping[str, Any]) -> None:
    """Set stylecam's metadata on an ``onnx.ModelProto`` in place (replacing earlier stylecam keys)."""
    encoded = encode({"format": FORMAT_VERSION, **values})
    kept = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in [*kept, *sorted(encoded.items())]:
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value


def read_metadata(model: Any) -> dict[str, Any]:
    """stylecam's metadata from an ``onnx.ModelProto`` or an .onnx file path (decoded; ``{}`` when absent)."""
    if isinstance(model, (str, os.PathLike)):
        import onnx

        model = onnx.load(str(model), load_external_data=False)
    return decode({p.key: p.value for p in model.metadata_props})


def tier_name(config: Mapping[str, Any], card: Mapping[str, Any]) -> str:
    """The card's tier, else the tier whose architecture matches ``config``, else ``custom``."""
    if card.get("tier"):
        return str(card["tier"])
    from stylecam.nets.transformer import TransformerConfig, tier_of

    return tier_of(TransformerConfig(**config))
