"""``stylevideo`` end to end: the real clip with its sound, generated clips, bad input, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from child_processes import default_sigint
from model_factories import random_net
from video_clips import audio_packets, moving_frames, read_clip, write_clip

from stylecam.cli.video import main
from stylecam.imaging.io import read_image
from stylecam.nets.checkpoints import save_model
from stylecam.video.reader import probe
from stylecam.video.writer import temporary_path


@pytest.fixture(scope="module")
def net_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained fast net with a realistic output range, saved as a model file."""
    path = tmp_path_factory.mktemp("models") / "net.pth"
    save_model(path, random_net())
    return path


CODE = "import sys; from stylecam.cli.video import main; sys.exit(main())"
# One OpenMP thread: on a shared two-core machine PyTorch's spinning threads otherwise slow tests down 4×.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run_cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-c", CODE, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, check=False, env=ENV)


def test_real_clip_with_sound(shared_dir: Path, net_file: Path, tmp_path: Path) -> None:
    source = shared_dir / "video" / "ntu.mp4"
    out = tmp_path / "ntu_midtone.mp4"
    result = run_cli(source, out, "--style", net_file, "--duration", "1", "--size", "160", "--preset", "ultrafast",
                     "--backend", "torch")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}: 60 frames, 1.00 s at 160×90, audio aac copied" in result.stderr
    info = probe(out)
    assert info.frame_rate == 60 and info.duration == pytest.approx(1.0, abs=1e-3)
    frames, _ = read_clip(out)
    assert len(frames) == 60 and 40 < frames[30].mean() < 220
    copied = [data for _, data in audio_packets(out)]
    assert copied == [data for t, data in audio_packets(source) if 0.0 <= t < 1.0]


def test_generated_odd_vfr_silent_clip(net_file: Path, tmp_path: Path) -> None:
    times = [0.0, 0.05, 0.08, 0.16, 0.2, 0.33, 0.36, 0.5]
    source = write_clip(tmp_path / "odd.mkv", moving_frames(8, 97, 171), times, pix_fmt="yuv444p")
    out = tmp_path / "odd.mp4"
    result = run_cli(source, out, "--style", net_file, "--temporal", "none", "--backend", "torch", "-q")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    frames, out_times = read_clip(out)
    assert frames[0].shape == (98, 172, 3) and out_times == pytest.approx(times, abs=1.5e-3)
    assert probe(out).audio == ()


def test_gatys_key_frames_at_the_start_and_the_cut(shared_dir: Path, net_file: Path, tmp_path: Path) -> None:
    photos = [read_image(shared_dir / "images" / "content" / name, max_side=128, size_option=None)
              for name in ("tubingen.jpg", "golden_gate.jpg")]
    frames = [photo[y : y + 48, 2 * y : 2 * y + 64] for photo in photos for y in range(7)]
    source = write_clip(tmp_path / "two_shots.mp4", frames)
    style = shared_dir / "images" / "styles" / "mosaic.jpg"
    out = tmp_path / "key.mp4"
    result = run_cli(source, out, "--style", net_file, "--style-image", style, "--keyframes", "gatys",
                     "--keyframe-iters", "3", "--backend", "torch")
    assert result.returncode == 0, result.stderr
    assert "14 frames" in result.stderr and "1 scene cut" in result.stderr
    ruder = tmp_path / "ruder.mp4"
    result = run_cli(source, ruder, "--style-image", style, "--temporal", "ruder", "--iters", "2",
                     "--keyframe-iters", "2", "--long-term", "2", "-q")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert len(read_clip(ruder)[0]) == 14


def _header_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    return path


@pytest.mark.parametrize(("case", "code", "fragment"), [
    ("text", 66, "not a video"),
    ("truncated", 66, "corrupt"),
    ("codec", 66, "codec is not supported"),
    ("zero_frames", 66, "no video stream"),
    ("still_image", 66, "still image"),
    ("same_as_input", 73, "would overwrite input"),
    ("missing_folder", 73, "does not exist"),
    ("bad_extension", 73, "unsupported output extension"),
    ("no_style", 2, "say what style"),
])
def test_bad_input_is_one_line_and_untouched(case: str, code: int, fragment: str, shared_dir: Path, net_file: Path,
                                             tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    good = write_clip(tmp_path / "good.mp4", moving_frames(4, 48, 64))
    source, out = good, tmp_path / "out.mp4"
    if case == "text":
        source = tmp_path / "notes.mp4"
        source.write_text("not a video at all\n")
    elif case == "truncated":
        source = tmp_path / "ntu_cut.mp4"
        source.write_bytes((shared_dir / "video" / "ntu.mp4").read_bytes()[:300_000])
    elif case == "codec":
        source = tmp_path / "alien.mp4"
        source.write_bytes(good.read_bytes().replace(b"avc1", b"zzzz"))
    elif case == "zero_frames":
        source = _header_only(tmp_path / "empty.mp4")
    elif case == "still_image":
        source = shared_dir / "images" / "content" / "tubingen.jpg"
    elif case == "same_as_input":
        out = good
    elif case == "missing_folder":
        out = tmp_path / "nowhere" / "out.mp4"
    elif case == "bad_extension":
        out = tmp_path / "out.gif"
    before = source.read_bytes()
    style = [] if case == "no_style" else ["--style", str(net_file)]
    assert main([str(source), str(out), *style]) == code
    stderr = capfd.readouterr().err.strip().splitlines()
    assert len(stderr) == 1 and stderr[0].startswith("stylevideo: error:") and fragment in stderr[0], stderr
    assert source.read_bytes() == before
    if case != "same_as_input":
        assert not out.exists()
    assert not temporary_path(out).exists()


def test_ctrl_c_leaves_a_playable_output_or_none(net_file: Path, tmp_path: Path) -> None:
    source = write_clip(tmp_path / "long.mp4", moving_frames(300, 192, 256, dx=1, dy=0), fps=25, audio=("aac",))
    out = tmp_path / "long_out.mp4"
    before = source.read_bytes()
    process = subprocess.Popen([sys.executable, "-c", CODE, str(source), str(out), "--style", str(net_file),
                                "--preset", "ultrafast", "--backend", "torch"], stderr=subprocess.PIPE, text=True,
                               env=ENV, preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    while not temporary_path(out).exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "stylevideo: interrupted" in stderr
    assert not temporary_path(out).exists()
    if out.exists():  # finalised: every frame decodes, and it is shorter than the input
        frames, _ = read_clip(out)
        assert 0 < len(frames) < 300
        assert "holds the first" in stderr
    assert source.read_bytes() == before
