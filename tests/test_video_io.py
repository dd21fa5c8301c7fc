"""Video in and out: the real clip's sound copied bit for bit, frame count, duration, frame rate, odd sizes,
variable frame rate, no audio, several audio streams, rotation, and what a failure leaves behind."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from video_clips import audio_packets, moving_frames, read_clip, write_clip

from stylecam.errors import InputError, OutputError
from stylecam.video.audio import plan_audio
from stylecam.video.pipeline import RenderOptions, render_video
from stylecam.video.reader import VideoReader, display_rotation, probe, processing_size
from stylecam.video.temporal import FirstPass, FlowBlend, PerFrame
from stylecam.video.writer import EncodeSettings, temporary_path

FAST = EncodeSettings(crf=18, preset="ultrafast")


class Invert:
    """A trivial stylizer: the negative of the frame."""

    def run(self, frame: np.ndarray) -> np.ndarray:
        return 255 - frame


def per_frame() -> PerFrame:
    return PerFrame(FirstPass(Invert()))


@pytest.fixture(scope="module")
def ntu(shared_dir: Path) -> Path:
    return shared_dir / "video" / "ntu.mp4"


@pytest.fixture(scope="module")
def ntu_second(ntu: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ntu.mp4 from 1 s to 2 s, 160 px wide."""
    out = tmp_path_factory.mktemp("ntu") / "ntu_styled.mp4"
    render_video(ntu, out, per_frame(), RenderOptions(size=160, start=1.0, duration=1.0, encode=FAST))
    return out


def test_real_clip_keeps_frames_rate_duration_and_aspect(ntu: Path, ntu_second: Path) -> None:
    info = probe(ntu_second)
    assert (info.width, info.height) == (160, 90)  # 640×480 stored with 4:3 pixels shows as 16:9
    assert info.sample_aspect == 1
    assert info.frame_rate == 60
    frames, times = read_clip(ntu_second)
    assert len(frames) == 60
    assert times[0] == 0.0 and times[-1] == pytest.approx(59 / 60, abs=1e-3)
    assert info.duration == pytest.approx(1.0, abs=1e-3)
    with av.open(str(ntu_second)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
        audio = container.streams.audio[0]
        assert float(audio.duration * audio.time_base) == pytest.approx(1.0, abs=0.03)


def test_real_clip_audio_is_copied_bit_for_bit(ntu: Path, ntu_second: Path) -> None:
    """Copied packets are the input's packets that start within the written span [1 s, 2 s)."""
    source = [(t, data) for t, data in audio_packets(ntu) if 1.0 <= t < 2.0]
    copied = audio_packets(ntu_second)
    assert len(copied) == len(source) > 40
    assert [data for _, data in copied] == [data for _, data in source]
    for (t_out, _), (t_in, _) in zip(copied, source):  # shifted with the video (mp4 edit lists round to ms)
        assert t_out == pytest.approx(t_in - 1.0, abs=2e-3)


def test_real_clip_pixels_are_the_stylizers(ntu: Path, ntu_second: Path) -> None:
    info = probe(ntu)
    with VideoReader(info, (160, 90), start=1.0, duration=0.05) as reader:
        first = next(iter(reader)).image
    out = read_clip(ntu_second)[0][0]
    assert np.abs(out.astype(int) - (255 - first.astype(int))).mean() < 6  # H.264 at crf 18


def test_odd_size_vfr_two_audio_streams(tmp_path: Path) -> None:
    """171×97 (rounded to 172×98), irregular timestamps kept, AAC copied, PCM re-encoded to AAC."""
    times = [0.0, 0.04, 0.07, 0.13, 0.15, 0.2, 0.3, 0.31, 0.4, 0.45]
    source = write_clip(tmp_path / "odd.mkv", moving_frames(10, 97, 171), times, audio=("aac", "pcm_s16le"),
                        pix_fmt="yuv444p")
    out = tmp_path / "odd_out.mp4"
    render_video(source, out, per_frame(), RenderOptions(size=None, encode=FAST))
    frames, out_times = read_clip(out)
    assert frames[0].shape == (98, 172, 3)
    assert out_times == pytest.approx(times, abs=1.5e-3)
    with av.open(str(out)) as container:
        assert [s.codec_context.name for s in container.streams.audio] == ["aac", "aac"]
    assert [d for _, d in audio_packets(out, 0)] == [d for t, d in audio_packets(source, 0) if t >= 0]
    assert len(audio_packets(out, 1)) >= 20


def test_no_audio_and_no_audio_option(tmp_path: Path) -> None:
    silent = write_clip(tmp_path / "silent.mp4", moving_frames(6, 64, 96))
    out = tmp_path / "silent_out.mp4"
    render_video(silent, out, per_frame(), RenderOptions(encode=FAST))
    assert probe(out).audio == () and len(read_clip(out)[0]) == 6
    loud = write_clip(tmp_path / "loud.mp4", moving_frames(6, 64, 96), audio=("aac",))
    render_video(loud, out, per_frame(), RenderOptions(encode=FAST, audio=False))
    assert probe(out).audio == ()


def test_rotated_phone_clip_is_written_upright(tmp_path: Path) -> None:
    image = np.zeros((48, 64, 3), np.uint8)
    image[:24, :32] = 255  # top-left quadrant white, as stored
    source = write_clip(tmp_path / "phone.mp4", [image] * 4, rotation=90)
    info = probe(source)
    assert info.rotation == 90 and info.display_size == (48, 64)
    out = tmp_path / "phone_out.mp4"
    render_video(source, out, PerFrame(FirstPass(_Identity())), RenderOptions(encode=FAST))
    frame = read_clip(out)[0][0]
    assert frame.shape == (64, 48, 3)
    assert probe(out).rotation == 0
    # shown turned a quarter counter-clockwise: the stored top-left corner is now bottom-left
    assert frame[40:, :20].mean() > 200 and frame[:20, :20].mean() < 50


@pytest.mark.parametrize(("matrix", "degrees"), [
    ((65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30), 0),
    ((0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30), 90),
    ((-65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30), 180),
    ((0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30), 270),
    ((0, 0, 0, 0, 0, 0, 0, 0, 0), 0),
])
def test_display_rotation_of_synthetic_matrices(matrix: tuple[int, ...], degrees: int) -> None:
    assert display_rotation(matrix) == degrees


def test_processing_size_is_even_and_keeps_aspect(tmp_path: Path) -> None:
    info = probe(write_clip(tmp_path / "c.mkv", moving_frames(2, 97, 171), pix_fmt="yuv444p"))
    assert processing_size(info, None) == (172, 98)
    assert processing_size(info, 100) == (100, 56)


def test_audio_plan_copies_what_plays_and_reencodes_the_rest(tmp_path: Path) -> None:
    info = probe(write_clip(tmp_path / "a.mkv", moving_frames(2, 32, 32), audio=("aac", "pcm_s16le")))
    muxer = {"aac", "pcm_s16le", "h264"}
    assert [p.copy for p in plan_audio(info, ".mp4", muxer)] == [True, False]
    assert [p.copy for p in plan_audio(info, ".mkv", muxer)] == [True, True]


class _Identity:
    def run(self, frame: np.ndarray) -> np.ndarray:
        return frame


class _Crash:
    def __init__(self, after: int) -> None:
        self.left = after

    def run(self, frame: np.ndarray) -> np.ndarray:
        self.left -= 1
        if self.left < 0:
            raise RuntimeError("stylizer crashed")
        return frame


class _Interrupt(_Crash):
    def run(self, frame: np.ndarray) -> np.ndarray:
        try:
            return super().run(frame)
        except RuntimeError:
            raise KeyboardInterrupt from None


def test_crash_leaves_no_output_and_no_temporary(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "in.mp4", moving_frames(12, 48, 64), audio=("aac",))
    before = source.read_bytes()
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        render_video(source, out, FlowBlend(FirstPass(_Crash(5))), RenderOptions(encode=FAST))
    assert not out.exists() and not temporary_path(out).exists()
    assert source.read_bytes() == before


def test_interrupt_finalises_a_playable_shorter_output(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "in.mp4", moving_frames(24, 48, 64), audio=("aac",))
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        render_video(source, out, PerFrame(FirstPass(_Interrupt(10))), RenderOptions(encode=FAST))
    assert not temporary_path(out).exists()
    frames, times = read_clip(out)
    assert len(frames) == 10
    audio_end = max(t for t, _ in audio_packets(out))
    assert audio_end < times[-1] + 1 / 24 + 0.03


def test_interrupt_before_the_first_frame_leaves_nothing(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "in.mp4", moving_frames(4, 48, 64))
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        render_video(source, out, PerFrame(FirstPass(_Interrupt(0))), RenderOptions(encode=FAST))
    assert not out.exists() and not temporary_path(out).exists()


def test_truncated_and_bad_inputs_are_refused(tmp_path: Path, ntu: Path) -> None:
    full = write_clip(tmp_path / "full.mp4", moving_frames(48, 64, 96))
    _faststart(full, tmp_path / "fast.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes((tmp_path / "fast.mp4").read_bytes()[: full.stat().st_size // 3])
    with pytest.raises(InputError, match="truncated or corrupt"):
        render_video(cut, tmp_path / "o.mp4", per_frame(), RenderOptions(encode=FAST))
    assert not (tmp_path / "o.mp4").exists() and not temporary_path(tmp_path / "o.mp4").exists()
    with pytest.raises(OutputError, match="would overwrite input"):
        render_video(full, full, per_frame())
    with pytest.raises(OutputError, match="does not exist"):
        render_video(full, tmp_path / "missing" / "o.mp4", per_frame())


def _faststart(source: Path, target: Path) -> None:
    """Remux with the index at the front, so a truncated copy still opens (and fails mid-stream)."""
    with av.open(str(source)) as src, av.open(str(target), "w", options={"movflags": "+faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.size:
                packet.stream = stream
                dst.mux(packet)
