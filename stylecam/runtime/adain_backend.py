"""AdaIN backends (any style image, one trained decoder): PyTorch and ONNX Runtime.

Both take the style image at construction or later through ``set_style(image)`` (an RGB uint8 array or an image
file), scaled to a ``style_side`` long side (256 px by default), and read the strength from the ``alpha``
attribute (0..1) on every frame. The torch backend encodes the style once; the ONNX graph takes the style image as
an input and encodes it on every frame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stylecam.errors import ModelError, UsageError
from stylecam.imaging.frames import frame_to_nchw, nchw_to_frame
from stylecam.runtime.onnx_backend import GPU_PROVIDERS, numpy_dtype, fit_frame, open_session, static_size

if TYPE_CHECKING:
    import torch

    from stylecam.nets.adain import AdaINModel

STYLE_SIDE = 256


def load_style(image: np.ndarray | str | os.PathLike[str], style_side: int | None) -> np.ndarray:
    """A style image as RGB uint8, its long side at most ``style_side`` (kept as is when None)."""
    if isinstance(image, (str, os.PathLike)):
        from stylecam.imaging.io import read_image

        image = read_image(Path(image), max_side=style_side, size_option=None)
    elif not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        raise UsageError("a style image must be an RGB uint8 H×W×3 array or an image file")
    if style_side and max(image.shape[:2]) > style_side:
        import cv2

        scale = style_side / max(image.shape[:2])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _check_alpha(alpha: float) -> float:
    if not 0.0 <= alpha <= 1.0:
        raise UsageError(f"alpha must be between 0 and 1, got {alpha}")
    return float(alpha)


class TorchAdaINBackend:
    """VGG encoder + AdaIN + decoder in PyTorch; the style's features are computed once per ``set_style``."""

    name = "torch"

    def __init__(self, model: AdaINModel, device: torch.device, style: Any = None, alpha: float = 1.0,
                 style_side: int | None = STYLE_SIDE) -> None:
        self._device = device
        self.device = str(device)
        self.model = model.to(device).eval()
        self.alpha = alpha
        self.style_side = style_side
        self.detail = "PyTorch eager, AdaIN"
        self._style_features: torch.Tensor | None = None
        if style is not None:
            self.set_style(style)

    def set_style(self, image: Any) -> None:
        """Use a new style image from the next frame on."""
        import torch

        from stylecam.imaging.tensors import to_tensor

        style = load_style(image, self.style_side)
        with torch.inference_mode():
            self._style_features = self.model.encode(to_tensor(style, self._device))

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame with the current style and ``alpha``."""
        import torch

        from stylecam.nets.adain import adain

        if self._style_features is None:
            raise UsageError("no style image yet: pass one when opening the backend, or call set_style(image)")
        alpha = _check_alpha(self.alpha)
        height, width = frame.shape[:2]
        with torch.inference_mode():
            x = torch.from_numpy(frame_to_nchw(frame)).to(self._device).div_(255)
            content = self.model.encode_content(x)
            mixed = alpha * adain(content, self._style_features) + (1 - alpha) * content
            y = self.model.decode_content(mixed, height, width)
        return nchw_to_frame(y.float().cpu().numpy() * 255, height, width)


class OnnxAdaINBackend:
    """The exported AdaIN graph (``export-onnx --adain``) in ONNX Runtime."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike[str], device: str = "auto", style: Any = None, alpha: float = 1.0,
                 style_side: int | None = STYLE_SIDE, threads: int | None = None, fp16: bool = True) -> None:
        self.path = Path(path)
        self.session, self.metadata = open_session(self.path, device, threads, fp16)
        inputs = {i.name: i for i in self.session.get_inputs()}
        if set(inputs) != {"content", "style", "alpha"}:
            raise ModelError(f"{self.path} is not an AdaIN graph (inputs {', '.join(inputs)}; "
                             "expected content, style, alpha)")
        self.provider = self.session.get_providers()[0]
        self.device = "cuda" if self.provider in GPU_PROVIDERS else "cpu"
        self.detail = f"ONNX Runtime, {self.provider}, AdaIN"
        self._dtype = numpy_dtype(inputs["content"].type)
        self.static_size = static_size(inputs["content"].shape)
        self._style_size = static_size(inputs["style"].shape)
        self.alpha = alpha
        self.style_side = style_side
        self._style: np.ndarray | None = None
        if style is not None:
            self.set_style(style)

    def set_style(self, image: Any) -> None:
        """Use a new style image from the next frame on."""
        style = fit_frame(load_style(image, self.style_side), self._style_size)
        self._style = (frame_to_nchw(style) / np.float32(255)).astype(self._dtype)

    def run(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame with the current style and ``alpha``."""
        if self._style is None:
            raise UsageError("no style image yet: pass one when opening the backend, or call set_style(image)")
        alpha = np.array(_check_alpha(self.alpha), dtype=self._dtype)
        height, width = frame.shape[:2]
        content = (frame_to_nchw(fit_frame(frame, self.static_size)) / np.float32(255)).astype(self._dtype)
        y = self.session.run(None, {"content": content, "style": self._style, "alpha": alpha})[0]
        return nchw_to_frame(y.astype(np.float32) * 255, height, width)
