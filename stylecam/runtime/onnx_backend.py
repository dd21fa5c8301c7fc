"""ONNX Runtime backend: an exported Johnson network (``export-onnx``) run by ``onnxruntime.InferenceSession``.

Execution providers, in order, among those ``onnxruntime.get_available_providers()`` lists: TensorRT (FP16, with
an engine and timing cache under ``~/.cache/stylecam/ort-trt``), CUDA, then the CPU. ``device='cpu'`` asks for
the CPU alone, ``cuda``/``cuda:N`` for a GPU (an error when this ONNX Runtime has no GPU provider).
Graphs exported with a static size are fed frames resized to that size, and their output is resized back.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from stylecam.errors import ModelError, StylecamError, UsageError
from stylecam.export.ort_session import import_onnxruntime, session_options
from stylecam.imaging.frames import frame_to_nchw, nchw_to_frame
from stylecam.runtime.base import StyleMix

TRT_PROVIDER = "TensorrtExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
GPU_PROVIDERS = (TRT_PROVIDER, CUDA_PROVIDER)
# TensorRT EP optimisation profile for dynamic graphs (width, height): min, opt, max.
TRT_PROFILE = ((64, 64), (640, 360), (1920, 1088))


def trt_cache_dir() -> Path:
    """Where the TensorRT execution provider keeps its engines and timing cache."""
    from stylecam.export.onnx_export import cache_root

    return cache_root() / "ort-trt"


def _profile_shapes(session_inputs: list[Any]) -> dict[str, str] | None:
    """TensorRT EP ``trt_profile_*_shapes`` for the dynamic image inputs (None when every input is static)."""
    dynamic = [i for i in session_inputs if len(i.shape) == 4 and not all(isinstance(d, int) for d in i.shape)]
    if not dynamic:
        return None
    shapes = {}
    for key, (width, height) in zip(("min", "opt", "max"), TRT_PROFILE):
        shapes[f"trt_profile_{key}_shapes"] = ",".join(f"{i.name}:1x3x{height}x{width}" for i in dynamic)
    return shapes


def choose_providers(device: str = "auto", fp16: bool = True, profile: dict[str, str] | None = None,
                     available: list[str] | None = None) -> list[Any]:
    """Providers for ``device`` among the available ones: TensorRT EP, CUDA EP, then the CPU EP."""
    if available is None:
        available = import_onnxruntime().get_available_providers()
    kind, _, index = device.partition(":")
    if kind not in ("auto", "cpu", "cuda"):
        raise UsageError(f"the onnx backend runs on cpu or cuda, not '{device}'")
    if kind == "cpu":
        return [CPU_PROVIDER]
    device_id = int(index) if index.isdigit() else 0
    providers: list[Any] = []
    if TRT_PROVIDER in available:
        cache = trt_cache_dir()
        options: dict[str, Any] = {
            "device_id": device_id, "trt_fp16_enable": fp16, "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache), "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache), **(profile or {}),
        }
        providers.append((TRT_PROVIDER, options))
    if CUDA_PROVIDER in available:
        providers.append((CUDA_PROVIDER, {"device_id": device_id}))
    if kind == "cuda" and not providers:
        raise UsageError("this ONNX Runtime has no CUDA or TensorRT execution provider (install onnxruntime-gpu), "
                         "or use --device cpu")
    return [*providers, CPU_PROVIDER]


def open_session(path: str | os.PathLike[str], device: str = "auto", threads: int | None = None,
                 fp16: bool = True) -> tuple[Any, dict[str, Any]]:
    """An ``InferenceSession`` for an .onnx file and its decoded stylecam metadata; ModelError if it cannot load."""
    from stylecam.export.metadata import decode

    ort = import_onnxruntime()
    model_path = Path(path)
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    providers = choose_providers(device, fp16)
    if providers[0] != CPU_PROVIDER and hasattr(ort, "preload_dlls"):  # onnxruntime-gpu ≥ 1.21
        ort.preload_dlls()  # CUDA and cuDNN from the nvidia-* wheels that torch's CUDA build installs
    if any(isinstance(p, tuple) and p[0] == TRT_PROVIDER for p in providers):
        from stylecam.export.tensorrt_build import import_tensorrt

        with contextlib.suppress(StylecamError):  # importing the tensorrt wheel loads the libnvinfer the EP needs
            import_tensorrt()
        trt_cache_dir().mkdir(parents=True, exist_ok=True)
        try:  # the profile needs the graph's input names: read them from a CPU session first
            probe = ort.InferenceSession(str(model_path), providers=[CPU_PROVIDER])
            providers = choose_providers(device, fp16, _profile_shapes(probe.get_inputs()))
        except Exception:
            pass  # the real load below reports the problem
    try:
        session = ort.InferenceSession(str(model_path), session_options(threads), providers=providers)
    except Exception as exc:  # InvalidProtobuf, Fail, NoSuchFile …: all mean a bad model file to the user
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"ONNX Runtime cannot load {model_path}: {first[:200]}") from exc
    return session, decode(session.get_modelmeta().custom_metadata_map)


def numpy_dtype(ort_type: str) -> type:
    return np.float16 if ort_type == "tensor(float16)" else np.float32


def static_size(shape: list[Any]) -> tuple[int, int] | None:
    """(width, height) of an N×3×H×W input whose height and width are fixed numbers, else None."""
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
        return shape[3], shape[2]
    return None


def fit_frame(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """The frame resized to ``size`` (width, height) when given and different."""
    if size is None or (frame.shape[1], frame.shape[0]) == size:
        return frame
    import cv2

    shrink = size[0] * size[1] < frame.shape[0] * frame.shape[1]
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class OnnxBackend:
    """Runs an exported Johnson network with ONNX Runtime (``name`` onnx; ``device`` cpu or cuda)."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike[str], device: str = "auto", threads: int | None = None,
                 fp16: bool = True) -> None:
        self.path = Path(path)
        self.session, self.metadata = open_session(self.path, device, threads, fp16)
        inputs = self.session.get_inputs()
        names = [i.name for i in inputs]
        if len(inputs[0].shape) != 4 or names not in (["input"], ["input", "style"]):
            raise ModelError(f"{self.path} is not a style network graph "
                             f"({len(inputs)} inputs: {', '.join(names)})")
        styles = self.metadata.get("styles") or [] if len(names) == 2 else []
        self.mix = StyleMix(styles, self.metadata.get("style"))  # starts at the style it was exported for
        if len(names) == 2 and len(self.mix.names) != inputs[1].shape[-1]:
            raise ModelError(f"{self.path}: its metadata names {len(self.mix.names)} styles for a style input of "
                             f"{inputs[1].shape[-1]}")
        self.provider = self.session.get_providers()[0]
        self.device = "cuda" if self.provider in GPU_PROVIDERS else "cpu"
        self._input = inputs[0].name
        self._dtype = numpy_dtype(inputs[0].type)
        self.static_size = static_size(inputs[0].shape)
        self.scale = float(self.metadata.get("scale", 255))
        self.detail = f"ONNX Runtime, {self.provider}"

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame."""
        height, width = frame.shape[:2]
        x = frame_to_nchw(fit_frame(frame, self.static_size))
        if self.scale != 255:
            x *= self.scale / 255
        feeds = {self._input: x.astype(self._dtype, copy=False)}
        if self.mix.names:
            feeds["style"] = self.mix.vector
        y = self.session.run(None, feeds)[0]
        y = y.astype(np.float32, copy=False)
        if self.scale != 255:
            y = y * (255 / self.scale)
        return nchw_to_frame(y, height, width)
