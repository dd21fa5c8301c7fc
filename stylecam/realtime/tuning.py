"""Process settings the live app makes for itself, at start-up, before the heavy libraries load.

Allocator. glibc's malloc hands every large freed block (a network activation) back to the OS and maps it again
for the next frame: page faults and zeroing on every frame. :func:`tune_allocator` raises the mmap threshold
(blocks below it come from the heap and are reused) and the trim threshold (freed heap memory is kept) with
``mallopt`` — the same as ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…:glibc.malloc.trim_threshold=…``, but
applied from inside the process, with no re-exec. It matters for eager PyTorch; ONNX Runtime has its own arena.
The cost: resident memory stays at its peak instead of shrinking between frames. Skipped on other platforms and
C libraries, when ``GLIBC_TUNABLES`` already sets either threshold (the user's choice wins), and when
``STYLECAM_MALLOC=default``.

OpenMP. PyTorch's CPU threads (GNU OpenMP) busy-wait between operations. In a live app they share two cores with
the capture, output and encoder threads (and whatever else runs), and spinning threads then starve the very
threads they wait for: eager PyTorch on a loaded two-core machine measured 1.6 s per 96×72 frame spinning and
12 ms with ``OMP_WAIT_POLICY=PASSIVE``. :func:`passive_openmp` sets that default (an explicit setting wins) before
torch is imported; it has no effect on an already-initialised OpenMP runtime.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30
"""Blocks up to 1 GiB come from the reusable heap (a 1280×720×32 float32 activation is 118 MB)."""
TRIM_THRESHOLD = (1 << 31) - 1
ENV_SWITCH = "STYLECAM_MALLOC"


def tune_allocator() -> str:
    """Apply the thresholds if possible; returns what was done (for tests and debugging)."""
    if os.environ.get(ENV_SWITCH, "").lower() == "default":
        return f"allocator left alone ({ENV_SWITCH}=default)"
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return "allocator left alone (not glibc)"
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if "mmap_threshold" in tunables or "trim_threshold" in tunables:
        return "allocator left alone (GLIBC_TUNABLES sets it)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError):
        return "allocator left alone (mallopt unavailable)"
    return "allocator tuned (mmap and trim thresholds raised)" if ok else "allocator left alone (mallopt refused)"


def passive_openmp() -> bool:
    """Default ``OMP_WAIT_POLICY`` to PASSIVE; True if this call set it (False: set already, or torch loaded)."""
    if "OMP_WAIT_POLICY" in os.environ or "torch" in sys.modules:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True
