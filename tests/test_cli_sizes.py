"""One ``--size`` syntax on every command that takes one: ``N`` (the long side) and ``WxH`` both work on
``stylize``, ``stylevideo``, ``stylecam`` and ``export-onnx``; ``-5``, ``0x10`` and ``big`` are one line on stderr
and exit 2 (real subprocesses, as a user runs them); ``0`` keeps its meaning where a command has one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from video_clips import moving_frames, read_clip, write_clip

from stylecam.cli import export, stylize, video
from stylecam.export.metadata import read_metadata

COMMANDS = {"stylize": "stylize", "stylevideo": "video", "stylecam": "live", "export-onnx": "export"}


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("size_photos") / "photo.png"
    Image.fromarray(moving_frames(1, 90, 160)[0]).save(path)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("size_clips") / "clip.mp4", moving_frames(4, 90, 160))


def run(command: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    code = f"import sys; from stylecam.cli.{COMMANDS[command]} import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)


def arguments(command: str, fast_net_file: Path, photo: Path, clip: Path, tmp_path: Path) -> list[str | Path]:
    """Everything but ``--size`` for a run that would work."""
    return {
        "stylize": [photo, "--model", fast_net_file, "-o", tmp_path / "out.png"],
        "stylevideo": [clip, tmp_path / "out.mp4", "--style", fast_net_file],
        "stylecam": ["--source", "test:160x90", "--style", fast_net_file, "--no-window", "--max-frames", "1"],
        "export-onnx": ["--model", fast_net_file, "-o", tmp_path / "out.onnx"],
    }[command]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("value", ["-5", "0x10", "big"])
def test_bad_size_is_one_line_and_exit_2(command, value, fast_net_file, photo, clip, tmp_path):
    result = run(command, *arguments(command, fast_net_file, photo, clip, tmp_path), "--size", value)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: --size"), result.stderr
    assert value in lines[0] and not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["stylecam", "export-onnx"])
def test_zero_is_refused_where_there_is_no_original_size(command, fast_net_file, photo, clip, tmp_path):
    result = run(command, *arguments(command, fast_net_file, photo, clip, tmp_path), "--size", "0")
    assert result.returncode == 2 and "between 16 and 8192" in result.stderr and "original" not in result.stderr


def test_stylize_sizes(fast_net_file, photo, tmp_path):
    out = tmp_path / "out.png"
    for size, expected in (("64x48", (64, 48)), ("80", (80, 45)), ("0", (160, 90))):
        assert stylize.main([str(photo), "--model", str(fast_net_file), "-o", str(out), "--size", size, "-q"]) == 0
        assert Image.open(out).size == expected


def test_stylevideo_sizes(fast_net_file, clip, tmp_path):
    out = tmp_path / "out.mp4"
    common = [str(clip), str(out), "--style", str(fast_net_file), "--backend", "torch", "--temporal", "none",
              "--preset", "ultrafast", "-q"]
    for size, expected in (("96x64", (96, 64)), ("80", (80, 46)), ("0", (160, 90))):
        assert video.main([*common, "--size", size]) == 0
        frames, _ = read_clip(out)
        assert len(frames) == 4 and (frames[0].shape[1], frames[0].shape[0]) == expected


def test_stylecam_sizes(fast_net_file, tmp_path):
    stats = tmp_path / "stats.json"
    for size, expected in (("64x48", [64, 48]), ("80", [80, 48])):
        result = run("stylecam", "--source", "test:160x90", "--style", fast_net_file, "--backend", "torch",
                     "--no-window", "--max-frames", "2", "--stats-json", stats, "--size", size)
        assert result.returncode == 0, result.stderr
        assert json.loads(stats.read_text())["processing_size"] == expected


def test_export_sizes(fast_net_file, tmp_path):
    out = tmp_path / "out.onnx"
    for size, expected in (("64x48", [64, 48]), ("64", [64, 64])):
        assert export.main(["--model", str(fast_net_file), "-o", str(out), "--size", size, "-q"]) == 0
        assert read_metadata(out)["size"] == expected
