"""Which styles a several-style network runs: a chosen style and an optional blend, as style weights."""

from __future__ import annotations

from collections.abc import Sequence

from stylecam.errors import UsageError


def style_mix(styles: Sequence[str], style: str | None, blend: tuple[str, float] | None) -> dict[str, float] | None:
    """The style weights a network with ``styles`` runs: ``style`` (default its first) with ``blend`` (another
    style, its share 0..1) mixed in. None for a one-style network without a blend; UsageError for styles it
    lacks."""
    if not styles:
        if blend is not None:
            raise UsageError("--mix needs a several-style network; this model holds one style")
        return None
    chosen = style or styles[0]
    for name in (chosen, *([blend[0]] if blend else [])):
        if name not in styles:
            raise UsageError(f"unknown style {name}; this network has: {', '.join(styles)}")
    if blend is None or blend[0] == chosen:
        return {chosen: 1.0}
    return {chosen: 1.0 - blend[1], blend[0]: blend[1]}
