"""ONNX Runtime for one stream of frames: the import (with the install hint) and the session options, shared by
the exporter's ``--check`` and the runtime's ONNX backends."""

from __future__ import annotations

import os
from typing import Any

from stylecam.errors import StylecamError


class OnnxRuntimeMissing(StylecamError):
    """Neither onnxruntime nor onnxruntime-gpu is installed (EX_UNAVAILABLE)."""

    exit_code = 69


def import_onnxruntime() -> Any:
    """The ``onnxruntime`` module, or OnnxRuntimeMissing saying which package to install."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise OnnxRuntimeMissing("ONNX Runtime is not installed: pip install 'stylecam[cpu]' "
                                 "(on an NVIDIA GPU: 'stylecam[gpu]', see the README)") from None
    if not hasattr(ort, "InferenceSession"):  # what uninstalling one of onnxruntime/onnxruntime-gpu leaves behind
        raise OnnxRuntimeMissing("ONNX Runtime is broken (two onnxruntime packages shared one folder): "
                                 "pip uninstall -y onnxruntime onnxruntime-gpu, then reinstall one")
    return ort


def default_threads() -> int:
    """Intra-op threads: the cores this process may use (2 on the development machine), at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def session_options(threads: int | None = None) -> Any:
    """Session options for one stream of frames: sequential execution, ``threads`` intra-op threads (default
    :func:`default_threads`), one inter-op thread, all graph optimisations, no busy-waiting between frames (the
    capture and encoding threads need those cores), warnings and errors only."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options
