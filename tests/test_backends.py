"""Backends behind one interface: open_backend's choices (auto, torch, onnx, tensorrt), the cached ONNX export of
.pth files, fallbacks with a notice, static-size graphs, AdaIN backends, and TensorRT where it exists."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from model_factories import random_net

from stylecam.errors import ModelError, UsageError
from stylecam.export.onnx_export import (
    ExportOptions,
    export_adain,
    export_johnson,
    write_onnx,
)
from stylecam.nets.adain import AdaINDecoder, AdaINModel
from stylecam.nets.checkpoints import save_model
from stylecam.nets.vgg import load_vgg
from stylecam.runtime import select
from stylecam.runtime.select import BACKEND_CHOICES, open_backend


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("backend_models")
    fast = folder / "fast.pth"
    save_model(fast, random_net())
    torch.manual_seed(1)
    decoder = folder / "decoder.pth"
    save_model(decoder, AdaINDecoder("relu3_1"))
    static = write_onnx(export_johnson(random_net(), ExportOptions(size=(96, 64))), folder / "fast_96x64.onnx")
    corrupt = folder / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07 definitely not a protobuf graph")
    return {"fast": fast, "decoder": decoder, "static": static, "corrupt": corrupt}


@pytest.fixture(scope="module")
def frame(shared_dir: Path) -> np.ndarray:
    import cv2

    from stylecam.imaging.io import read_image

    image = read_image(shared_dir / "images" / "content" / "tubingen.jpg", max_side=160, size_option=None)
    return cv2.resize(image, (118, 90), interpolation=cv2.INTER_AREA)  # sides not divisible by 4


@pytest.fixture(scope="module")
def style(shared_dir: Path) -> np.ndarray:
    from stylecam.imaging.io import read_image

    return read_image(shared_dir / "images" / "styles" / "mosaic.jpg", max_side=96, size_option=None)


def backend_notices(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("stylecam: backend:")]


def test_backend_choices_are_exported():
    assert BACKEND_CHOICES == ("auto", "torch", "onnx", "tensorrt")
    with pytest.raises(UsageError, match="unknown backend"):
        open_backend("whatever", backend="openvino")


def test_auto_on_cpu_exports_to_a_cached_onnx_and_matches_torch(files, frame, capsys):
    auto = open_backend(str(files["fast"]))
    err = capsys.readouterr().err
    assert auto.name == "onnx" and auto.device == "cpu"
    assert len(backend_notices(err)) == 1 and "onnx on cpu" in err
    import os

    assert auto.path.parent == Path(os.environ["STYLECAM_CACHE"]) / "onnx"
    assert auto.path.name.startswith("fast-") and auto.path.suffix == ".onnx"
    torch_backend = open_backend(str(files["fast"]), backend="torch")
    assert torch_backend.name == "torch"
    out_onnx, out_torch = auto.run(frame), torch_backend.run(frame)
    assert out_onnx.shape == frame.shape and out_onnx.dtype == np.uint8
    assert np.abs(out_onnx.astype(int) - out_torch).max() <= 1
    capsys.readouterr()
    again = open_backend(str(files["fast"]), backend="onnx")  # from the cache: no second export
    err = capsys.readouterr().err
    assert again.path == auto.path and "exporting" not in err


def test_onnx_file_runs_on_onnx_and_refuses_torch(files, frame):
    backend = open_backend(str(files["static"]))
    assert backend.name == "onnx" and backend.static_size == (96, 64)
    assert backend.run(frame).shape == frame.shape  # resized to the graph's size and back
    with pytest.raises(UsageError, match="onnx or tensorrt"):
        open_backend(str(files["static"]), backend="torch")


def test_corrupt_onnx_is_one_clear_error(files, capsys):
    with pytest.raises(ModelError, match="ONNX Runtime cannot load") as info:
        open_backend(str(files["corrupt"]))
    assert "\n" not in str(info.value)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        open_backend(str(tmp_path / "gone.onnx"))
    with pytest.raises(ModelError, match="unknown style"):
        open_backend("no_such_zoo_style")


def test_auto_falls_back_to_torch_when_onnx_runtime_fails(files, frame, monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise ModelError("simulated ONNX Runtime failure")

    monkeypatch.setattr(select, "_onnx_backend", broken)
    backend = open_backend(str(files["fast"]))
    err = capsys.readouterr().err
    assert backend.name == "torch" and getattr(backend, "compiled", False)
    assert "onnx backend unavailable (simulated ONNX Runtime failure)" in err
    assert len(backend_notices(err)) == 1 and "torch.compile" in backend_notices(err)[0]
    # compiling is slow on a CPU; check the guard instead: a failing compile falls back to eager once, with a notice
    monkeypatch.setattr(backend._compiled, "run", lambda _frame: (_ for _ in ()).throw(RuntimeError("no compiler")))
    out = backend.run(frame)
    assert out.shape == frame.shape and not backend.compiled
    assert "torch.compile failed (no compiler)" in capsys.readouterr().err
    with pytest.raises(ModelError, match="simulated"):  # asked for explicitly: no fallback
        open_backend(str(files["fast"]), backend="onnx")


def test_explicit_cpu_device_and_bad_devices(files):
    assert open_backend(str(files["static"]), device="cpu").device == "cpu"
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(UsageError, match="CUDA"):
            open_backend(str(files["static"]), backend="onnx", device="cuda")


def test_adain_backends_torch_and_onnx_agree(files, frame, style):
    onnx_backend = open_backend(str(files["decoder"]), backend="onnx", style=style, alpha=0.8)
    torch_backend = open_backend(str(files["decoder"]), backend="torch", style=style, alpha=0.8)
    a, b = onnx_backend.run(frame), torch_backend.run(frame)
    assert a.shape == frame.shape
    assert np.abs(a.astype(int) - b).max() <= 1
    onnx_backend.alpha = torch_backend.alpha = 0.0  # alpha 0: content features decoded unchanged
    assert np.abs(onnx_backend.run(frame).astype(int) - torch_backend.run(frame)).max() <= 1
    onnx_backend.set_style(np.ascontiguousarray(style[::-1]))
    onnx_backend.alpha = 2.0
    with pytest.raises(UsageError, match="alpha"):
        onnx_backend.run(frame)


def test_adain_backend_needs_a_style(files, frame):
    backend = open_backend(str(files["decoder"]), backend="torch")
    with pytest.raises(UsageError, match="set_style"):
        backend.run(frame)


def test_onnx_adain_graph_file_with_static_size(tmp_path, frame, style):
    torch.manual_seed(1)
    model = AdaINModel(load_vgg(), AdaINDecoder("relu3_1")).eval()
    path = write_onnx(export_adain(model, ExportOptions(size=(96, 64))), tmp_path / "adain_96x64.onnx")
    backend = open_backend(str(path), style=style)
    assert type(backend).__name__ == "OnnxAdaINBackend"
    assert backend.run(frame).shape == frame.shape


def test_tensorrt_backend_unavailable_is_clear(files, tmp_path):
    from stylecam.export.tensorrt_build import TensorRTUnavailable, unavailable_reason

    if unavailable_reason() is None:
        pytest.skip("TensorRT and a GPU are present here")
    with pytest.raises(TensorRTUnavailable):
        open_backend(str(files["fast"]), backend="tensorrt")
    engine = tmp_path / "x.engine"
    engine.write_bytes(b"engine")
    with pytest.raises(TensorRTUnavailable):
        open_backend(str(engine))
    with pytest.raises(UsageError, match="tensorrt backend"):
        open_backend(str(engine), backend="onnx")


def _tensorrt_reason() -> str | None:
    from stylecam.export.tensorrt_build import unavailable_reason

    return unavailable_reason()


@pytest.mark.skipif(_tensorrt_reason() is not None, reason=f"TensorRT unavailable: {_tensorrt_reason()}")
def test_tensorrt_auto_builds_cached_engine_and_matches_torch(files, frame, capsys):
    backend = open_backend(str(files["fast"]))
    assert backend.name == "tensorrt"
    reference = open_backend(str(files["fast"]), backend="torch", device="cuda")
    assert np.abs(backend.run(frame).astype(int) - reference.run(frame)).max() <= 12  # FP16 engine
    again = open_backend(str(files["fast"]), backend="tensorrt")
    assert again.path == backend.path  # from the engine cache


def test_onnx_gpu_providers_listed_only_when_available():
    from stylecam.runtime.onnx_backend import choose_providers

    assert choose_providers("cpu") == ["CPUExecutionProvider"]
    assert choose_providers("auto", available=["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    providers = choose_providers("cuda:1", available=["TensorrtExecutionProvider", "CUDAExecutionProvider",
                                                      "CPUExecutionProvider"])
    trt_name, trt_options = providers[0]
    assert trt_name == "TensorrtExecutionProvider" and trt_options["trt_engine_cache_enable"]
    assert trt_options["trt_fp16_enable"] and trt_options["device_id"] == 1
    assert providers[1] == ("CUDAExecutionProvider", {"device_id": 1}) and providers[2] == "CPUExecutionProvider"


@pytest.fixture
def nvidia_machine(monkeypatch):
    """What an NVIDIA machine with the GPU install has, faked only where CUDA itself is missing here: PyTorch
    sees a GPU, the tensorrt wheel imports, ONNX Runtime lists its TensorRT and CUDA providers. Everything else
    (the selection, the notices, the fallbacks) is the real code."""
    import types

    import onnxruntime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setitem(sys.modules, "tensorrt", types.SimpleNamespace(__version__="10.9.0"))
    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    return onnxruntime


def test_auto_order_on_an_nvidia_machine(files, nvidia_machine, monkeypatch):
    johnson, decoder = select.resolve_source(str(files["fast"])), select.resolve_source(str(files["decoder"]))
    graph = select.resolve_source(str(files["static"]))
    assert select._candidates(johnson, "auto", "auto") == ["tensorrt", "onnx", "torch"]
    assert select._candidates(decoder, "auto", "cuda") == ["tensorrt", "onnx", "torch"]
    assert select._candidates(graph, "auto", "auto") == ["tensorrt", "onnx"]
    assert select._candidates(johnson, "auto", "cpu") == ["onnx", "torch-compiled"]  # --device cpu: the CPU order
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # no tensorrt wheel: import fails
    assert select._candidates(johnson, "auto", "auto") == ["onnx", "torch"]
    monkeypatch.setattr(nvidia_machine, "get_available_providers", lambda: ["CPUExecutionProvider"])  # CPU build
    assert select._candidates(johnson, "auto", "auto") == ["torch"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select._candidates(johnson, "auto", "auto") == ["onnx", "torch-compiled"]


def test_auto_on_an_nvidia_machine_tries_tensorrt_then_onnx_runtime(files, frame, nvidia_machine, capsys):
    """The real chain under the fakes: TensorRT fails where CUDA is needed, so ONNX Runtime is next, asked for its
    TensorRT and CUDA providers first (this CPU build runs it on the CPU)."""
    backend = open_backend(str(files["fast"]))
    err = capsys.readouterr().err
    assert "tensorrt backend unavailable" in err and "trying onnx" in err
    assert backend.name == "onnx" and backend.run(frame).shape == frame.shape
    assert backend_notices(err) == [f"stylecam: backend: {select.describe(backend)} for fast"]


def _onnx_gpu_reason() -> str | None:
    from stylecam.export.ort_session import OnnxRuntimeMissing, import_onnxruntime

    try:
        providers = import_onnxruntime().get_available_providers()
    except OnnxRuntimeMissing as exc:
        return str(exc)
    if not torch.cuda.is_available():
        return "no CUDA GPU here"
    return None if "CUDAExecutionProvider" in providers else "this ONNX Runtime has no CUDA provider (onnxruntime-gpu)"


@pytest.mark.skipif(_onnx_gpu_reason() is not None, reason=f"ONNX Runtime on CUDA unavailable: {_onnx_gpu_reason()}")
def test_onnx_runtime_on_cuda_matches_torch(files, frame):
    backend = open_backend(str(files["fast"]), backend="onnx", device="cuda")
    assert backend.device == "cuda" and backend.provider in ("TensorrtExecutionProvider", "CUDAExecutionProvider")
    reference = open_backend(str(files["fast"]), backend="torch", device="cuda")
    assert np.abs(backend.run(frame).astype(int) - reference.run(frame)).max() <= 12  # FP16 on TensorRT EP
