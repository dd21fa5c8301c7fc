"""Opening a backend for a model: by zoo name or file, on the backend and device asked for.

``model`` is a zoo name, a ``.pth`` (Johnson network or AdaIN decoder; ``FILE.pth:STYLE`` picks a style of a
several-style one), an ``.onnx`` (``export-onnx``) or a
TensorRT ``.engine``/``.plan``. ``backend='auto'`` takes the fastest that works here and says which in one notice:

- on an NVIDIA GPU: TensorRT (engine built once, cached), then ONNX Runtime with its TensorRT or CUDA provider,
  then PyTorch on CUDA;
- on a CPU: ONNX Runtime (a ``.pth`` is exported once to ``~/.cache/stylecam/onnx``, keyed by the file's hash),
  then compiled PyTorch (``torch.compile``; eager if compiling fails).

Each candidate that fails to load is reported in a notice saying why, and the next one is tried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylecam.errors import ModelError, StylecamError, UsageError
from stylecam.export.tensorrt_build import ENGINE_SUFFIXES
from stylecam.files import file_sha256
from stylecam.log import notice
from stylecam.nets.style_mix import style_mix
from stylecam.runtime import BACKEND_CHOICES
from stylecam.runtime.base import Backend

if TYPE_CHECKING:
    import numpy as np



@dataclass(frozen=True)
class ModelSource:
    """What ``model`` names: ``kind`` is johnson, adain_decoder, onnx or engine; ``style``, the style of a
    several-style network that a zoo name stands for (None: the network's first, or a one-style model)."""

    kind: str
    path: Path
    label: str
    style: str | None = None


def resolve_source(model: str) -> ModelSource:
    """Find the file ``model`` names and what it holds; ModelError when it is missing or unreadable."""
    from stylecam import zoo

    path = Path(model).expanduser()
    suffix = path.suffix.lower()
    if suffix == ".onnx" or suffix in ENGINE_SUFFIXES:
        if not path.is_file():
            raise ModelError(f"model file not found: {model}")
        return ModelSource("onnx" if suffix == ".onnx" else "engine", path, path.stem)
    file, style = (path, None) if path.is_file() else zoo.split_file_style(model) or (None, None)
    if file is not None:
        from stylecam.nets.checkpoints import read_model_file

        return ModelSource(str(read_model_file(file)["kind"]), file, zoo.display_name(model), style)
    for entry in zoo.list_models():
        if entry.name == model:
            return ModelSource(entry.kind, entry.path, entry.name, entry.style)
    zoo.resolve_model(model)  # raises the zoo's error listing the available names
    raise ModelError(f"unknown model '{model}'")


def _gpu_available(device: str) -> bool:
    if device == "cpu" or device.startswith("mps"):
        return False
    import torch

    return torch.cuda.is_available()


def _ort_gpu_providers() -> list[str]:
    """ONNX Runtime's GPU providers here (none when ONNX Runtime is missing)."""
    from stylecam.export.ort_session import OnnxRuntimeMissing, import_onnxruntime
    from stylecam.runtime.onnx_backend import GPU_PROVIDERS

    try:
        available = import_onnxruntime().get_available_providers()
    except OnnxRuntimeMissing:
        return []
    return [p for p in available if p in GPU_PROVIDERS]


class CompiledTorchBackend:
    """A :class:`TorchBackend` with ``torch.compile`` that falls back to eager mode (with a notice) when
    compiling fails at the first frame. Compiling takes tens of seconds per new frame size on a CPU."""

    name = "torch"

    def __init__(self, net: Any, device: Any) -> None:
        from stylecam.runtime.torch_backend import TorchBackend

        self._eager = TorchBackend(net, device)
        self._compiled: Any = TorchBackend(net, device, compile=True, mix=self._eager.mix)
        self.mix = self._eager.mix
        self.device = self._eager.device
        self.compiled = True
        self.detail = "PyTorch, torch.compile"

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame (compiled; eager once compiling has failed)."""
        if self._compiled is not None:
            try:
                return self._compiled.run(frame)
            except Exception as exc:  # inductor/compiler errors come in many types
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
                notice(f"torch.compile failed ({first}); running PyTorch eagerly")
                self._compiled, self.compiled, self.detail = None, False, "PyTorch eager"
        return self._eager.run(frame)


def _torch_backend(source: ModelSource, device: str, compile: bool, style: Any, alpha: float,
                   vgg_weights: str | None) -> Backend:
    from stylecam.devices import resolve_device

    dev = resolve_device(device)
    if source.kind == "adain_decoder":
        from stylecam.nets.adain import AdaINModel
        from stylecam.nets.checkpoints import load_adain_decoder
        from stylecam.nets.vgg import load_vgg
        from stylecam.runtime.adain_backend import TorchAdaINBackend

        model = AdaINModel(load_vgg(vgg_weights), load_adain_decoder(source.path))
        return TorchAdaINBackend(model, dev, style, alpha)
    from stylecam.nets.checkpoints import load_transformer

    net = load_transformer(source.path)
    if compile:
        return CompiledTorchBackend(net, dev)
    from stylecam.runtime.torch_backend import TorchBackend

    backend = TorchBackend(net, dev)
    backend.detail = "PyTorch eager"  # type: ignore[attr-defined]
    return backend


def _onnx_file(source: ModelSource, vgg_weights: str | None) -> Path:
    """The .onnx to run: the file itself, or the cached export of a .pth."""
    from stylecam.export import onnx_export

    if source.kind == "onnx":
        return source.path
    if source.kind == "adain_decoder":
        return onnx_export.cached_adain_onnx(source.path, vgg_weights)
    return onnx_export.cached_johnson_onnx(source.path)


def _onnx_backend(source: ModelSource, device: str, style: Any, alpha: float, vgg_weights: str | None,
                  threads: int | None) -> Backend:
    from stylecam.export.metadata import read_metadata
    from stylecam.runtime.adain_backend import OnnxAdaINBackend
    from stylecam.runtime.onnx_backend import OnnxBackend

    path = _onnx_file(source, vgg_weights)
    is_adain = source.kind == "adain_decoder"
    if source.kind == "onnx":
        try:
            is_adain = read_metadata(path).get("kind") == "adain"
        except Exception:  # unreadable: let ONNX Runtime give the error
            is_adain = False
    if is_adain:
        return OnnxAdaINBackend(path, device, style, alpha, threads=threads)
    return OnnxBackend(path, device, threads=threads)


def _engine_file(source: ModelSource, device: str, vgg_weights: str | None) -> Path:
    """The engine to run: the file itself, or one built from the (cached) .onnx into the cache."""
    if source.kind == "engine":
        return source.path
    import hashlib

    import torch

    from stylecam.export import onnx_export
    from stylecam.export.metadata import read_metadata
    from stylecam.export.tensorrt_build import build_engine, cuda_device, import_tensorrt

    trt = import_tensorrt()
    dev = cuda_device(device)
    onnx_path = _onnx_file(source, vgg_weights)
    key = hashlib.sha256(
        f"{file_sha256(onnx_path)}|{trt.__version__}|{torch.cuda.get_device_name(dev)}".encode()
    ).hexdigest()[:16]
    engine = onnx_export.cache_root() / "trt" / f"{onnx_path.stem}-{key}.engine"
    if not engine.is_file():
        engine.parent.mkdir(parents=True, exist_ok=True)
        build_engine(onnx_path, engine, device=str(dev), metadata=read_metadata(onnx_path))
    return engine


def _tensorrt_backend(source: ModelSource, device: str, style: Any, alpha: float,
                      vgg_weights: str | None) -> Backend:
    from stylecam.runtime.tensorrt_backend import TensorRTBackend

    return TensorRTBackend(_engine_file(source, device, vgg_weights), device, style, alpha)


def _candidates(source: ModelSource, backend: str, device: str) -> list[str]:
    """Backends to try, in order: ``torch``, ``torch-compiled``, ``onnx``, ``tensorrt``."""
    allowed = {"onnx": ("onnx", "tensorrt"), "engine": ("tensorrt",)}.get(source.kind, BACKEND_CHOICES[1:])
    if backend != "auto":
        if backend not in allowed:
            raise UsageError(f"{source.path.name} is {'an ONNX graph' if source.kind == 'onnx' else 'a TensorRT engine'}"
                             f"; it runs on the {' or '.join(allowed)} backend, not {backend}")
        return [backend]
    if source.kind == "engine":
        return ["tensorrt"]
    order: list[str] = []
    if _gpu_available(device):
        from stylecam.export.tensorrt_build import unavailable_reason

        if unavailable_reason() is None:
            order.append("tensorrt")
        if _ort_gpu_providers() or source.kind == "onnx":
            order.append("onnx")
        if source.kind != "onnx":
            order.append("torch")
        return order
    if device.startswith("mps"):
        return ["onnx"] if source.kind == "onnx" else ["torch"]
    order.append("onnx")
    if source.kind == "johnson":
        order.append("torch-compiled")
    elif source.kind == "adain_decoder":
        order.append("torch")
    return order


def describe(backend: Backend) -> str:
    """``name on device (detail)`` for notices."""
    detail = getattr(backend, "detail", "")
    return f"{backend.name} on {backend.device}" + (f" ({detail})" if detail else "")


def open_backend(model: str, backend: str = "auto", device: str = "auto", *, style: Any = None,
                 alpha: float = 1.0, compile: bool = False, vgg_weights: str | None = None,
                 threads: int | None = None, blend: tuple[str, float] | None = None) -> Backend:
    """A ready :class:`Backend` for ``model`` (zoo name, ``.pth``, ``.onnx``, ``.engine``/``.plan``).

    ``backend`` is one of :data:`BACKEND_CHOICES`; ``device`` auto, cpu, cuda[:N] or mps. For AdaIN decoders and
    graphs, ``style`` (RGB uint8 array or image file) and ``alpha`` set the style (also later via ``set_style``
    and the ``alpha`` attribute). A several-style network runs the style its zoo name stands for (else its
    first) with ``blend`` (another of its styles, that style's share) mixed in; the backend's ``mix`` changes it. ``compile`` asks the torch backend for ``torch.compile``. Prints one notice
    naming the backend chosen; with ``auto``, a candidate that fails is reported and the next one tried.
    """
    if backend not in BACKEND_CHOICES:
        raise UsageError(f"unknown backend '{backend}'; choose one of {', '.join(BACKEND_CHOICES)}")
    source = resolve_source(model)
    openers: dict[str, Callable[[], Backend]] = {
        "torch": lambda: _torch_backend(source, device, compile, style, alpha, vgg_weights),
        "torch-compiled": lambda: _torch_backend(source, device, True, style, alpha, vgg_weights),
        "onnx": lambda: _onnx_backend(source, device, style, alpha, vgg_weights, threads),
        "tensorrt": lambda: _tensorrt_backend(source, device, style, alpha, vgg_weights),
    }
    candidates = _candidates(source, backend, device)
    for index, candidate in enumerate(candidates):
        try:
            opened = openers[candidate]()
        except UsageError:
            raise
        except Exception as exc:
            if index == len(candidates) - 1:
                raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not isinstance(exc, StylecamError):
                reason = f"{type(exc).__name__}: {reason}"
            notice(f"{candidate} backend unavailable ({reason[:200]}); trying {candidates[index + 1]}")
            continue
        weights = getattr(opened, "mix", None)
        chosen = style_mix(weights.names if weights is not None else (), source.style, blend)
        if chosen is not None:
            weights.set(chosen)
        notice(f"backend: {describe(opened)} for {source.label}")
        return opened
    raise AssertionError("unreachable: no candidates")
