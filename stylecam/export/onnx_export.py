"""Trained networks → ONNX graphs: Johnson networks (any tier) and the AdaIN encoder/AdaIN/decoder graph.

Exporter. torch 2.13's ``torch.onnx.export`` defaults to the dynamo-based exporter (``torch.export`` +
onnxscript). Both it and the TorchScript tracer give correct graphs with dynamic height and width here; the
dynamo one is the default (``exporter="auto"``) because its graph is clean (63 nodes for the fast tier: reflection
padding becomes one ``Pad`` with constant pads, which TensorRT's parser prefers) where the tracer builds every
padding from ``Shape``/``Slice``/``Concat`` chains (259 nodes; ONNX Runtime folds them at load time). The dynamo
exporter needs opset ≥ 18 (the onnx version converter cannot move its ``ReduceMean`` down) and the onnxscript
package; below opset 18, without onnxscript, or if it fails, ``auto`` uses the TorchScript tracer.

Sizes not divisible by the stride (4; 8 for the fast tier). :class:`~stylecam.nets.transformer.TransformerNet`
resizes its output back to the input size only when they differ, a Python ``if`` that an exporter bakes in for the
example size. Dynamic graphs are therefore traced at a size divisible by 8 (branch not taken) and end with an
unconditional bilinear resize to the input's own height and width — an exact identity when nothing needs
resizing, the network's own interpolation when something does. Static graphs are traced at their size, so they take the branch as the network would.

FP16. Weights and convolutions go to float16; graph inputs and outputs stay float32, and instance normalisation
(and AdaIN's statistics) stay float32 inside the graph: fp16 instance norm is the step public reports show
going wrong (overflowing variances, wrong kernels), and it costs only a few casts.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stylecam.errors import ModelError, OutputError, StylecamError, UsageError
from stylecam.export import metadata
from stylecam.files import file_sha256
from stylecam.imaging.sizes import MAX_SIDE, MIN_SIDE, check_side_range
from stylecam.log import notice

if TYPE_CHECKING:
    import onnx
    import torch

    from stylecam.nets.adain import AdaINModel
    from stylecam.nets.transformer import TransformerNet

DEFAULT_OPSET = 18
MIN_OPSET = 13
MAX_OPSET = 20
DYNAMO_MIN_OPSET = 18
EXPORTERS = ("auto", "dynamo", "torchscript")
# Dynamic graphs are traced at this (width, height): divisible by 8, so the network's resize branch is not taken.
TRACE_SIZE = (96, 64)
# Default tolerances for --check: largest absolute difference from PyTorch, in 0..255 output levels.
DEFAULT_TOLERANCE = 1.0
DEFAULT_TOLERANCE_FP16 = 8.0
# Style images fed to AdaIN graphs are scaled to this long side by default (the encoder runs on them every frame).
ADAIN_STYLE_SIDE = 256
CACHE_ENV = "STYLECAM_CACHE"
CACHE_VERSION = 2  # bump when exported graphs change, to invalidate ~/.cache/stylecam/onnx


class ExportCheckError(StylecamError):
    """ONNX Runtime's output differs from PyTorch's by more than the tolerance."""

    exit_code = 1


@dataclass(frozen=True)
class ExportOptions:
    """How to export: opset, static ``size`` (width, height) or dynamic height/width, fp16, which exporter."""

    opset: int = DEFAULT_OPSET
    size: tuple[int, int] | None = None
    dynamic: bool | None = None
    fp16: bool = False
    exporter: str = "auto"

    @property
    def is_dynamic(self) -> bool:
        """Dynamic height and width: asked for, or the default when no static size is given."""
        return self.dynamic if self.dynamic is not None else self.size is None

    def validate(self) -> None:
        """UsageError for an opset, size or exporter out of range."""
        if self.exporter not in EXPORTERS:
            raise UsageError(f"unknown exporter '{self.exporter}'; choose one of {', '.join(EXPORTERS)}")
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise UsageError(f"--opset must be between {MIN_OPSET} and {MAX_OPSET}, got {self.opset}")
        if self.exporter == "dynamo" and self.opset < DYNAMO_MIN_OPSET:
            raise UsageError(f"the dynamo exporter needs --opset {DYNAMO_MIN_OPSET} or later; "
                             "use --exporter torchscript for older opsets")
        if self.size is not None:
            check_side_range(self.size, "--size")


# ---------------------------------------------------------------------------------------------------- wrappers


def _export_modules() -> tuple[type, type]:
    """The export wrappers (built lazily: importing this module must not import torch)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from stylecam.nets.adain import adain
    from stylecam.nets.transformer import InstanceNorm, StyleNorm

    class Float32Norm(nn.Module):
        """Runs a normalisation layer in float32 inside a float16 network."""

        def __init__(self, norm: nn.Module) -> None:
            super().__init__()
            self.norm = norm.float()

        def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
            return self.norm(x.float(), style).to(x.dtype)

    def to_half(module: nn.Module) -> nn.Module:
        module.half()
        for parent in list(module.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, (InstanceNorm, StyleNorm)):
                    setattr(parent, name, Float32Norm(child))
        return module

    class JohnsonExport(nn.Module):
        """A TransformerNet for export: optional fp16 body, float32 I/O, resize back to the input size."""

        def __init__(self, net: nn.Module, fp16: bool, resize_back: bool) -> None:
            super().__init__()
            net = copy.deepcopy(net).cpu().float().eval()
            self.net = to_half(net) if fp16 else net
            self.dtype = torch.float16 if fp16 else torch.float32
            self.resize_back = resize_back

        def forward(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
            # TransformerNet.forward's size check would be frozen at the trace size: compose its parts here.
            # ``style``: the 1×S style weights of a several-style network (kept in float32 for the norms).
            height, width = image.shape[-2:]
            y = self.net.body(image.to(self.dtype), style).float()
            if self.resize_back:
                y = F.interpolate(y, size=(height, width), mode="bilinear", align_corners=False)
            return y + image if self.net.config.residual_output else y

    class AdaINExport(nn.Module):
        """Encoder, AdaIN with strength ``alpha`` (statistics in float32), decoder, back to the content size."""

        def __init__(self, model: nn.Module, fp16: bool) -> None:
            super().__init__()
            model = copy.deepcopy(model).cpu().float().eval()
            self.model = model.half() if fp16 else model
            self.dtype = torch.float16 if fp16 else torch.float32

        def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
            height, width = content.shape[-2:]
            content_features = self.model.encode_content(content.to(self.dtype)).float()
            style_features = self.model.encode(style.to(self.dtype)).float()
            mixed = alpha * adain(content_features, style_features) + (1 - alpha) * content_features
            return self.model.decode_content(mixed.to(self.dtype), height, width).float()

    return JohnsonExport, AdaINExport


# ---------------------------------------------------------------------------------------------------- exporting


def dynamo_available() -> bool:
    """Whether the dynamo-based exporter can run (it needs the onnxscript package)."""
    import importlib.util

    return importlib.util.find_spec("onnxscript") is not None


def choose_exporter(options: ExportOptions) -> str:
    """``dynamo`` or ``torchscript`` for ``options`` (``auto``: dynamo where it can, see the module notes)."""
    if options.exporter != "auto":
        if options.exporter == "dynamo" and not dynamo_available():
            raise UsageError("the dynamo exporter needs the onnxscript package (pip install onnxscript), "
                             "or use --exporter torchscript")
        return options.exporter
    return "dynamo" if options.opset >= DYNAMO_MIN_OPSET and dynamo_available() else "torchscript"


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporters' progress lines, warnings and log chatter (torchvision absence and the like)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _run_exporter(exporter: str, module: Any, args: tuple[Any, ...], input_names: list[str],
                  dynamic: dict[str, dict[int, str]], opset: int) -> onnx.ModelProto:
    import onnx
    import torch

    with _quiet_exporter(), torch.no_grad():
        if exporter == "dynamo":
            arg_names = list(module.forward.__code__.co_varnames[1: 1 + len(args)])
            shapes: dict[str, Any] = {}
            for arg_name, input_name in zip(arg_names, input_names):
                axes = dynamic.get(input_name)
                shapes[arg_name] = (
                    {axis: torch.export.Dim(name, min=MIN_SIDE, max=MAX_SIDE) for axis, name in axes.items()}
                    if axes else None
                )
            program = torch.onnx.export(
                module, args, dynamo=True, input_names=input_names, output_names=["output"],
                dynamic_shapes=shapes if dynamic else None, opset_version=opset, external_data=False,
                verbose=False, optimize=True,
            )
            assert program is not None
            proto = program.model_proto
        else:
            buffer = io.BytesIO()
            axes = {**dynamic, "output": {2: "height", 3: "width"}} if dynamic else None
            torch.onnx.export(
                module, args, buffer, dynamo=False, input_names=input_names, output_names=["output"],
                dynamic_axes=axes, opset_version=opset, do_constant_folding=True,
            )
            proto = onnx.load_from_string(buffer.getvalue())
    got = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if got != opset:
        raise ModelError(f"the {exporter} exporter produced opset {got}, not the {opset} asked for")
    return proto


def _export(module: Any, args: tuple[Any, ...], input_names: list[str], dynamic: dict[str, dict[int, str]],
            options: ExportOptions) -> tuple[onnx.ModelProto, str]:
    """Export with the chosen exporter (``auto`` falls back from dynamo to TorchScript with a notice)."""
    exporter = choose_exporter(options)
    try:
        return _run_exporter(exporter, module, args, input_names, dynamic, options.opset), exporter
    except StylecamError:
        if options.exporter != "auto" or exporter != "dynamo":
            raise
        reason = "wrong opset"
    except Exception as exc:  # exporters raise many types; all mean the same to the user
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        if options.exporter != "auto" or exporter != "dynamo":
            raise ModelError(f"ONNX export failed ({exporter} exporter): {first}") from exc
        reason = first
    notice(f"dynamo exporter failed ({reason}); using the TorchScript exporter")
    try:
        return _run_exporter("torchscript", module, args, input_names, dynamic, options.opset), "torchscript"
    except StylecamError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelError(f"ONNX export failed (torchscript exporter): {first}") from exc


def _fix_io_shapes(proto: onnx.ModelProto, dims: dict[str, list[int | str]]) -> None:
    """Name every input/output dimension consistently (1, 3, height, width) whatever the exporter wrote."""
    for value in [*proto.graph.input, *proto.graph.output]:
        wanted = dims.get(value.name)
        if wanted is None:
            continue
        shape = value.type.tensor_type.shape
        del shape.dim[:]
        for item in wanted:
            dim = shape.dim.add()
            if isinstance(item, int):
                dim.dim_value = item
            else:
                dim.dim_param = item


def _finish(proto: onnx.ModelProto, meta: dict[str, Any], doc: str) -> onnx.ModelProto:
    import onnx

    metadata.write_metadata(proto, meta)
    proto.doc_string = doc
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        raise ModelError(f"exported graph fails onnx.checker: {str(exc).splitlines()[0][:200]}") from exc
    return proto


def _common_meta(options: ExportOptions, exporter: str) -> dict[str, Any]:
    import torch

    from stylecam import __version__

    return {
        "dynamic": options.is_dynamic, "size": list(options.size) if options.size else None,
        "fp16": options.fp16, "exporter": exporter, "opset": options.opset, "torch": torch.__version__,
        "version": __version__,
    }


def source_info(path: str | os.PathLike[str] | None) -> dict[str, str] | None:
    """``{"file": name, "sha256": hex}`` for a model file (None when there is no file)."""
    if path is None:
        return None
    return {"file": Path(path).name, "sha256": file_sha256(path)}


def export_johnson(net: TransformerNet, options: ExportOptions = ExportOptions(), *, style: str | None = None,
                   card: dict[str, Any] | None = None, source: dict[str, str] | None = None) -> onnx.ModelProto:
    """A checked ONNX graph of a Johnson network with its card in the metadata.

    Input ``input`` (1×3×H×W float32 RGB 0..255), output ``output`` (same size, nominally 0..255). A network of
    several styles has a second input ``style``: 1×S float32 weights over the styles listed in the metadata's
    ``styles`` (one-hot picks a style, a convex mix blends them), so one graph serves every style.
    """
    import torch

    options.validate()
    johnson_export, _ = _export_modules()
    dynamic = options.is_dynamic
    width, height = (options.size or TRACE_SIZE) if not dynamic else TRACE_SIZE
    # A static size divisible by the stride needs no resize; dynamic graphs and other static sizes end with one.
    resize_back = dynamic or height % net.config.stride != 0 or width % net.config.stride != 0
    module = johnson_export(net, options.fp16, resize_back=resize_back).eval()
    example = torch.rand(1, 3, height, width) * 255
    axes = {"input": {2: "height", 3: "width"}} if dynamic else {}
    styles = list(net.config.styles)
    args: tuple[Any, ...] = (example,)
    names, inputs = ["input"], dict(metadata.JOHNSON_INPUTS)
    if styles:
        args, names = (example, net.style_weights()), ["input", "style"]
        inputs["style"] = metadata.STYLE_INPUT
    proto, exporter = _export(module, args, names, axes, options)
    hw: list[int | str] = ["height", "width"] if dynamic else [height, width]
    _fix_io_shapes(proto, {"input": [1, 3, *hw], "output": [1, 3, *hw], "style": [1, len(styles)]})
    card = card or {}
    config = net.config.to_dict()
    tier = metadata.tier_name(config, card)
    meta = {
        "kind": "johnson", "style": style, "styles": styles, "tier": tier, "config": config, "scale": 255,
        "inputs": inputs, "outputs": metadata.JOHNSON_OUTPUTS,
        "card": card or None, "source": source, **_common_meta(options, exporter),
    }
    doc = (f"stylecam Johnson network{f' {style!r}' if style else ''} ({tier} tier): "
           "RGB float32 1x3xHxW in 0..255 in, the same out")
    return _finish(proto, meta, doc)


def export_adain(model: AdaINModel, options: ExportOptions = ExportOptions(), *,
                 card: dict[str, Any] | None = None, source: dict[str, str] | None = None,
                 vgg_source: dict[str, str] | None = None) -> onnx.ModelProto:
    """A checked ONNX graph of VGG encoder + AdaIN + decoder.

    Inputs ``content`` (1×3×H×W RGB 0..1), ``style`` (1×3×h×w RGB 0..1; the same static size as the content in
    a static graph) and ``alpha`` (float32 scalar); output ``output`` (1×3×H×W, nominally 0..1).
    """
    import torch

    options.validate()
    _, adain_export = _export_modules()
    dynamic = options.is_dynamic
    width, height = (options.size or TRACE_SIZE) if not dynamic else TRACE_SIZE
    module = adain_export(model, options.fp16).eval()
    args = (torch.rand(1, 3, height, width), torch.rand(1, 3, height, width), torch.tensor(1.0))
    axes = ({"content": {2: "height", 3: "width"}, "style": {2: "style_height", 3: "style_width"}}
            if dynamic else {})
    proto, exporter = _export(module, args, ["content", "style", "alpha"], axes, options)
    hw: list[int | str] = ["height", "width"] if dynamic else [height, width]
    style_hw: list[int | str] = ["style_height", "style_width"] if dynamic else [height, width]
    _fix_io_shapes(proto, {"content": [1, 3, *hw], "style": [1, 3, *style_hw], "alpha": [],
                           "output": [1, 3, *hw]})
    meta = {
        "kind": "adain", "style": "any (style input)", "encoder_layer": model.decoder.encoder_layer, "scale": 1,
        "inputs": metadata.ADAIN_INPUTS, "outputs": metadata.ADAIN_OUTPUTS, "card": card or None,
        "source": source, "vgg_weights": vgg_source, **_common_meta(options, exporter),
    }
    doc = (f"stylecam AdaIN (VGG19 to {model.decoder.encoder_layer}, AdaIN, decoder): content and style RGB "
           "float32 in 0..1, alpha scalar; output RGB 0..1")
    return _finish(proto, meta, doc)


def write_onnx(proto: onnx.ModelProto, path: str | os.PathLike[str]) -> Path:
    """Write a graph atomically: a temporary name in the same folder, then a rename."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(proto.SerializeToString())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
    return target


# ---------------------------------------------------------------------------------------------------- checking


@dataclass
class CheckReport:
    """ONNX Runtime vs PyTorch: the largest and mean absolute differences over the sizes run, in 0..255 levels."""

    sizes: list[tuple[int, int]]
    max_diff: float
    mean_diff: float
    tolerance: float
    provider: str = "CPUExecutionProvider"
    per_size: list[tuple[float, float]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the largest difference is within the tolerance."""
        return self.max_diff <= self.tolerance

    def line(self) -> str:
        """One human-readable line."""
        sizes = ", ".join(f"{w}x{h}" for w, h in self.sizes)
        verdict = "passed" if self.passed else "FAILED"
        return (f"check {verdict}: ONNX Runtime ({self.provider}) vs PyTorch at {sizes}: max difference "
                f"{self.max_diff:.4g}, mean {self.mean_diff:.3g} (0..255 levels; tolerance {self.tolerance:g})")


def synthetic_photo(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A deterministic photo-like RGB uint8 image (gradients, discs, edges, mild noise) for checks without a photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([255 * x / width, 255 * y / height, 128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0)], -1)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(8, max(9, min(width, height) / 3))
        image[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def check_sizes(image_shape: tuple[int, ...], options: ExportOptions) -> list[tuple[int, int]]:
    """Sizes (width, height) to compare at: a static graph's own; for a dynamic one the image at a 256 px long
    side and at about 200 px with sides not divisible by 4."""
    if not options.is_dynamic and options.size:
        return [options.size]
    height, width = image_shape[:2]
    sizes = []
    for side, odd in ((256, False), (198, True)):
        scale = side / max(height, width)
        w, h = max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))
        if odd:
            w, h = (w - 1 if w % 4 == 0 else w), (h - 1 if h % 4 == 0 else h)
        sizes.append((w, h))
    return sizes


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _session(proto: onnx.ModelProto | str | os.PathLike[str]) -> Any:
    from stylecam.export.ort_session import import_onnxruntime, session_options

    ort = import_onnxruntime()
    model = str(proto) if isinstance(proto, (str, os.PathLike)) else proto.SerializeToString()
    try:
        return ort.InferenceSession(model, session_options(), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"ONNX Runtime cannot load the graph: {str(exc).splitlines()[0][:200]}") from exc


def _report(diffs: list[np.ndarray], sizes: list[tuple[int, int]], tolerance: float) -> CheckReport:
    per_size = [(float(d.max()), float(d.mean())) for d in diffs]
    total = sum(d.size for d in diffs)
    mean = float(sum(d.sum(dtype=np.float64) for d in diffs) / total)
    return CheckReport(sizes, max(m for m, _ in per_size), mean, tolerance, per_size=per_size)


def check_johnson(proto: onnx.ModelProto | str | os.PathLike[str], net: TransformerNet, image: np.ndarray,
                  sizes: list[tuple[int, int]], tolerance: float, device: str = "cpu") -> CheckReport:
    """Run the graph in ONNX Runtime (CPU) and ``net`` in PyTorch on ``image`` at each size; compare outputs
    clamped to 0..255."""
    import torch

    from stylecam.imaging.frames import frame_to_nchw

    session = _session(proto)
    net = net.to(device).eval()
    diffs = []
    for i, size in enumerate(sizes):
        x = frame_to_nchw(_resize(image, size))
        feeds = {"input": x}
        style = None
        if net.config.styles:  # a different style at each size, and a blend of the first two at the last
            names = net.config.styles
            style = net.style_weights(names[i % len(names)] if i < len(sizes) - 1 or len(names) == 1
                                      else {names[0]: 0.5, names[1]: 0.5})
            feeds["style"] = style.cpu().numpy()
        with torch.inference_mode():
            ref = net(torch.from_numpy(x).to(device), style).float().cpu().numpy()
        out = session.run(None, feeds)[0]
        diffs.append(np.abs(np.clip(out, 0, 255) - np.clip(ref, 0, 255)))
    return _report(diffs, sizes, tolerance)


def check_adain(proto: onnx.ModelProto | str | os.PathLike[str], model: AdaINModel, image: np.ndarray,
                style: np.ndarray, sizes: list[tuple[int, int]], tolerance: float, alpha: float = 0.8,
                static_style: bool = False, device: str = "cpu") -> CheckReport:
    """As :func:`check_johnson` for the AdaIN graph (outputs scaled to 0..255 before comparing). The style
    image is used at a 256 px long side (at the content's size in a static graph)."""
    import torch

    from stylecam.imaging.frames import frame_to_nchw

    session = _session(proto)
    model = model.to(device).eval()
    diffs = []
    for size in sizes:
        if static_style:
            style_size = size
        else:
            scale = ADAIN_STYLE_SIDE / max(style.shape[:2])
            style_size = (max(MIN_SIDE, round(style.shape[1] * scale)), max(MIN_SIDE, round(style.shape[0] * scale)))
        c = frame_to_nchw(_resize(image, size)) / np.float32(255)
        s = frame_to_nchw(_resize(style, style_size)) / np.float32(255)
        with torch.inference_mode():
            ref = model(torch.from_numpy(c).to(device), [torch.from_numpy(s).to(device)], alpha)
        out = session.run(None, {"content": c, "style": s, "alpha": np.array(alpha, dtype=np.float32)})[0]
        diffs.append(np.abs(np.clip(out, 0, 1) - np.clip(ref.float().cpu().numpy(), 0, 1)) * 255)
    return _report(diffs, sizes, tolerance)


# ---------------------------------------------------------------------------------------------------- cache


def cache_root() -> Path:
    """``$STYLECAM_CACHE``, else ``$XDG_CACHE_HOME/stylecam``, else ``~/.cache/stylecam``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "stylecam"


def _cache_path(stem: str, parts: list[str]) -> Path:
    import torch

    key = hashlib.sha256("|".join([*parts, str(CACHE_VERSION), torch.__version__]).encode()).hexdigest()[:16]
    return cache_root() / "onnx" / f"{stem}-{key}.onnx"


def _options_key(options: ExportOptions) -> str:
    return f"opset={options.opset},size={options.size},dynamic={options.is_dynamic},fp16={options.fp16}," \
           f"exporter={options.exporter}"


def _write_cached(proto: onnx.ModelProto, path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the cache folder {path.parent} ({exc.strerror})") from None
    return write_onnx(proto, path)


def cached_johnson_onnx(model_path: str | os.PathLike[str], options: ExportOptions = ExportOptions()) -> Path:
    """An .onnx of a Johnson model file from the cache (``~/.cache/stylecam/onnx``, keyed by the file's hash and
    the export options), exported now if absent."""
    from stylecam.nets.checkpoints import load_transformer

    model_path = Path(model_path)
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    digest = file_sha256(model_path)
    path = _cache_path(model_path.stem, ["johnson", digest, _options_key(options)])
    if path.is_file():
        return path
    net = load_transformer(model_path)
    notice(f"exporting {model_path.name} to ONNX (cached in {path.parent})")
    proto = export_johnson(net, options, style=model_path.stem, card=metadata.read_card(model_path),
                           source={"file": model_path.name, "sha256": digest})
    return _write_cached(proto, path)


def cached_adain_onnx(decoder_path: str | os.PathLike[str], vgg_weights: str | os.PathLike[str] | None = None,
                      options: ExportOptions = ExportOptions()) -> Path:
    """As :func:`cached_johnson_onnx` for the AdaIN graph of a decoder (the key includes the VGG weights file's
    path, size and modification time)."""
    from stylecam.nets.adain import AdaINModel
    from stylecam.nets.checkpoints import load_adain_decoder
    from stylecam.nets.vgg import find_weights, load_vgg

    decoder_path = Path(decoder_path)
    if not decoder_path.is_file():
        raise ModelError(f"model file not found: {decoder_path}")
    vgg_path = find_weights(vgg_weights)
    stat = vgg_path.stat()
    digest = file_sha256(decoder_path)
    path = _cache_path(f"adain-{decoder_path.stem}", ["adain", digest, str(vgg_path.resolve()), str(stat.st_size),
                                                      str(stat.st_mtime_ns), _options_key(options)])
    if path.is_file():
        return path
    model = AdaINModel(load_vgg(vgg_path), load_adain_decoder(decoder_path))
    notice(f"exporting the AdaIN graph of {decoder_path.name} to ONNX (cached in {path.parent})")
    proto = export_adain(model, options, card=metadata.read_card(decoder_path),
                         source={"file": decoder_path.name, "sha256": digest},
                         vgg_source={"file": vgg_path.name, "size": str(stat.st_size)})
    return _write_cached(proto, path)
