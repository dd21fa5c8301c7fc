"""Stopping and resuming ``stylevideo``: SIGTERM, a killed run's temporary file, ``--resume`` — on real files."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from model_factories import random_net
from video_clips import audio_packets, moving_frames, read_clip, write_clip

from stylecam.cli.video import build_parser, main, output_settings
from stylecam.errors import OutputError
from stylecam.nets.checkpoints import save_model
from stylecam.video.pipeline import RenderOptions, render_video
from stylecam.video.resume import state_path
from stylecam.video.temporal import FirstPass, FlowBlend
from stylecam.video.writer import EncodeSettings, temporary_path

FAST = EncodeSettings(crf=18, preset="ultrafast")
CODE = "import sys; from stylecam.cli.video import main; sys.exit(main())"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


class Invert:
    """The negative of the frame; raises KeyboardInterrupt (as Ctrl-C would) before frame ``stop`` if given."""

    def __init__(self, stop: int | None = None) -> None:
        self.stop, self.seen = stop, 0

    def run(self, frame: np.ndarray) -> np.ndarray:
        if self.seen == self.stop:
            raise KeyboardInterrupt
        self.seen += 1
        return 255 - frame


def _flow(stop: int | None = None) -> FlowBlend:
    return FlowBlend(FirstPass(Invert(stop)))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_interrupt_then_resume_matches_an_uninterrupted_render(suffix: str, tmp_path: Path) -> None:
    source = write_clip(tmp_path / "in.mp4", moving_frames(40, 48, 64), audio=("aac",))
    whole, part = tmp_path / f"whole{suffix}", tmp_path / f"part{suffix}"
    render_video(source, whole, _flow(), RenderOptions(encode=FAST))
    with pytest.raises(KeyboardInterrupt, match="holds the first 15 frames"):
        render_video(source, part, _flow(15), RenderOptions(encode=FAST))
    assert len(read_clip(part)[0]) == 15 and state_path(part).is_file()
    resumed = render_video(source, part, _flow(), RenderOptions(encode=FAST, resume=True))
    assert (resumed.frames, resumed.resumed) == (40, 15)  # its frames/s counts the 25 it stylized
    assert resumed.frame_rate == pytest.approx(25 / resumed.seconds)
    (frames, times), (expected, expected_times) = read_clip(part), read_clip(whole)
    assert len(frames) == 40 and times == expected_times
    assert audio_packets(part) == audio_packets(whole)
    assert not state_path(part).exists() and not temporary_path(part).exists()
    # the flow history carried on: frame 15 is blended with frame 14's output as in the uninterrupted render
    assert np.abs(frames[15].astype(int) - expected[15]).mean() < 4


def test_resume_without_a_state_starts_over(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    source = write_clip(tmp_path / "in.mp4", moving_frames(6, 48, 64))
    out = tmp_path / "out.mp4"
    render_video(source, out, _flow(), RenderOptions(encode=FAST, resume=True))
    assert "no interrupted render to resume" in capfd.readouterr().err
    assert len(read_clip(out)[0]) == 6


def test_a_killed_runs_temporary_is_reused_and_a_live_ones_is_left_alone(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    source = write_clip(tmp_path / "in.mp4", moving_frames(6, 48, 64))
    out = tmp_path / "out.mp4"
    temporary = temporary_path(out)
    temporary.write_bytes(b"\0" * 5000)  # what SIGKILL leaves: an unfinished file under the hidden name
    render_video(source, out, _flow(), RenderOptions(encode=FAST))
    assert f"removed {temporary.name}" in capfd.readouterr().err
    assert len(read_clip(out)[0]) == 6 and not temporary.exists()
    with temporary.open("wb") as held:  # a render still writing: its lock is held
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(OutputError, match="being written by another stylevideo run"):
            render_video(source, out, _flow(), RenderOptions(encode=FAST))
        assert temporary.exists()
    assert len(read_clip(out)[0]) == 6  # the finished output is untouched


def _wait_for_frames(path: Path, process: subprocess.Popen[str], timeout: float = 300) -> None:
    """Until ``path`` holds encoded frames (it grows past its header), however slow the machine."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 20_000:
            return
        time.sleep(0.1)
    raise AssertionError(f"no frames written to {path} in {timeout} s (exit {process.poll()})")


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CODE, *map(str, args)], capture_output=True, text=True,
                          timeout=900, check=False, env=ENV)


def test_sigterm_leaves_a_playable_partial_that_resume_completes(tmp_path: Path) -> None:
    net = tmp_path / "net.pth"
    save_model(net, random_net())
    source = write_clip(tmp_path / "long.mp4", moving_frames(200, 144, 192, dx=1, dy=0), fps=25, audio=("aac",))
    out, whole = tmp_path / "out.mp4", tmp_path / "whole.mp4"
    options = ["--style", str(net), "--backend", "torch", "--preset", "ultrafast"]
    process = subprocess.Popen([sys.executable, "-c", CODE, str(source), str(out), *options],
                               stderr=subprocess.PIPE, text=True, env=ENV)
    _wait_for_frames(temporary_path(out), process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 143, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("stylevideo: terminated: ") and "holds the first" in last, stderr
    assert not temporary_path(out).exists()
    frames, times = read_clip(out)  # playable: every frame decodes
    assert 0 < len(frames) < 200
    assert max(t for t, _ in audio_packets(out)) < times[-1] + 0.04 + 0.03  # audio trimmed to the video

    changed = _cli(source, out, *options, "--crf", "20", "--resume")
    assert changed.returncode == 2 and changed.stderr.count("\n") == 1, changed.stderr
    assert "options differ" in changed.stderr and "crf 18 → 20" in changed.stderr
    other = write_clip(tmp_path / "other.mp4", moving_frames(20, 144, 192, seed=3))
    refused = _cli(other, out, *options, "--resume")
    assert refused.returncode == 2 and "another input" in refused.stderr, refused.stderr
    assert read_clip(out)[1] == times  # refusals leave the partial as it was

    resumed = _cli(source, out, *options, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {out} after its first {len(frames)} frames" in resumed.stderr
    complete = _cli(source, whole, *options)
    assert complete.returncode == 0, complete.stderr
    assert read_clip(out)[1] == read_clip(whole)[1] and len(read_clip(out)[1]) == 200
    assert audio_packets(out) == audio_packets(whole)
    assert not state_path(out).exists()


def test_changed_options_are_refused_in_process(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    net = tmp_path / "net.pth"
    save_model(net, random_net())
    source = write_clip(tmp_path / "in.mp4", moving_frames(12, 48, 64))
    out = tmp_path / "out.mp4"
    options = [str(source), str(out), "--style", str(net), "--backend", "torch", "--preset", "ultrafast", "-q"]
    args = build_parser().parse_args(options)  # an interrupted render of these options: what --resume checks
    settings = output_settings(args)
    render = RenderOptions(size=args.size, encode=EncodeSettings(args.crf, args.preset), settings=settings)
    with pytest.raises(KeyboardInterrupt):
        render_video(source, out, _flow(5), render)
    capfd.readouterr()
    assert main([*options, "--blend", "0.7", "--resume"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "blend 0.5 → 0.7" in err[0], err
    assert len(read_clip(out)[0]) == 5
