"""Real-time building blocks on their own: hot keys, statistics, hand-over slots, overlay, effects, smoothing,
sources (test pattern, files, streams, cameras, reconnection), the MJPEG server through a real HTTP client, and
the virtual-camera adapter against a stand-in pyvirtualcam module."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

import av
import cv2
import numpy as np
import pytest
from video_clips import write_clip

from stylecam.errors import InputError, OutputError, UsageError
from stylecam.realtime import keys, sources
from stylecam.realtime.effects import add_change, keep_colors, mix, shrink
from stylecam.realtime.loop import LatestSlot
from stylecam.realtime.mjpeg import BOUNDARY, MjpegServer, parse_address
from stylecam.realtime.overlay import draw_overlay
from stylecam.realtime.recorder import QUEUE_BYTES, Recording, queue_frames
from stylecam.realtime.session import default_processing_size
from stylecam.realtime.smoothing import LiveSmoother
from stylecam.realtime.stats import LiveStats, percentile
from stylecam.realtime.tuning import passive_openmp, tune_allocator
from stylecam.realtime.virtualcam import install_hint, open_virtual_camera

# ------------------------------------------------------------------------------------------------------ keys


class Recorder:
    """A Controllable that writes down what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __getattr__(self, name: str):
        return lambda *args: self.calls.append((name, args[0] if args else None))


def test_every_documented_key_has_its_action():
    target = Recorder()
    handler = keys.KeyHandler(target)  # type: ignore[arg-type]
    for key in ["n", "p", "1", "9", "+", "-", "c", "t", "s", "r", "h", "q", "escape", "N", "x", ""]:
        handler.handle(key)
    assert target.calls == [
        ("next_style", 1), ("next_style", -1), ("select_style", 0), ("select_style", 8),
        ("change_strength", keys.STRENGTH_STEP), ("change_strength", -keys.STRENGTH_STEP),
        ("toggle_color", None), ("toggle_smoothing", None), ("snapshot", None), ("toggle_recording", None),
        ("toggle_overlay", None), ("quit", None), ("quit", None), ("next_style", 1),
    ]


def test_toolkit_key_events_translate():
    assert keys.key_from_tk("Escape", "\x1b") == "escape"
    assert keys.key_from_tk("plus", "+") == "+"
    assert keys.key_from_tk("KP_Add", "+") == "+"
    assert keys.key_from_tk("KP_Subtract", "-") == "-"
    assert keys.key_from_tk("KP_3", "") == "3"
    assert keys.key_from_tk("equal", "=") == "="
    assert keys.key_from_tk("n", "n") == "n"
    assert keys.key_from_tk("Shift_L", "") == ""
    assert keys.action_for(keys.key_from_tk("equal", "=")) is keys.STRONGER
    assert keys.key_from_terminal("\x1b") == "escape" and keys.key_from_terminal("q") == "q"


# ----------------------------------------------------------------------------------------- stats and slots


def test_stats_percentiles_fps_and_drops():
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([5], 95) == 5
    stats = LiveStats(warmup=2)
    start = 100.0
    for i in range(12):
        stats.captured_frame(replaced=i % 4 == 3)
        stats.shown_frame(captured_at=start + i / 10 - 0.05 - 0.001 * i, inference_s=0.03, now=start + i / 10)
    stats.output_replaced()
    summary = stats.summary(backend="x")
    assert summary["frames"] == 12 and summary["counted_frames"] == 10 and summary["warmup_frames"] == 2
    assert summary["fps"] == pytest.approx(10.0)
    assert summary["latency_ms"]["p50"] == pytest.approx(50 + 6.5, abs=0.01)
    assert summary["latency_ms"]["max"] == pytest.approx(61.0)
    assert summary["dropped_frames"] == 4 and summary["dropped_after_inference"] == 1
    assert summary["backend"] == "x" and summary["peak_rss_mb"] > 10
    json.dumps(summary)


def test_latest_slot_newest_wins_and_close_wakes():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is False and slot.put(2) is True
    assert slot.get(0.01) == 2 and slot.get(0.01) is None
    waiter_result: list[int | None] = []
    thread = threading.Thread(target=lambda: waiter_result.append(slot.get(5)))
    thread.start()
    time.sleep(0.05)
    slot.close()
    thread.join(2)
    assert waiter_result == [None]


# ------------------------------------------------------------------------------------------- image pieces


def test_overlay_draws_top_left_only():
    frame = np.full((180, 320, 3), 200, np.uint8)
    out = draw_overlay(frame, ["mosaic (1/3)  onnx on cpu", "25.0 fps"], "saved x.png")
    assert out.shape == frame.shape and np.array_equal(frame, np.full_like(frame, 200))  # input untouched
    assert (out[:10, :40] != 200).any() and np.array_equal(out[-40:, -100:], frame[-40:, -100:])
    assert np.array_equal(draw_overlay(frame, []), frame)


def test_strength_mix_and_colour_preservation():
    content = np.zeros((8, 8, 3), np.uint8)
    content[..., 0] = 200  # red
    styled = np.full((8, 8, 3), 100, np.uint8)  # grey
    assert np.array_equal(mix(styled, content, 1.0), styled)
    assert np.array_equal(mix(styled, content, 0.0), content)
    assert np.abs(mix(styled, content, 0.5).astype(int) - [150, 50, 50]).max() <= 1
    kept = keep_colors(styled, content)
    assert kept[..., 0].mean() > kept[..., 1].mean() + 40  # the content's red came back
    luma = cv2.cvtColor(kept, cv2.COLOR_RGB2GRAY).astype(int)
    assert np.abs(luma - 100).max() <= 3  # with the stylized frame's brightness


def test_net_scale_keeps_the_photos_edges_and_adds_only_the_networks_change():
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[::2, :, :] = 200  # one-pixel stripes: gone in any half-size copy
    small = shrink(frame, 0.5)
    assert small.shape == (48, 80, 3)  # 45 → 48: multiples of 8, the fast tier's stride
    assert np.array_equal(add_change(frame, small, small), frame)  # a network that changes nothing
    brighter = np.clip(small.astype(int) + 30, 0, 255).astype(np.uint8)
    out = add_change(frame, small, brighter)
    assert np.abs(out.astype(int) - np.clip(frame.astype(int) + 30, 0, 255)).max() <= 1  # stripes intact
    naive = cv2.resize(brighter, (160, 90), interpolation=cv2.INTER_LINEAR)
    assert np.abs(naive.astype(int) - out.astype(int)).mean() > 50  # what plain upscaling would have lost


def test_default_processing_size():
    assert default_processing_size((1280, 720)) == (640, 360)
    assert default_processing_size((640, 480)) == (640, 480)
    assert default_processing_size((320, 184)) == (320, 184)
    assert default_processing_size((320, 180)) == (320, 176)  # sides are multiples of the fast tier's stride, 8
    assert default_processing_size((1920, 1080), 320) == (320, 176)


def test_smoothing_follows_motion_and_damps_flicker():
    pattern = sources.TestPatternSource((160, 90), 30)
    smoother = LiveSmoother(weight=0.6, flow_side=160)
    rng = np.random.default_rng(0)
    raw_changes, smooth_changes = [], []
    previous_raw = previous_out = None
    for i in range(8):
        frame = pattern.frame(i)
        styled = np.clip(frame.astype(int) + rng.integers(-40, 41, frame.shape), 0, 255).astype(np.uint8)
        out = smoother(frame, styled)
        assert out.shape == frame.shape and out.dtype == np.uint8
        if previous_raw is not None:
            raw_changes.append(np.abs(styled.astype(int) - previous_raw).mean())
            smooth_changes.append(np.abs(out.astype(int) - previous_out).mean())
        previous_raw, previous_out = styled.astype(int), out.astype(int)
    assert np.mean(smooth_changes[2:]) < 0.8 * np.mean(raw_changes[2:])  # less flicker
    smoother.reset()
    assert smoother(pattern.frame(0), pattern.frame(0)) is not None


def test_allocator_tuning_is_safe(monkeypatch):
    monkeypatch.setenv("STYLECAM_MALLOC", "default")
    assert "left alone" in tune_allocator()
    monkeypatch.delenv("STYLECAM_MALLOC")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1")
    assert "GLIBC_TUNABLES" in tune_allocator()
    monkeypatch.delenv("GLIBC_TUNABLES")
    result = tune_allocator()
    if sys.platform.startswith("linux"):
        assert "tuned" in result or "left alone" in result
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert passive_openmp() is False  # torch is loaded in this process: too late, left alone


# ----------------------------------------------------------------------------------------------- sources


def test_source_specs():
    assert sources.parse_source(None) == sources.SourceSpec("camera", None)
    assert sources.parse_source("2") == sources.SourceSpec("camera", 2)
    assert sources.parse_source("/dev/video4") == sources.SourceSpec("camera", "/dev/video4")
    assert sources.parse_source("test") == sources.SourceSpec("test", (640, 360))
    assert sources.parse_source("test:320x180") == sources.SourceSpec("test", (320, 180))
    assert sources.parse_source("rtsp://cam/x").kind == "url"
    assert sources.parse_source("http://h:8080/stream.mjpg").kind == "url"
    assert sources.parse_source("clip.mp4") == sources.SourceSpec("file", Path("clip.mp4"))
    with pytest.raises(UsageError, match="scheme"):
        sources.parse_source("gopher://x")
    with pytest.raises(UsageError, match="WIDTHxHEIGHT"):
        sources.parse_source("test:big")
    with pytest.raises(InputError, match="no such file"):
        sources.open_source(sources.parse_source("/nonexistent/clip.mp4"))


def test_test_pattern_moves_and_is_paced():
    pattern = sources.TestPatternSource((320, 180), fps=50)
    first, second = pattern.frame(0), pattern.frame(5)
    assert first.shape == (180, 320, 3) and np.abs(first.astype(int) - second).mean() > 5
    assert np.array_equal(pattern.frame(5), second)
    start = time.monotonic()
    for _ in range(11):
        pattern.read()
    assert 0.15 < time.monotonic() - start < 1.0  # 10 periods of 20 ms


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    pattern = sources.TestPatternSource((160, 96), 30)
    return write_clip(tmp_path_factory.mktemp("clips") / "pattern.mp4", [pattern.frame(i) for i in range(20)], fps=30)


def test_video_file_source_loops(short_clip):
    source = sources.open_source(sources.parse_source(str(short_clip)), fps=240)
    assert source.size == (160, 96) and source.fps == 240
    frames = [source.read() for _ in range(45)]
    assert source.loops == 2 and all(f.shape == (96, 160, 3) for f in frames)
    assert np.abs(frames[0].astype(int) - frames[20]).mean() < 2  # the loop starts over
    source.close()


def test_unreadable_files_and_urls_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(InputError, match="junk.mp4"):
        sources.open_source(sources.parse_source(str(junk)))
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(InputError, match=rf"cannot open http://127.0.0.1:{port}/x.mjpg: .*refused"):
        sources.open_source(sources.parse_source(f"http://127.0.0.1:{port}/x.mjpg"))
    assert time.monotonic() - start < 10


def test_no_camera_says_what_was_tried(monkeypatch):
    def no_camera(index, size, fps):
        raise sources.SourceError(f"camera {index} cannot be opened")

    with pytest.raises(InputError) as info:
        sources.find_camera((0, 1, 2, 3), opener=no_camera)
    message = str(info.value)
    assert "tried indices 0, 1, 2, 3" in message and "--source N" in message and "--source test" in message
    monkeypatch.setattr(sources, "CameraSource", no_camera)
    with pytest.raises(InputError, match=r"camera 7 cannot be opened \(tried 7"):
        sources.open_source(sources.SourceSpec("camera", 7))


class FlakySource:
    """Delivers ``frames`` frames, then fails as an unplugged camera does."""

    def __init__(self, frames: int, value: int = 0) -> None:
        self.left, self.value = frames, value
        self.label, self.size, self.fps = "flaky camera", (32, 16), 30.0
        self.closed = False

    def read(self) -> np.ndarray:
        if self.left <= 0:
            raise sources.SourceError("camera stopped delivering frames")
        self.left -= 1
        return np.full((16, 32, 3), self.value, np.uint8)

    def close(self) -> None:
        self.closed = True


def test_reconnecting_source_retries_then_gives_up(capsys):
    reopened: list[FlakySource] = []

    def reopen() -> FlakySource:
        if len(reopened) < 1:
            reopened.append(FlakySource(2, value=7))
            return reopened[-1]
        raise sources.SourceError("camera 0 cannot be opened")

    first = FlakySource(2)
    source = sources.Reconnecting(first, reopen, retries=3, delays=(0.01,))
    values = [int(source.read()[0, 0, 0]) for _ in range(4)]
    assert values == [0, 0, 7, 7] and first.closed and source.reconnects == 1
    with pytest.raises(sources.SourceLost, match="did not come back after 3 tries") as info:
        source.read()
    assert info.value.exit_code == 74
    err = capsys.readouterr().err
    assert "reconnecting (1/3)" in err and "reconnected" in err and "reconnecting (3/3)" in err


def test_stream_source_reads_an_mjpeg_stream():
    server = MjpegServer("127.0.0.1", 0)
    pattern = sources.TestPatternSource((160, 96), 60)
    stop = threading.Event()
    feeder = threading.Thread(target=lambda: [server.publish(pattern.read()) for _ in iter(stop.is_set, True)],
                              daemon=True)
    feeder.start()
    try:
        source = sources.open_source(sources.parse_source(server.url + "stream.mjpg"))
        assert source.size == (160, 96)
        frames = [source.read() for _ in range(5)]
        assert all(f.shape == (96, 160, 3) for f in frames)
        source.close()
    finally:
        stop.set()
        feeder.join(2)
        server.close()


# ------------------------------------------------------------------------------------------------- MJPEG


def read_parts(response: http.client.HTTPResponse, count: int) -> list[bytes]:
    """The first ``count`` JPEG parts of a multipart/x-mixed-replace response."""
    parts = []
    while len(parts) < count:
        line = response.readline()
        if not line:
            break
        if line.strip() != f"--{BOUNDARY}".encode():
            continue
        headers = {}
        while (line := response.readline().strip()):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        parts.append(response.read(int(headers["content-length"])))
    return parts


def test_mjpeg_server_page_stream_snapshot_and_stats():
    server = MjpegServer("127.0.0.1", 0, title="stylecam <test>", stats=lambda: {"fps": 12.5})
    pattern = sources.TestPatternSource((160, 96), 60)
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/"
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            server.publish(pattern.read())

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        with urllib.request.urlopen(server.url, timeout=5) as page:
            body = page.read().decode()
            assert page.headers["Content-Type"].startswith("text/html")
            assert '<img src="/stream.mjpg"' in body and "stylecam &lt;test&gt;" in body
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/stream.mjpg")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        jpegs = read_parts(response, 3)
        decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs]
        assert len(decoded) == 3 and all(d.shape == (96, 160, 3) for d in decoded)
        assert server.clients == 1
        response.close()
        connection.close()
        with urllib.request.urlopen(server.url + "snapshot.jpg", timeout=5) as snap:
            image = cv2.imdecode(np.frombuffer(snap.read(), np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (96, 160, 3)
        with urllib.request.urlopen(server.url + "stats.json", timeout=5) as stats:
            assert json.load(stats) == {"fps": 12.5}
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url + "nothing", timeout=5)
        assert missing.value.code == 404
        deadline = time.monotonic() + 3
        while server.clients and time.monotonic() < deadline:  # the stream's thread notices the hang-up
            time.sleep(0.05)
        assert server.clients == 0
    finally:
        stop.set()
        feeder.join(2)
        server.close()


def test_mjpeg_port_in_use_and_bad_addresses():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OutputError, match=rf"127.0.0.1:{port}: the port is in use"):
            MjpegServer("127.0.0.1", port)
    assert parse_address("8080") == ("127.0.0.1", 8080)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    with pytest.raises(UsageError, match="HOST:PORT"):
        parse_address("localhost:http")


# ------------------------------------------------------------------------------------ virtual camera adapter


class FakeCamera:
    """Stands in for pyvirtualcam.Camera."""

    instances: ClassVar[list[FakeCamera]] = []

    def __init__(self, width, height, fps, fmt=None, device=None, print_fps=False, **kwargs):
        self.width, self.height, self.fps, self.fmt = width, height, fps, fmt
        self.device = device or "/dev/video10"
        self.frames: list[np.ndarray] = []
        self.closed = False
        FakeCamera.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.frames.append(frame)

    def close(self) -> None:
        self.closed = True


def fake_pyvirtualcam(camera_class) -> types.ModuleType:
    module = types.ModuleType("pyvirtualcam")
    module.Camera = camera_class  # type: ignore[attr-defined]
    module.PixelFormat = types.SimpleNamespace(RGB="RGB", BGR="BGR")  # type: ignore[attr-defined]
    return module


def test_virtual_camera_adapter_sends_rgb_frames(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake_pyvirtualcam(FakeCamera))
    camera = open_virtual_camera(64, 48, 30.0)
    fake = FakeCamera.instances[-1]
    assert fake.fmt == "RGB" and camera.device == "/dev/video10"
    camera.send(np.zeros((48, 64, 3), np.uint8))
    camera.send(np.zeros((96, 128, 3), np.uint8))  # resized to the camera's size
    camera.close()
    assert len(fake.frames) == 2 and fake.closed


def test_missing_virtual_camera_driver_says_what_to_install(monkeypatch):
    def no_device(*args, **kwargs):
        raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe v4l2loopback'?")

    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake_pyvirtualcam(no_device))
    with pytest.raises(OutputError, match="modprobe v4l2loopback") as linux:
        open_virtual_camera(64, 48, 30.0, platform="linux")
    assert "No v4l2 loopback device found" in str(linux.value)
    with pytest.raises(OutputError, match="install OBS Studio 26"):
        open_virtual_camera(64, 48, 30.0, platform="win32")
    with pytest.raises(OutputError, match="start its Virtual Camera once"):
        open_virtual_camera(64, 48, 30.0, platform="darwin")
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # not installed
    with pytest.raises(OutputError, match=r"pip install 'stylecam\[virtualcam\]'"):
        open_virtual_camera(64, 48, 30.0)
    assert "v4l2loopback" in install_hint("linux")


# -------------------------------------------------------------------------------------------------- recorder


def test_recorder_queue_holds_seconds_of_frames():
    assert queue_frames((854, 480), QUEUE_BYTES) == 436  # 7 s at 60 fps before anything is dropped
    assert queue_frames((1920, 1080), QUEUE_BYTES) == 86 and queue_frames((8192, 8192), QUEUE_BYTES) == 2
    assert queue_frames((8192, 8192), 1) == 1


def test_recording_that_falls_far_behind_drops_and_counts(tmp_path):
    """Frames handed faster than x264 encodes them, into a queue of two: the overflow is dropped and counted, and
    the file holds exactly the frames counted as recorded."""
    size = (320, 240)
    recording = Recording(tmp_path / "burst.mp4", size, 30, queue_bytes=2 * size[0] * size[1] * 3)
    frame = sources.TestPatternSource(size, 30).frame(0)
    for index in range(100):
        recording.add(frame, index / 30)
    assert recording.finish() == tmp_path / "burst.mp4"
    assert recording.dropped > 0 and recording.frames + recording.dropped == 100
    with av.open(str(tmp_path / "burst.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == recording.frames
