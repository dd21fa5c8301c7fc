"""The live loop end to end, in-process and headless: a generated clip and ../shared/video/ntu.mp4 through every
output at once (recording, MJPEG to a real HTTP client, virtual camera double, a window double driven by hot
keys), backend fallback, a camera lost mid-recording, AdaIN."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import av
import cv2
import numpy as np
import pytest
import torch
from model_factories import random_net
from video_clips import write_clip

from stylecam.cli.live import build_parser, build_session, validate
from stylecam.errors import ModelError
from stylecam.nets.adain import AdaINDecoder
from stylecam.nets.checkpoints import save_model
from stylecam.realtime import sources
from stylecam.realtime.mjpeg import BOUNDARY

LOAD_SECONDS = 300


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """PyTorch's OpenMP threads busy-wait; on two busy cores, beside the loop's own threads, one is faster (the
    stylecam command sets OMP_WAIT_POLICY=PASSIVE instead, which is too late once torch is loaded)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("live_models")
    paths = {"warm": folder / "warm.pth", "cool": folder / "cool.pth", "decoder": folder / "decoder.pth"}
    save_model(paths["warm"], random_net("fast", 0, 25.0))
    save_model(paths["cool"], random_net("fast", 1, -25.0))
    torch.manual_seed(2)
    save_model(paths["decoder"], AdaINDecoder("relu3_1"))
    return paths


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 2-second video of the test pattern (it loops in the tests)."""
    pattern = sources.TestPatternSource((192, 108), 30)
    return write_clip(tmp_path_factory.mktemp("live_clips") / "pattern.mp4",
                      [pattern.frame(i) for i in range(60)], fps=30)


def session_for(*argv: str | Path, window_factory=None):
    args = build_parser().parse_args([str(a) for a in argv])
    validate(args, check_display=window_factory is None)
    return build_session(args, window_factory=window_factory)


def video_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video file (proves it is complete and playable)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]


class FakeCamera:
    """Stands in for pyvirtualcam.Camera (no v4l2loopback device exists here)."""

    last: ClassVar[FakeCamera | None] = None

    def __init__(self, width, height, fps, fmt=None, device=None, print_fps=False):
        self.width, self.height, self.device = width, height, device or "/dev/video10 (fake)"
        self.frames = 0
        self.closed = False
        FakeCamera.last = self

    def send(self, frame):
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.frames += 1

    def close(self):
        self.closed = True


@pytest.fixture
def fake_pyvirtualcam(monkeypatch):
    module = types.ModuleType("pyvirtualcam")
    module.Camera = FakeCamera  # type: ignore[attr-defined]
    module.PixelFormat = types.SimpleNamespace(RGB="RGB")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyvirtualcam", module)
    return module


def read_stream(port: int, count: int, result: list) -> None:
    """Read ``count`` JPEGs from the MJPEG stream with http.client (run on a thread during the session)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/stream.mjpg")
    response = connection.getresponse()
    result.append(response.status)
    while len(result) < count + 1:
        line = response.readline()
        if not line:
            break
        if line.strip() != f"--{BOUNDARY}".encode():
            continue
        length = 0
        while (header := response.readline().strip()):
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
        result.append(cv2.imdecode(np.frombuffer(response.read(length), np.uint8), cv2.IMREAD_COLOR).shape)
    response.close()
    connection.close()


def test_generated_clip_to_every_output_at_once(models, clip, tmp_path, fake_pyvirtualcam, capsys):
    record = tmp_path / "live.mp4"
    session = session_for("--source", clip, "--fps", "60", "--style", models["warm"], "--size", "96x56",
                          "--no-window", "--max-frames", "200", "--record", record, "--serve", "127.0.0.1:0",
                          "--virtual-cam", "--warmup", "5")
    assert session.server is not None and session.server.port > 0
    streamed: list = []
    client = threading.Thread(target=read_stream, args=(session.server.port, 5, streamed))
    client.start()
    summary = session.run()
    client.join(10)
    err = capsys.readouterr().err
    assert "backend: onnx on cpu" in err and f"recorded {summary['recordings'][0]['frames']} frames" in err
    # stats
    assert summary["frames"] == 200 and summary["counted_frames"] == 195 and summary["stopped_by"] == "max-frames"
    assert summary["fps"] > 5 and summary["latency_ms"]["p50"] > 0
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"] <= summary["latency_ms"]["max"]
    assert summary["captured_frames"] >= summary["frames"] + summary["dropped_before_inference"] - 2
    assert summary["backend_name"] == "onnx" and summary["source_size"] == [192, 108]
    assert summary["processing_size"] == [96, 56] and summary["peak_rss_mb"] < 2048
    # the MJPEG stream, read by a real HTTP client while the loop ran: full source size
    assert streamed[0] == 200 and streamed[1:] == [(108, 192, 3)] * 5
    # the virtual camera saw the frames and was released
    assert FakeCamera.last is not None and FakeCamera.last.closed and FakeCamera.last.frames >= 150
    # the recording: complete, playable, every shown frame, at the source's size and real-time speed
    frames = video_frames(record)
    recording = summary["recordings"][0]
    assert len(frames) == recording["frames"] == summary["frames"] - recording["dropped"]
    assert recording["dropped"] == 0 and frames[0].shape == (108, 192, 3)
    assert abs(recording["seconds"] - summary["frames"] / 60) < 1.5
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.fixture
def cpu_load() -> Iterator[list[subprocess.Popen[bytes]]]:
    """One busy-looping process per core for the test's duration: each ends itself after LOAD_SECONDS at the
    latest, and is killed when the test ends, however it ends."""
    code = f"import time\nend = time.monotonic() + {LOAD_SECONDS}\nwhile time.monotonic() < end:\n    pass\n"
    workers = [subprocess.Popen([sys.executable, "-c", code]) for _ in os.sched_getaffinity(0)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()


def test_shared_clip_for_200_frames(models, shared_dir, tmp_path, cpu_load):
    """Recorded while every core is deliberately busy: the recording still holds every frame shown."""
    record = tmp_path / "ntu_live.mkv"
    session = session_for("--source", shared_dir / "video" / "ntu.mp4", "--style", models["cool"], "--backend",
                          "torch", "--size", "96x72", "--no-window", "--max-frames", "200", "--record", record)
    summary = session.run()
    assert all(worker.poll() is None for worker in cpu_load), "the load ended before the recording did"
    # 640×480 coded with non-square pixels: shown (and output) at 854×480
    assert summary["frames"] == 200 and summary["source_size"] == [854, 480]
    assert summary["backend_name"] == "torch" and summary["fps"] > 3
    assert summary["latency_ms"]["p95"] is not None and summary["dropped_frames"] >= 0
    frames = video_frames(record)
    assert len(frames) == summary["recordings"][0]["frames"] == 200
    assert frames[0].shape == (480, 854, 3) and 60 < frames[-1].mean() < 200


class ScriptedWindow:
    """A window double: shows frames, and presses the scripted keys after so many frames."""

    instance: ClassVar[ScriptedWindow | None] = None
    script: ClassVar[dict[int, str]] = {}

    def __init__(self, title, size, on_key, on_close):
        self.title, self.size, self.on_key, self.on_close = title, size, on_key, on_close
        self.frames: list[np.ndarray] = []
        self.closed = False
        self.pumped = 0
        ScriptedWindow.instance = self

    def show(self, frame):
        assert (frame.shape[1], frame.shape[0]) == self.size
        self.frames.append(frame)
        key = self.script.get(len(self.frames))
        if key:
            self.on_key(key)

    def pump(self):
        self.pumped += 1

    def close(self):
        self.closed = True


def test_hot_keys_through_the_window(models, tmp_path, capsys):
    ScriptedWindow.script = {10: "n", 20: "-", 21: "-", 30: "c", 40: "t", 50: "s", 60: "r", 90: "r", 95: "h",
                             100: "+", 110: "9", 130: "q"}
    session = session_for("--source", "test:128x72", "--fps", "60", "--style", models["warm"], models["cool"],
                          "--backend", "torch", "--snapshot-dir", tmp_path, "--stats-json", tmp_path / "s.json",
                          window_factory=ScriptedWindow)
    window = ScriptedWindow.instance
    assert window is not None and window.title == "stylecam - test pattern 128x72"
    summary = session.run()
    err = capsys.readouterr().err
    assert summary["stopped_by"] == "quit" and window.closed and window.pumped > 0
    assert summary["style"] == "cool"  # n switched from warm to cool; 9 does not exist
    assert summary["strength"] == pytest.approx(0.9)  # -, -, +
    assert summary["preserve_color"] and summary["smoothing"]
    snapshots = list(tmp_path.glob("stylecam-*.png"))
    assert len(snapshots) == 1 and "snapshot saved" in err
    recordings = list(tmp_path.glob("stylecam-*.mp4"))
    assert len(recordings) == 1 and 20 <= len(video_frames(recordings[0])) <= 31
    assert "no style 9: there are 2" not in err  # messages go to the overlay, not stderr
    snapshot = cv2.cvtColor(cv2.imread(str(snapshots[0])), cv2.COLOR_BGR2RGB)
    assert snapshot.shape == (72, 128, 3)
    # h hid the overlay; its lines say what is going on
    assert not session.overlay
    session.toggle_overlay()
    lines, _ = session.overlay_lines()
    assert lines[0].startswith("cool (2/2)  torch on cpu") and " fps  latency " in lines[1]
    assert lines[2] == "strength 90%  colour kept  smoothing"


def test_window_output_draws_the_overlay_only_when_asked():
    from stylecam.realtime.loop import Captured, Stylized
    from stylecam.realtime.outputs import WindowOutput

    frame = np.full((72, 128, 3), 180, np.uint8)
    item = Stylized(Captured(0, 0.0, frame), frame, 0, 0.01)
    lines: list = [(["warm (1/2)", "30.0 fps"], "saved x.png")]
    output = WindowOutput(lambda: lines[0])
    output.send(frame, item)
    shown = output.take(1.0)
    assert shown is not None and shown[:10, :40].mean() < 150 and np.array_equal(shown[-20:, -40:], frame[-20:, -40:])
    lines[0] = None
    output.send(frame, item)
    assert np.array_equal(output.take(1.0), frame)


def test_backend_that_fails_to_load_falls_back_to_torch(models, monkeypatch, capsys):
    from stylecam.export import onnx_export

    def broken(*args, **kwargs):
        raise ModelError("cannot export: broken graph")

    monkeypatch.setattr(onnx_export, "cached_johnson_onnx", broken)
    session = session_for("--source", "test:64x48", "--fps", "120", "--style", models["warm"], "--backend", "onnx",
                          "--no-window", "--max-frames", "10")
    summary = session.run()
    err = capsys.readouterr().err
    assert "the onnx backend cannot run warm (cannot export: broken graph); falling back to torch" in err
    assert summary["backend_name"] == "torch" and summary["frames"] == 10


def test_backend_that_fails_on_a_frame_falls_back_to_torch(models, monkeypatch, capsys):
    from stylecam.runtime.onnx_backend import OnnxBackend

    def explode(self, frame):
        raise RuntimeError("kaboom in the execution provider")

    monkeypatch.setattr(OnnxBackend, "run", explode)
    session = session_for("--source", "test:64x48", "--fps", "120", "--style", models["warm"], "--no-window",
                          "--max-frames", "10")
    summary = session.run()
    err = capsys.readouterr().err
    assert "failed on warm (RuntimeError: kaboom in the execution provider); falling back to torch" in err
    assert summary["backend_name"] == "torch" and summary["frames"] == 10


class DyingCamera:
    """A camera that is unplugged after ``frames`` frames."""

    def __init__(self, frames: int) -> None:
        self.pattern = sources.TestPatternSource((96, 64), 60)
        self.left = frames
        self.label, self.size, self.fps = "camera 0", (96, 64), 60.0

    def read(self):
        if self.left <= 0:
            raise sources.SourceError("camera 0 stopped delivering frames")
        self.left -= 1
        return self.pattern.read()

    def close(self):
        pass


def test_camera_lost_mid_recording_exits_cleanly(models, tmp_path, monkeypatch, capsys):
    record = tmp_path / "lost.mp4"

    def unplugged(*args, **kwargs):
        raise sources.SourceError("camera 0 cannot be opened")

    def fake_open_source(spec, *, stop=None, **kwargs):
        return sources.Reconnecting(DyingCamera(40), unplugged, retries=2, delays=(0.05,), stop=stop)

    monkeypatch.setattr(sources, "open_source", fake_open_source)
    session = session_for("--source", "0", "--style", models["warm"], "--backend", "torch", "--size", "64x40",
                          "--no-window", "--record", record)
    with pytest.raises(sources.SourceLost, match="camera 0 stopped delivering frames .* after 2 tries"):
        session.run()
    err = capsys.readouterr().err
    assert "reconnecting (1/2)" in err and "reconnecting (2/2)" in err
    assert session.summary is not None and session.summary["stopped_by"] == "error"
    frames = video_frames(record)
    assert 0 < len(frames) == session.summary["recordings"][0]["frames"] <= 40


def test_adain_style_images(models, shared_dir, capsys):
    styles = shared_dir / "images" / "styles"
    session = session_for("--source", "test:64x48", "--fps", "60", "--style-image", styles / "mosaic.jpg",
                          styles / "candy.jpg", "--decoder", models["decoder"], "--backend", "torch",
                          "--strength", "0.5", "--no-window", "--max-frames", "8")
    assert session.styles.kind == "adain" and [e.label for e in session.styles.entries] == ["mosaic", "candy"]
    summary = session.run()
    assert summary["frames"] == 8 and summary["style"] == "mosaic"
    assert session.styles.backend.alpha == 0.5
