"""The ``stylecam`` command as a user runs it (subprocesses): stats JSON, one-line errors with their exit codes
(no display, no camera, unreadable URL, port in use, no virtual-camera driver), Ctrl-C leaving a playable
recording, and the real Tk window under Xvfb (skipped where Xvfb is not installed)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from child_processes import default_sigint
from model_factories import random_net

from stylecam.nets.checkpoints import save_model
from stylecam.realtime.sources import video_devices
from stylecam.realtime.virtualcam import install_hint

CODE = "import sys; from stylecam.cli.live import main; sys.exit(main())"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli_models") / "midtone.pth"
    save_model(path, random_net())
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for the command: no display, a private ONNX cache, no trained models in the zoo."""
    base = tmp_path_factory.mktemp("cli_env")
    variables = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    variables.update(STYLECAM_CACHE=str(base / "cache"), PYTHONUNBUFFERED="1")
    return variables


def stylecam(*args: str | Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CODE, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("stylecam: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_headless_run_writes_stats_and_says_the_backend(model, env, tmp_path):
    stats = tmp_path / "stats.json"
    result = stylecam("--source", "test:160x90", "--style", model, "--no-window", "--max-frames", "40",
                      "--stats-json", stats, "--warmup", "3", env=env)
    assert result.returncode == 0, result.stderr
    backend_lines = [line for line in result.stderr.splitlines() if line.startswith("stylecam: backend:")]
    assert len(backend_lines) == 1 and "onnx on cpu" in backend_lines[0]
    summary = json.loads(stats.read_text())
    assert summary["frames"] == 40 and summary["counted_frames"] == 37 and summary["fps"] > 3
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99", "mean", "max"}
    assert summary["dropped_frames"] >= 0 and summary["peak_rss_mb"] > 50
    assert summary["backend"].startswith("onnx on cpu") and summary["stopped_by"] == "max-frames"
    assert "40 frames in" in result.stderr.splitlines()[-1]


def test_net_scale_runs_the_network_on_a_smaller_frame(model, env, tmp_path):
    stats = tmp_path / "stats.json"
    result = stylecam("--source", "test:160x96", "--style", model, "--net-scale", "0.5", "--no-window",
                      "--max-frames", "10", "--stats-json", stats, env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(stats.read_text())
    assert summary["net_scale"] == 0.5 and summary["processing_size"] == [160, 96] and summary["frames"] == 10


def test_usage_errors_and_missing_display(model, env):
    line = one_line_error(stylecam("--source", "test", "--style", model, env=env), 2)
    assert "no display" in line and "--no-window" in line
    assert "--strength must be between 0 and 1" in one_line_error(
        stylecam("--style", model, "--strength", "1.5", "--no-window", "--max-frames", "1", env=env), 2)
    assert "--no-window shows nothing" in one_line_error(stylecam("--style", model, "--no-window", env=env), 2)
    assert "--net-scale must be between 0.25 and 1" in one_line_error(
        stylecam("--style", model, "--net-scale", "2", "--no-window", "--max-frames", "1", env=env), 2)
    assert "WIDTHxHEIGHT" in one_line_error(
        stylecam("--size", "big", "--style", model, "--no-window", "--max-frames", "1", env=env), 2)
    assert "unsupported output extension" in one_line_error(
        stylecam("--record", "out.avi", "--style", model, "--no-window", env=env), 73)


def test_no_camera_and_unreadable_url(model, env):
    if video_devices():
        pytest.skip("this machine has cameras")
    line = one_line_error(stylecam("--style", model, "--no-window", "--max-frames", "1", env=env), 66)
    assert "no camera found (tried indices 0, 1, 2, 3" in line and "--source N" in line
    line = one_line_error(stylecam("--source", "5", "--style", model, "--no-window", "--max-frames", "1", env=env), 66)
    assert "camera 5 cannot be opened (tried 5" in line
    url = f"http://127.0.0.1:{free_port()}/stream.mjpg"
    line = one_line_error(stylecam("--source", url, "--style", model, "--no-window", "--max-frames", "1", env=env), 66)
    assert f"cannot open {url}" in line and "refused" in line


def test_port_in_use_and_missing_virtual_camera(model, env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line_error(stylecam("--source", "test:64x48", "--style", model, "--backend", "torch", "--serve",
                                       f"127.0.0.1:{port}", "--no-window", env=env), 73)
        assert f"127.0.0.1:{port}: the port is in use" in line
    line = one_line_error(stylecam("--source", "test:64x48", "--style", model, "--backend", "torch", "--virtual-cam",
                                   "--no-window", env=env), 73)
    assert install_hint() in line  # pyvirtualcam missing, or no v4l2loopback device: say what to install


def test_ctrl_c_leaves_a_playable_recording(model, env, tmp_path):
    record, stats = tmp_path / "interrupted.mp4", tmp_path / "stats.json"
    process = subprocess.Popen(
        [sys.executable, "-c", CODE, "--source", "test:160x90", "--fps", "30", "--style", str(model), "--backend",
         "torch", "--no-window", "--record", str(record), "--stats-json", str(stats)],
        stderr=subprocess.PIPE, text=True, env=env, preexec_fn=default_sigint)
    assert process.stderr is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if "recording to" in line or not line:
            break
    time.sleep(1.5)  # some frames
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=30)[1]
    assert process.returncode == 130, "".join(lines) + rest
    assert rest.strip().splitlines()[-1] == "stylecam: interrupted"
    with av.open(str(record)) as container:
        frames = sum(1 for _ in container.decode(container.streams.video[0]))
    summary = json.loads(stats.read_text())
    assert frames > 5 and frames == summary["recordings"][0]["frames"] and summary["stopped_by"] == "interrupted"
    assert not list(tmp_path.glob(".*"))


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """A virtual X display (``:N``) for the window tests; skipped where Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        pytest.skip("the window needs an X display: install Xvfb (apt install xvfb) to test it headless")
    try:
        import tkinter  # noqa: F401
    except ImportError:
        pytest.skip("this Python has no Tk (Debian/Ubuntu: apt install python3-tk)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "800x600x24", "-nolisten",
                               "tcp"], pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            pytest.skip("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def test_real_window_under_xvfb(model, env, xvfb, tmp_path):
    stats = tmp_path / "stats.json"
    result = stylecam("--source", "test:320x180", "--style", model, "--backend", "torch", "--max-frames", "45",
                      "--stats-json", stats, env={**env, "DISPLAY": xvfb})
    assert result.returncode == 0, result.stderr
    assert "keys: n/p next/previous style" in result.stderr
    assert json.loads(stats.read_text())["frames"] == 45


def test_tk_window_shows_frames_and_takes_keys(xvfb, monkeypatch):
    import numpy as np

    from stylecam.realtime.window import TkWindow

    monkeypatch.setenv("DISPLAY", xvfb)
    keys: list[str] = []
    closed: list[bool] = []
    window = TkWindow("stylecam test", (64, 48), keys.append, lambda: closed.append(True))
    try:
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, :, 0] = 200
        frame[:, 32:, 2] = 90
        window.show(frame)
        window.pump()
        assert window.photo.get(5, 5) == (200, 0, 0) and window.photo.get(40, 5) == (200, 0, 90)
        window.root.focus_force()
        for keysym in ("n", "plus", "Escape", "3", "KP_Subtract"):
            window.root.event_generate("<KeyPress>", keysym=keysym, when="tail")
        deadline = time.monotonic() + 5
        while len(keys) < 5 and time.monotonic() < deadline:
            window.pump()
            time.sleep(0.01)
        assert keys == ["n", "+", "escape", "3", "-"]
    finally:
        window.close()
