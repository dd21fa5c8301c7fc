"""Live statistics: throughput, end-to-end latency percentiles, dropped frames, peak memory.

Latency is measured per shown frame from the moment the source delivered it to the moment the finished frame was
handed to the outputs (capture, resize, inference, effects, upscaling). Frames the loop skipped because a newer
one was ready (latest-frame-wins) count as dropped, and never add latency.
"""

from __future__ import annotations

import math
import resource
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

RECENT_WINDOW_S = 1.0
"""Seconds over which the live (overlay) frame rate is measured."""
SAMPLES = 100_000
"""Latency and inference samples kept for the percentiles (the last ~55 minutes at 30 fps): memory stays bounded
however long a session runs."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values`` with linear interpolation (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _summary(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    return {
        "p50": round(percentile(values, 50), 2), "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2), "mean": round(sum(values) / len(values), 2),
        "max": round(max(values), 2),
    }


class LiveStats:
    """Thread-safe counters for one run. ``warmup`` first shown frames are left out of fps and percentiles."""

    def __init__(self, warmup: int = 0) -> None:
        self.warmup = warmup
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.captured = 0
        self.dropped_before_inference = 0
        self.dropped_after_inference = 0
        self.shown = 0
        self._latencies_ms: deque[float] = deque(maxlen=SAMPLES)
        self._inference_ms: deque[float] = deque(maxlen=SAMPLES)
        self._counted_first: float | None = None
        self._counted_last: float | None = None
        self._counted = 0
        self._recent: deque[float] = deque()
        self._recent_latency: deque[float] = deque(maxlen=30)

    def captured_frame(self, replaced: bool) -> None:
        """A frame came from the source; ``replaced`` when it overwrote one inference never took."""
        with self._lock:
            self.captured += 1
            self.dropped_before_inference += replaced

    def output_replaced(self) -> None:
        """A stylized frame was overwritten before the outputs took it."""
        with self._lock:
            self.dropped_after_inference += 1

    def shown_frame(self, captured_at: float, inference_s: float, now: float | None = None) -> None:
        """A finished frame was handed to the outputs."""
        now = time.monotonic() if now is None else now
        latency = 1000 * (now - captured_at)
        with self._lock:
            self.shown += 1
            self._recent.append(now)
            while self._recent and now - self._recent[0] > RECENT_WINDOW_S:
                self._recent.popleft()
            self._recent_latency.append(latency)
            if self.shown <= self.warmup:
                return
            if self._counted_first is None:
                self._counted_first = now
            self._counted_last = now
            self._counted += 1
            self._latencies_ms.append(latency)
            self._inference_ms.append(1000 * inference_s)

    @property
    def dropped(self) -> int:
        """Frames from the source that were never shown."""
        with self._lock:
            return self.dropped_before_inference + self.dropped_after_inference

    def live_fps(self) -> float:
        """Frames shown over the last second."""
        with self._lock:
            if len(self._recent) < 2:
                return 0.0
            span = self._recent[-1] - self._recent[0]
            return (len(self._recent) - 1) / span if span > 0 else 0.0

    def live_latency_ms(self) -> float:
        """Median latency of the last 30 shown frames."""
        with self._lock:
            return percentile(list(self._recent_latency), 50) if self._recent_latency else math.nan

    def fps(self) -> float:
        """Shown frames per second after the warm-up (intervals between the first and last counted frame)."""
        with self._lock:
            if self._counted < 2 or self._counted_first is None or self._counted_last is None:
                return 0.0
            span = self._counted_last - self._counted_first
            return (self._counted - 1) / span if span > 0 else 0.0

    def summary(self, **extra: Any) -> dict[str, Any]:
        """Everything as a JSON-ready dict (``extra`` keys are added: backend, source, sizes …)."""
        fps = self.fps()
        with self._lock:
            latencies = list(self._latencies_ms)
            inference = list(self._inference_ms)
            result: dict[str, Any] = {
                "frames": self.shown,
                "counted_frames": self._counted,
                "warmup_frames": min(self.warmup, self.shown),
                "seconds": round(time.monotonic() - self.started, 3),
                "fps": round(fps, 2),
                "latency_ms": _summary(latencies),
                "inference_ms": _summary(inference),
                "captured_frames": self.captured,
                "dropped_frames": self.dropped_before_inference + self.dropped_after_inference,
                "dropped_before_inference": self.dropped_before_inference,
                "dropped_after_inference": self.dropped_after_inference,
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        result.update(extra)
        return result
