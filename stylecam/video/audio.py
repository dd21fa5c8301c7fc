"""The input's sound in the output: every audio stream copied packet for packet where the output container
plays its codec, otherwise re-encoded to AAC — trimmed to the span of video that was written.

Trimming works on whole audio frames (1024 samples, 21 ms for AAC at 48 kHz): an audio frame is kept when it
starts at or after the first written video frame and before the end of the video span, and is shifted by the
same amount as the video, so sound and picture stay in sync to within one audio frame. Copied packets are
bit-identical to the input's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av

from stylecam.log import notice
from stylecam.video.reader import VideoInfo, open_input

# Codecs copied as they are into each container; anything else is re-encoded to AAC. MP4/MOV keep to the
# codecs every player decodes there; Matroska takes whatever its muxer accepts.
PLAYABLE_COPY: dict[str, frozenset[str] | None] = {
    ".mp4": frozenset({"aac", "mp3"}),
    ".m4v": frozenset({"aac", "mp3"}),
    ".mov": frozenset({"aac", "mp3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le"}),
    ".mkv": None,
}
AAC_BIT_RATE_PER_CHANNEL = 96_000
# FFmpeg's AAC encoder wants a named channel layout; sources may only say "2 channels". Others: downmixed.
AAC_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 8: "7.1"}


@dataclass(frozen=True)
class AudioPlan:
    """What happens to one input audio stream."""

    index: int
    codec: str
    copy: bool


def plan_audio(info: VideoInfo, suffix: str, muxer_codecs: set[str]) -> list[AudioPlan]:
    """Copy or re-encode each audio stream of ``info`` for an output file with extension ``suffix``."""
    playable = PLAYABLE_COPY.get(suffix.lower(), frozenset())
    plans = []
    for stream in info.audio:
        copy = stream.codec in muxer_codecs and (playable is None or stream.codec in playable)
        plans.append(AudioPlan(stream.index, stream.codec, copy))
    return plans


class _Track:
    """One input audio stream feeding one output stream."""

    def __init__(self, plan: AudioPlan, source: av.audio.stream.AudioStream, output: av.container.OutputContainer,
                 offset: float) -> None:
        self.plan = plan
        self.source = source
        if plan.copy:
            self.stream = output.add_stream_from_template(source)
        else:
            context = source.codec_context
            self.stream = output.add_stream("aac", rate=context.sample_rate)
            self.stream.layout = AAC_LAYOUTS.get(context.layout.nb_channels, "stereo")
            self.stream.bit_rate = AAC_BIT_RATE_PER_CHANNEL * self.stream.layout.nb_channels
        language = source.metadata.get("language")
        if language:
            self.stream.metadata["language"] = language
        self.time_base = source.time_base
        self.shift = round(offset / self.time_base)

    def packets(self, packet: av.Packet, end: float) -> Iterator[av.Packet]:
        """The output packets ``packet`` becomes (none if it lies outside the kept span)."""
        if packet.pts is None:
            return
        time = float(packet.pts * self.time_base)
        if packet.pts < self.shift or time >= end:
            return
        if self.plan.copy:
            packet.pts -= self.shift
            if packet.dts is not None:
                packet.dts -= self.shift
            packet.stream = self.stream
            yield packet
            return
        for frame in self.source.codec_context.decode(packet):
            frame.pts = round((frame.pts - self.shift) * self.time_base * frame.sample_rate)
            frame.time_base = Fraction(1, frame.sample_rate)
            yield from self.stream.encode(frame)

    def flush(self) -> Iterator[av.Packet]:
        """The re-encoder's last packets."""
        if not self.plan.copy:
            yield from self.stream.encode(None)


class AudioMuxer:
    """Moves the input's audio into ``output`` alongside the video, as far as the video has got.

    ``offset`` is the input time (seconds on the audio streams' clock, which is the video's) that becomes
    time zero in the output: the timestamp of the first video frame written.
    """

    def __init__(self, info: VideoInfo, output: av.container.OutputContainer, offset: float, suffix: str) -> None:
        self.plans = plan_audio(info, suffix, set(output.supported_codecs))
        self._input = open_input(info.path) if self.plans else None
        self._tracks: dict[int, _Track] = {}
        self._offset = offset
        self._output = output
        self._pending: av.Packet | None = None
        if self._input is None:
            self._packets: Iterator[av.Packet] = iter(())
            return
        for plan in self.plans:
            source = self._input.streams[plan.index]
            self._tracks[plan.index] = _Track(plan, source, output, offset)
            if not plan.copy:
                notice(f"audio stream {plan.index} ({plan.codec}) cannot be copied into {suffix}; re-encoding to AAC")
        if offset > 0:
            first = self._input.streams[self.plans[0].index]
            try:
                self._input.seek(int(offset / first.time_base), stream=first, backward=True)
            except av.error.FFmpegError:
                pass
        self._packets = self._input.demux(*(self._input.streams[p.index] for p in self.plans))

    def mux_until(self, time: float, end: float = math.inf) -> None:
        """Mux audio packets that start before output time ``time`` (and before ``end``)."""
        if not self._tracks:
            return
        limit = min(time, end) + self._offset
        end_abs = end + self._offset
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            if packet.size == 0 or packet.pts is None:
                continue
            if float(packet.pts * packet.time_base) >= limit:
                self._pending = packet
                return
            try:
                for out in self._tracks[packet.stream.index].packets(packet, end_abs):
                    self._output.mux(out)
            except av.error.FFmpegError as exc:  # a damaged audio packet: drop it, keep the picture
                notice(f"skipped a damaged audio packet ({exc.strerror or exc})")

    def finish(self, end: float = math.inf) -> None:
        """Mux the rest of the audio up to output time ``end``, flush re-encoders, release the input."""
        try:
            self.mux_until(end, end)
            for track in self._tracks.values():
                for packet in track.flush():
                    self._output.mux(packet)
        finally:
            self.close()

    def close(self) -> None:
        """Release the input file."""
        if self._input is not None:
            self._input.close()
            self._input = None
