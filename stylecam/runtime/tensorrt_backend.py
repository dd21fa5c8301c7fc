"""TensorRT backend: a serialized engine (``export-onnx --tensorrt``) run with the ``tensorrt`` API, its buffers
torch CUDA tensors. Importing this module needs neither TensorRT nor a GPU; constructing a backend does.

Johnson engines have an input ``input`` (RGB 0..255), and several-style ones a second, ``style`` (the weights
set through ``mix``, as for the other backends); AdaIN engines have ``content``, ``style`` (RGB 0..1) and
``alpha`` and take their style through ``set_style(image)`` and the ``alpha`` attribute. Frames outside a dynamic
engine's profile are scaled into it (and the result back); static engines get frames resized to their size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from stylecam.errors import ModelError, StylecamError, UsageError
from stylecam.imaging.frames import frame_to_nchw, nchw_to_frame
from stylecam.runtime.base import StyleMix


def _torch_dtype(trt: Any, dtype: Any) -> Any:
    import torch

    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32}
    if dtype not in table:
        raise ModelError(f"unsupported TensorRT tensor type {dtype}")
    return table[dtype]


def _fit(size: tuple[int, int], low: tuple[int, int], high: tuple[int, int]) -> tuple[int, int]:
    """(width, height) scaled, keeping the aspect ratio where possible, into low..high (then clamped)."""
    width, height = size
    scale = min(1.0, high[0] / width, high[1] / height)
    scale = max(scale, low[0] / width, low[1] / height)
    w = min(max(round(width * scale), low[0]), high[0])
    h = min(max(round(height * scale), low[1]), high[1])
    return w, h


class TensorRTBackend:
    """Runs a serialized TensorRT engine on CUDA (``name`` tensorrt)."""

    name = "tensorrt"

    def __init__(self, engine_path: str | os.PathLike[str], device: str = "auto", style: Any = None,
                 alpha: float = 1.0, style_side: int | None = 256) -> None:
        from stylecam.export.tensorrt_build import cuda_device, import_tensorrt, read_sidecar

        trt = import_tensorrt()
        import torch

        self._trt = trt
        self._device = cuda_device(device)
        self.device = str(self._device)
        self.path = Path(engine_path)
        if not self.path.is_file():
            raise ModelError(f"engine file not found: {self.path}")
        torch.cuda.set_device(self._device)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise ModelError(f"{self.path}: TensorRT cannot load this engine (corrupt, or built with another "
                             "TensorRT version or GPU; rebuild it with export-onnx --tensorrt)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self._inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(outputs) != 1:
            raise ModelError(f"{self.path}: expected one output, found {len(outputs)}")
        self._output = outputs[0]
        self.adain = set(self._inputs) == {"content", "style", "alpha"}
        self._image = "content" if self.adain else "input"
        if not self.adain and self._inputs not in (["input"], ["input", "style"]):
            raise ModelError(f"{self.path}: not a stylecam engine (inputs {', '.join(self._inputs)})")
        self.metadata = read_sidecar(self.path).get("metadata", {})
        styles = self.metadata.get("styles") or [] if "style" in self._inputs and not self.adain else []
        self.mix = StyleMix(styles, self.metadata.get("style"))
        self.scale = float(self.metadata.get("scale", 1 if self.adain else 255))
        self._stream = torch.cuda.Stream(self._device)
        self.alpha = alpha
        self.style_side = style_side
        self._style: Any = None
        self._alpha_buffer = torch.zeros((), dtype=self._dtype("alpha"), device=self._device) if self.adain else None
        self.detail = f"TensorRT {trt.__version__}, {torch.cuda.get_device_name(self._device)}"
        if style is not None:
            self.set_style(style)

    def _dtype(self, name: str) -> Any:
        return _torch_dtype(self._trt, self.engine.get_tensor_dtype(name))

    def _size_for(self, name: str, size: tuple[int, int]) -> tuple[int, int]:
        """The (width, height) an input of this size must be fed at: its own within the profile, else fitted."""
        shape = tuple(self.engine.get_tensor_shape(name))
        if -1 not in shape:
            return shape[3], shape[2]
        low, _, high = (tuple(s) for s in self.engine.get_tensor_profile_shape(name, 0))
        return _fit(size, (low[3], low[2]), (high[3], high[2]))

    def _to_device(self, image: np.ndarray, name: str, scale: float) -> Any:
        import cv2
        import torch

        size = self._size_for(name, (image.shape[1], image.shape[0]))
        if (image.shape[1], image.shape[0]) != size:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(frame_to_nchw(image)).to(self._device, non_blocking=True)
        if scale != 255:
            x = x * (scale / 255)
        return x.to(self._dtype(name)).contiguous()

    def set_style(self, image: Any) -> None:
        """AdaIN engines: use a new style image (RGB uint8 array or file) from the next frame on."""
        if not self.adain:
            raise UsageError("this engine is a trained style network; only AdaIN engines take a style image")
        from stylecam.runtime.adain_backend import load_style

        self._style = self._to_device(load_style(image, self.style_side), "style", 1.0)

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame."""
        import torch

        height, width = frame.shape[:2]
        tensors: dict[str, Any] = {self._image: self._to_device(frame, self._image, self.scale)}
        if self.adain:
            if self._style is None:
                raise UsageError("no style image yet: pass one when opening the backend, or call set_style(image)")
            if not 0.0 <= self.alpha <= 1.0:
                raise UsageError(f"alpha must be between 0 and 1, got {self.alpha}")
            self._alpha_buffer.fill_(float(self.alpha))
            tensors.update(style=self._style, alpha=self._alpha_buffer)
        elif self.mix.names:
            tensors["style"] = torch.from_numpy(self.mix.vector).to(self._device).to(self._dtype("style"))
        with torch.cuda.device(self._device):
            for name, tensor in tensors.items():
                if not self.context.set_input_shape(name, tuple(tensor.shape)):
                    raise StylecamError(f"TensorRT refused input {name} of shape {tuple(tensor.shape)}")
                self.context.set_tensor_address(name, tensor.data_ptr())
            out_shape = tuple(self.context.get_tensor_shape(self._output))
            output = torch.empty(out_shape, dtype=self._dtype(self._output), device=self._device)
            self.context.set_tensor_address(self._output, output.data_ptr())
            self._stream.wait_stream(torch.cuda.current_stream(self._device))
            if not self.context.execute_async_v3(self._stream.cuda_stream):
                raise StylecamError("TensorRT failed to run the engine")
            self._stream.synchronize()
        y = output.float().cpu().numpy()
        return nchw_to_frame(y * (255 / self.scale) if self.scale != 255 else y, height, width)
