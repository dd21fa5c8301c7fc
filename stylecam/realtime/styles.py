"""The styles a live session can switch between, and the backends that run them.

- Johnson (``--style NAME|PATH …``): each model file is opened with
  :func:`~stylecam.runtime.select.open_backend` the first time one of its styles is shown (in the
  background: the feed keeps the old style until the new one is ready) and kept open for switching back. The
  styles of one several-style network share its backend: switching among them, or blending two of them
  (:meth:`StyleBank.cycle_blend`, :meth:`StyleBank.change_blend`), only changes its style weights.
- AdaIN (``--style-image IMG …`` with a decoder): one backend, its style image swapped with ``set_style``.

A backend that fails — to load on the backend asked for, or on a frame — is replaced by PyTorch with a notice
saying so (:func:`open_with_fallback`, :class:`GuardedBackend`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stylecam.errors import ModelError, StylecamError, UsageError
from stylecam.log import notice
from stylecam.runtime.base import Backend

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class StyleEntry:
    """One switchable style: a Johnson model (zoo name or file) or an AdaIN style image."""

    label: str
    model: str | None = None
    image: Path | None = None
    file: Path | None = None  # the Johnson model file (styles of one several-style network share it)
    style: str | None = None  # the style within a several-style network


def johnson_entry(name: str) -> StyleEntry:
    """The entry for a zoo name or model file (ModelError for unknown names, listing what there is)."""
    from stylecam import zoo

    path, style = zoo.resolve_style(name)
    return StyleEntry(zoo.display_name(name), model=name, file=path.resolve(), style=style)


def johnson_styles(names: Sequence[str]) -> tuple[list[StyleEntry], int]:
    """Styles for ``--style``: several names → exactly those; one → it and every other Johnson model of the
    zoo (sorted), starting at it. Returns (entries, start index); ModelError for unknown names."""
    from stylecam import zoo

    entries = [johnson_entry(name) for name in names]
    if len(entries) > 1:
        return entries, 0
    chosen = entries[0]
    zoo_entries = [johnson_entry(e.name) for e in zoo.list_models() if e.kind == "johnson" and e.is_one_style]
    if chosen.model in {e.model for e in zoo_entries}:
        return zoo_entries, [e.model for e in zoo_entries].index(chosen.model)
    return [chosen, *zoo_entries], 0


def adain_styles(images: Sequence[str]) -> tuple[list[StyleEntry], int]:
    """Styles for ``--style-image``: several → those; one → every image in its folder, starting at it."""
    from stylecam.errors import InputError

    paths = [Path(p).expanduser() for p in images]
    for path in paths:
        if not path.is_file():
            raise InputError(f"style image not found: {path}")
    if len(paths) > 1:
        return [StyleEntry(p.stem, image=p) for p in paths], 0
    folder = sorted(p for p in paths[0].parent.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if paths[0] not in folder:
        folder.insert(0, paths[0])
    return [StyleEntry(p.stem, image=p) for p in folder], folder.index(paths[0])


def default_decoder() -> str:
    """The zoo's first AdaIN decoder; ModelError when there is none."""
    from stylecam import zoo

    decoder = zoo.first_decoder()
    if decoder is None:
        raise ModelError("--style-image needs an AdaIN decoder: pass --decoder NAME|PATH, or train one with "
                         "'styletrain adain'")
    return decoder


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0] or type(exc).__name__
    return text if isinstance(exc, StylecamError) else f"{type(exc).__name__}: {text}"


def open_with_fallback(model: str, backend: str, device: str, **options: Any) -> Backend:
    """``open_backend``, and PyTorch with a notice when the backend asked for (or every auto candidate) fails."""
    from stylecam.runtime.select import open_backend

    try:
        return open_backend(model, backend, device, **options)
    except UsageError:
        raise
    except Exception as exc:  # any backend failure means: try torch
        if backend == "torch" or Path(model).suffix.lower() in (".onnx", ".engine", ".plan", ".trt"):
            raise
        notice(f"the {backend} backend cannot run {Path(model).stem} ({_reason(exc)[:200]}); falling back to torch")
        return open_backend(model, "torch", device, **options)


class GuardedBackend:
    """A backend that, if it fails on a frame, is replaced once by ``fallback()`` (PyTorch) with a notice."""

    def __init__(self, backend: Backend, label: str, fallback: Callable[[], Backend] | None) -> None:
        self.backend = backend
        self.label = label
        self.fallback = fallback

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def device(self) -> str:
        return self.backend.device

    @property
    def detail(self) -> str:
        return str(getattr(self.backend, "detail", ""))

    @property
    def mix(self) -> Any:
        """The style weights of a several-style network's backend (None otherwise)."""
        return getattr(self.backend, "mix", None)

    @property
    def alpha(self) -> float:
        return float(getattr(self.backend, "alpha", 1.0))

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.backend.alpha = value  # type: ignore[attr-defined]

    def set_style(self, image: Any) -> None:
        self.backend.set_style(image)  # type: ignore[attr-defined]

    def run(self, frame: np.ndarray) -> np.ndarray:
        try:
            return self.backend.run(frame)
        except (UsageError, KeyboardInterrupt):
            raise
        except Exception as exc:  # runtimes raise anything; re-raised when there is no fallback
            if self.fallback is None:
                raise
            from stylecam.runtime.select import describe

            notice(f"{describe(self.backend)} failed on {self.label} ({_reason(exc)[:200]}); falling back to torch")
            fallback, self.fallback = self.fallback, None
            alpha = getattr(self.backend, "alpha", None)
            self.backend = fallback()
            if alpha is not None:
                self.backend.alpha = alpha  # type: ignore[attr-defined]
            return self.backend.run(frame)


class StyleBank:
    """The current style's backend, switching in the background.

    ``opener(entry)`` returns a ready backend for a Johnson entry; entries with the same ``file`` share it. For
    AdaIN, ``adain`` is the one backend and entries are switched with its ``set_style``. ``status`` is a short
    message for the overlay while a style loads or after it failed; ``on_switch`` is called (from the loading
    thread) once a new style is live. ``blend`` (an entry index and an amount 0..1) mixes a second style of the
    same several-style network into the current one.
    """

    def __init__(self, entries: list[StyleEntry], start: int, opener: Callable[[StyleEntry], Backend] | None = None,
                 adain: Backend | None = None) -> None:
        if not entries:
            raise UsageError("no styles to show")
        if (opener is None) == (adain is None):
            raise ValueError("give either an opener (Johnson) or an AdaIN backend")
        self.entries = entries
        self.opener = opener
        self.adain = adain
        self.index = start % len(entries)
        self.status = ""
        self.on_switch: Callable[[int], None] | None = None
        self._opened: dict[Any, Backend] = {}
        self.blend: tuple[int, float] | None = None
        self._lock = threading.Lock()
        self._pending: int | None = None
        self._loader: threading.Thread | None = None
        self.backend = self._load(self.index)  # the first style loads now: its errors stop the session

    @property
    def kind(self) -> str:
        return "adain" if self.adain is not None else "johnson"

    @property
    def current(self) -> StyleEntry:
        return self.entries[self.index]

    def _load(self, index: int) -> Backend:
        entry = self.entries[index]
        if self.adain is not None:
            assert entry.image is not None
            self.adain.set_style(entry.image)  # type: ignore[attr-defined]
            return self.adain
        key = entry.file or index
        if key not in self._opened:
            assert self.opener is not None
            self._opened[key] = self.opener(entry)
        return self._opened[key]

    def blend_partners(self) -> list[int]:
        """Indices of the other styles of the current style's several-style network (what it can blend with)."""
        current = self.current
        if current.style is None:
            return []
        return [i for i, e in enumerate(self.entries) if e.file == current.file and e.style is not None
                and e.style != current.style]

    def set_blend(self, style: str, amount: float) -> None:
        """Blend ``style`` (another style of the current network) in at ``amount``; UsageError otherwise."""
        partners = {self.entries[i].style: i for i in self.blend_partners()}
        if style not in partners:
            have = ", ".join(str(name) for name in partners) or "none: it is not a several-style network"
            raise UsageError(f"--mix {style}: {self.current.label} can blend with {have}")
        self.blend = (partners[style], amount)

    def cycle_blend(self) -> str:
        """Blend the next partner style in (at the current amount, else half); after the last, stop blending.
        Returns a line saying what now runs."""
        partners = self.blend_partners()
        if not partners:
            self.blend = None
            return f"{self.current.label} cannot be blended (not a style of a several-style network)"
        amount = self.blend[1] if self.blend else 0.5
        following = [i for i in partners if self.blend is None or i > self.blend[0]]
        self.blend = (following[0], amount) if following else None
        return self.describe()

    def change_blend(self, delta: float) -> str:
        """Change the blend amount by ``delta`` (kept within 0..1); a line saying what now runs."""
        if self.blend is None:
            return "no blend: press b to blend in another style"
        self.blend = (self.blend[0], round(min(1.0, max(0.0, self.blend[1] + delta)), 2))
        return self.describe()

    def describe(self) -> str:
        """The current style, with the blended one and its share."""
        if self.blend is None or self.blend[0] not in self.blend_partners():
            return self.current.label
        partner, amount = self.blend
        return f"{self.current.label} + {round(100 * amount)}% {self.entries[partner].label}"

    def mix_for(self, index: int) -> dict[str, float] | None:
        """The style weights entry ``index`` runs with (its style, and the blend's partner if any)."""
        entry = self.entries[index]
        if entry.style is None:
            return None
        if self.blend is None or index != self.index or self.blend[0] not in self.blend_partners():
            return {entry.style: 1.0}
        partner, amount = self.blend
        other = self.entries[partner].style
        assert other is not None
        return {entry.style: 1.0 - amount, other: amount}

    def select(self, index: int) -> None:
        """Switch to style ``index`` (wrapping around); loads in the background if it is not open yet."""
        index %= len(self.entries)
        with self._lock:
            if index == self.index and self._pending is None:
                return
            self._pending = index
            if self._loader is not None and self._loader.is_alive():
                return  # the running loader picks up the newest request when it finishes
            self._loader = threading.Thread(target=self._load_pending, name="stylecam-style-loader", daemon=True)
            self._loader.start()

    def step(self, delta: int) -> None:
        """Next (``+1``) or previous (``-1``) style, counting from the one being loaded if any."""
        with self._lock:
            base = self._pending if self._pending is not None else self.index
        self.select(base + delta)

    def _load_pending(self) -> None:
        while True:
            with self._lock:
                index, self._pending = self._pending, None
                if index is None:
                    return
            entry = self.entries[index]
            self.status = f"loading {entry.label}..."
            try:
                backend = self._load(index)
            except Exception as exc:  # noqa: BLE001 - any failure: say so, keep showing the current style
                self.status = f"{entry.label}: cannot load ({_reason(exc)[:80]})"
                notice(f"cannot switch to {entry.label}: {_reason(exc)[:200]}")
                continue
            with self._lock:
                self.backend, self.index = backend, index
            self.status = ""
            if self.on_switch is not None:
                self.on_switch(index)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block until a background load has finished (tests, shutdown)."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)

    def run(self, frame: np.ndarray, strength: float) -> tuple[np.ndarray, int]:
        """Stylize a frame with the current style; returns it and the style index used. AdaIN takes the
        strength as its alpha; Johnson networks are mixed with the frame afterwards by the caller."""
        with self._lock:
            backend, index = self.backend, self.index
        if self.adain is not None:
            backend.alpha = strength  # type: ignore[attr-defined]
        mix, style_mix = self.mix_for(index), getattr(backend, "mix", None)
        if mix is not None and style_mix is not None and style_mix.names:
            style_mix.set(mix)
        return backend.run(frame), index
