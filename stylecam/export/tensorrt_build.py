"""ONNX graph → serialized TensorRT engine, with the ``tensorrt`` Python API (TensorRT ≥ 8.6; written for 10).

``tensorrt`` is imported lazily: everything else in stylecam works without it, and asking for an engine where it
or a CUDA GPU is missing is one clear :class:`TensorRTUnavailable` error.

Engines are FP16 by default with instance normalisation kept in FP32 (``OnnxParserFlag.NATIVE_INSTANCENORM``
maps ONNX ``InstanceNormalization`` to TensorRT's own normalisation layer, which supports dynamic shapes; its
FP16 form is the case public reports show drifting, so those layers get an FP32 precision constraint). Dynamic
graphs get one optimisation profile spanning the sizes asked for. A JSON sidecar ``ENGINE.json`` records the
graph's metadata (card, input convention) and the profile, since an engine file has no room for them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stylecam.errors import ModelError, OutputError, StylecamError
from stylecam.log import notice

ENGINE_SUFFIXES = (".engine", ".plan", ".trt")
MIN_VERSION = (8, 6)
DEFAULT_PROFILE = ((64, 64), (640, 360), (1920, 1088))  # (width, height): min, opt, max
STYLE_PROFILE = ((64, 64), (256, 256), (1024, 1024))
WORKSPACE_BYTES = 2 << 30


class TensorRTUnavailable(StylecamError):
    """TensorRT or a CUDA GPU is missing here (EX_UNAVAILABLE)."""

    exit_code = 69


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or TensorRTUnavailable saying what is missing."""
    try:
        import tensorrt as trt
    except ImportError:
        raise TensorRTUnavailable(
            "TensorRT is not installed here: it needs an NVIDIA GPU and 'pip install tensorrt'"
        ) from None
    except (OSError, RuntimeError) as exc:  # the wheel is there but its CUDA libraries are not
        raise TensorRTUnavailable(f"TensorRT is installed but cannot load its libraries ({exc})") from None
    version = tuple(int(p) for p in trt.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_VERSION:
        raise TensorRTUnavailable(f"TensorRT {trt.__version__} is too old; stylecam needs "
                                  f"{'.'.join(map(str, MIN_VERSION))} or later")
    return trt


def cuda_device(device: str = "auto") -> Any:
    """The torch CUDA device TensorRT will use, or TensorRTUnavailable when PyTorch sees no CUDA GPU."""
    import torch

    if not torch.cuda.is_available():
        raise TensorRTUnavailable("TensorRT needs an NVIDIA GPU with CUDA, and PyTorch sees none here")
    if device in ("auto", "cuda"):
        return torch.device("cuda", torch.cuda.current_device())
    if not device.startswith("cuda"):
        raise TensorRTUnavailable(f"TensorRT runs on CUDA devices only, not '{device}'")
    return torch.device(device)


def unavailable_reason() -> str | None:
    """Why TensorRT cannot be used here (None when it can): for test skips and backend selection."""
    try:
        import_tensorrt()
        cuda_device()
    except TensorRTUnavailable as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Profile:
    """An optimisation profile for image inputs: (width, height) min, opt and max."""

    min: tuple[int, int] = DEFAULT_PROFILE[0]
    opt: tuple[int, int] = DEFAULT_PROFILE[1]
    max: tuple[int, int] = DEFAULT_PROFILE[2]

    def validate(self) -> None:
        """UsageError unless min ≤ opt ≤ max for both width and height."""
        from stylecam.errors import UsageError

        for axis, name in ((0, "width"), (1, "height")):
            if not self.min[axis] <= self.opt[axis] <= self.max[axis]:
                raise UsageError(f"TensorRT profile {name}s must satisfy min ≤ opt ≤ max, got "
                                 f"{self.min[axis]}, {self.opt[axis]}, {self.max[axis]}")

    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """N×C×H×W shapes for min, opt, max."""
        return tuple((1, 3, h, w) for w, h in (self.min, self.opt, self.max))  # type: ignore[return-value]


def _keep_norms_fp32(trt: Any, network: Any) -> int:
    """Constrain normalisation layers (native or the InstanceNormalization plugin) to FP32; returns how many."""
    kept = 0
    norm_type = getattr(trt.LayerType, "NORMALIZATION", None)
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        is_plugin_norm = "instancenorm" in layer.name.lower().replace("_", "")
        if layer.type == norm_type or is_plugin_norm:
            layer.precision = trt.float32
            for output in range(layer.num_outputs):
                layer.set_output_type(output, trt.float32)
            kept += 1
    return kept


def build_engine(onnx_model: bytes | str | os.PathLike[str], engine_path: str | os.PathLike[str], *,
                 fp16: bool = True, profile: Profile = Profile(), style_profile: Profile | None = None,
                 device: str = "auto", workspace: int = WORKSPACE_BYTES,
                 metadata: dict[str, Any] | None = None) -> Path:
    """Build and write (atomically) a serialized engine for an ONNX graph; returns its path.

    ``profile`` covers the image input (``input`` or ``content``); ``style_profile`` AdaIN's ``style`` input.
    Inputs with fixed sizes need no profile and ignore it.
    """
    trt = import_tensorrt()
    dev = cuda_device(device)
    import torch

    torch.cuda.set_device(dev)
    data = Path(onnx_model).read_bytes() if isinstance(onnx_model, (str, os.PathLike)) else onnx_model
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if hasattr(trt, "OnnxParserFlag") and hasattr(trt.OnnxParserFlag, "NATIVE_INSTANCENORM"):
        parser.set_flag(trt.OnnxParserFlag.NATIVE_INSTANCENORM)
    if not parser.parse(data):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse the ONNX graph: {errors[:300]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    if fp16:
        if not builder.platform_has_fast_fp16:
            notice("this GPU has no fast FP16; building the TensorRT engine in FP16 anyway")
        config.set_flag(trt.BuilderFlag.FP16)
        if _keep_norms_fp32(trt, network):
            config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
    optimisation = builder.create_optimization_profile()
    used: dict[str, list[list[int]]] = {}
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        shape = tuple(tensor.shape)
        if -1 not in shape:
            continue
        chosen = (style_profile or Profile(*STYLE_PROFILE)) if tensor.name == "style" else profile
        chosen.validate()
        low, opt, high = chosen.shapes()
        optimisation.set_shape(tensor.name, low, opt, high)
        used[tensor.name] = [list(low), list(opt), list(high)]
    if used:
        config.add_optimization_profile(optimisation)
    notice(f"building a TensorRT {trt.__version__} engine on {torch.cuda.get_device_name(dev)} "
           f"({'FP16' if fp16 else 'FP32'}); this takes a minute or more")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError("TensorRT could not build an engine from the graph (see its messages above)")
    target = Path(engine_path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    sidecar = {"tensorrt": trt.__version__, "gpu": torch.cuda.get_device_name(dev), "fp16": fp16,
               "profile": used, "metadata": metadata or {}}
    try:
        tmp.write_bytes(bytes(serialized))
        os.replace(tmp, target)
        side = sidecar_path(target)
        side_tmp = side.with_name(f".{side.name}.{os.getpid()}.tmp")
        side_tmp.write_text(json.dumps(sidecar, indent=2) + "\n")
        os.replace(side_tmp, side)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
    return target


def sidecar_path(engine_path: str | os.PathLike[str]) -> Path:
    """``ENGINE.json`` beside an engine file."""
    path = Path(engine_path)
    return path.with_name(path.name + ".json")


def read_sidecar(engine_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The engine's JSON sidecar, or ``{}``."""
    try:
        data = json.loads(sidecar_path(engine_path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
