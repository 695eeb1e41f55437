"""Reading and writing videos with PyAV (the ``video`` extra; it carries its own FFmpeg, no system ``ffmpeg``).

:func:`probe` checks a file before any frame is decoded (a video stream, its size against the pixel limit);
:func:`transcode` decodes the video stream frame by frame, hands each frame to a function and encodes the result
with the input's timestamps (so frame size, rate and count are kept), and copies every audio stream's packets as
they are. Frames stream through: memory holds a few frames whatever the clip's length.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from dehaze.errors import DehazeError, ImageReadError

VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"})
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
ENCODERS = {".webm": "libvpx-vp9", ".avi": "mpeg4"}  # anything else: H.264 (libx264)
X264_OPTIONS = {"crf": "17", "preset": "veryfast"}  # visually lossless, fast enough for 720p in real time

FrameFn = Callable[[np.ndarray], np.ndarray]  # H×W×3 uint8 RGB → H×W×3 uint8 RGB


class VideoReadError(ImageReadError):
    """A video that cannot be decoded (or has nothing to decode): one line naming the file."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` read from the header: frame size, average rate, frame count (``exact``: counted by the
    container; else estimated from the duration, 0 when unknown) and the number of audio streams."""

    width: int
    height: int
    fps: float
    frames: int
    exact: bool
    audio_streams: int

    def short(self, written: int) -> bool:
        """Fewer frames decoded than the header promises (a truncated file): all of them when counted, else 90%."""
        return written == 0 or (written < self.frames if self.exact else written < 0.9 * self.frames - 1)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def require_av() -> None:
    if importlib.util.find_spec("av") is None:
        raise DehazeError("videos need PyAV: pip install -e '.[video]' (it brings its own FFmpeg)")


def _open(path: Path) -> object:
    import av

    try:
        return av.open(str(path), "r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoReadError(path, f"not a readable video ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip().rstrip(".")
    return text.splitlines()[0] if text else type(exc).__name__


def _video_stream(container: object, path: Path) -> object:
    streams = container.streams.video  # type: ignore[attr-defined]
    if not streams:
        raise VideoReadError(path, "no video stream in the file")
    return streams[0]


def probe(path: Path) -> VideoInfo:
    """The video's header, checked: a video stream, a size within the pixel limit (``--max-pixels``)."""
    from dehaze.imageio import check_pixel_count

    with _open(path) as container:
        stream = _video_stream(container, path)
        width, height = stream.codec_context.width, stream.codec_context.height
        if width < 1 or height < 1:
            raise VideoReadError(path, "the video stream has no frame size")
        try:
            check_pixel_count(path, width, height)
        except ImageReadError as exc:
            raise VideoReadError(path, f"frame size {exc.reason}") from None
        fps = float(stream.average_rate or stream.guessed_rate or Fraction(25))
        frames = int(stream.frames or 0)
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = (container.duration or 0) / 1e6  # type: ignore[attr-defined]  # microseconds
        estimated = round(seconds * fps)
        return VideoInfo(width, height, fps, frames or estimated, bool(frames), len(container.streams.audio))


def _decoded(container: object, video: object, audio: list, path: Path) -> Iterator[tuple[object, object]]:
    """``(packet, None)`` for audio packets and ``(None, frame)`` for decoded video frames, in file order (the
    demuxer's last, empty video packet flushes the decoder)."""
    import av

    try:
        for packet in container.demux(video, *audio):  # type: ignore[attr-defined]
            if packet.stream is video:
                for frame in packet.decode():
                    yield None, frame
            elif packet.dts is not None:
                yield packet, None
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise VideoReadError(path, f"cannot decode the video ({_reason(exc)}); it may be truncated") from None


def _output_streams(output: object, video: object, audio: list, suffix: str, info: VideoInfo) -> tuple:
    """The encoder (same size, rate and time base as the input) and one copied stream per audio stream."""
    codec = ENCODERS.get(suffix, "libx264")
    stream = output.add_stream(codec, rate=Fraction(info.fps).limit_denominator(1001 * 1000))  # type: ignore
    stream.width, stream.height = info.width, info.height
    odd = info.width % 2 or info.height % 2
    stream.pix_fmt = "yuv444p" if odd and codec == "libx264" else "yuv420p"
    stream.time_base = video.time_base  # type: ignore[attr-defined]
    if codec == "libx264":
        stream.options = dict(X264_OPTIONS)
    copies = {source: output.add_stream_from_template(source) for source in audio}  # type: ignore
    return stream, copies


def transcode(source: Path, target: Path, fn: FrameFn, info: VideoInfo, progress: Callable[[], None]) -> int:
    """Write ``fn`` of every frame of ``source`` to ``target`` (container chosen by ``source``'s suffix), audio
    copied; ``progress()`` after each frame. Returns the number of frames written; a file that ends early is an
    error (:class:`VideoReadError`), never a short output."""
    import av

    suffix = source.suffix.lower()
    written = 0
    with _open(source) as container, av.open(str(target), "w", format=MUXERS.get(suffix, "mp4")) as output:
        video = _video_stream(container, source)
        audio = list(container.streams.audio)
        encoder, copies = _output_streams(output, video, audio, suffix, info)
        for packet, frame in _decoded(container, video, audio, source):
            if packet is not None:
                packet.stream = copies[packet.stream]
                output.mux(packet)
                continue
            result = av.VideoFrame.from_ndarray(fn(frame.to_ndarray(format="rgb24")), format="rgb24")
            result.pts, result.time_base = frame.pts, frame.time_base
            output.mux(encoder.encode(result))
            written += 1
            progress()
        output.mux(encoder.encode(None))
    if info.short(written):
        expected = f" of {info.frames}" if info.frames else ""
        raise VideoReadError(source, f"only {written}{expected} frames could be decoded; the file may be truncated")
    return written
