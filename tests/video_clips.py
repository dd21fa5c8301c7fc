"""Synthetic video clips for the video tests, encoded with PyAV (no ffmpeg command needed)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random colour texture (RGB uint8), good for optical flow."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 8 + 2, width // 8 + 2, 3), dtype=np.uint8)
    import cv2

    big = cv2.resize(coarse, (width + 16, height + 16), interpolation=cv2.INTER_CUBIC)
    fine = rng.integers(-20, 21, big.shape)
    return np.clip(big.astype(int) + fine, 0, 255).astype(np.uint8)


def moving_frames(count: int, height: int, width: int, dx: int = 2, dy: int = 1, seed: int = 0) -> list[np.ndarray]:
    """``count`` frames of a texture panning by (dx, dy) ≥ 0 px per frame (content moves left and up)."""
    canvas = texture(height + dy * count + 8, width + dx * count + 8, seed)
    return [np.ascontiguousarray(canvas[4 + dy * t : 4 + dy * t + height, 4 + dx * t : 4 + dx * t + width])
            for t in range(count)]


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    times: Sequence[float] | None = None,
    fps: int = 24,
    audio: Sequence[str] = (),
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    codec: str = "libx264",
) -> Path:
    """Encode RGB frames (shown at ``times`` seconds, default every 1/fps) with one audio stream per codec
    in ``audio`` (a 440 Hz tone, as long as the video), and a display-matrix rotation."""
    times = list(times) if times is not None else [i / fps for i in range(len(frames))]
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.time_base = Fraction(1, 1000)
        video.codec_context.time_base = Fraction(1, 1000)
        if codec == "libx264":
            video.options = {"preset": "ultrafast"}
        if rotation:
            video.set_display_rotation(rotation)
        sounds = []
        for index, name in enumerate(audio):
            stream = out.add_stream(name, rate=48000)
            stream.layout = "stereo"
            sounds.append((stream, 440 * (index + 1)))
        for image, time in zip(frames, times):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
            frame.pts = round(time * 1000)
            frame.time_base = Fraction(1, 1000)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        duration = times[-1] + 1 / fps
        for stream, pitch in sounds:
            _write_tone(out, stream, duration, pitch)
    return path


def _write_tone(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, duration: float,
                pitch: float) -> None:
    rate, block = 48000, 1024
    total = int(duration * rate)
    sample_format = "s16" if stream.codec_context.name.startswith("pcm_s16") else "fltp"
    for start in range(0, total, block):
        n = min(block, total - start)
        t = (np.arange(start, start + n) / rate).astype(np.float32)
        wave = 0.3 * np.sin(2 * np.pi * pitch * t)
        if sample_format == "s16":
            data = np.repeat((wave * 32767).astype(np.int16)[None], 2, axis=0).T.reshape(1, -1).copy()
        else:
            data = np.repeat(wave[None], 2, axis=0).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout="stereo")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def read_clip(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """All frames (RGB uint8, as stored, no rotation) and their times in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, times = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * stream.time_base))
    return frames, times


def audio_packets(path: Path, index: int = 0) -> list[tuple[float, bytes]]:
    """(time in s, payload) of every non-empty packet of the ``index``-th audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[index]
        return [(float(p.pts * stream.time_base), bytes(p)) for p in container.demux(stream) if p.size]
