"""One video in, one dehazed video out: the frame function, the progress bar and the atomic write.

A :class:`FrameSource` (a :class:`~dehaze.inference.Dehazer`) makes its own frame function: with a guided RGB
model, frames go through :class:`~dehaze.video.steady.SteadyLight` (the light carried from frame to frame); anything
else (``--dcp``, a U-Net, ``time_constant`` 0) dehazes each frame on its own. The output is written under a
temporary name and renamed at the end, so a bad or truncated input, a full disk or Ctrl-C leaves nothing under the
output's name.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from dehaze.errors import DehazeError
from dehaze.models.guided import GuidedGenerator
from dehaze.video.io import FrameFn, VideoInfo, is_video, probe, require_av, transcode
from dehaze.video.steady import SteadyConfig, SteadyLight


@dataclass(frozen=True)
class VideoResult:
    """What :func:`dehaze_video` wrote: the frame count, the header it kept, and the scene cuts it reset at."""

    frames: int
    info: VideoInfo
    cuts: int


@runtime_checkable
class FrameSource(Protocol):
    """What makes its own frame function (a :class:`~dehaze.inference.Dehazer`: steady light where it can)."""

    def video_frames(self, fps: float, steady: SteadyConfig) -> tuple[FrameFn, SteadyLight | None]: ...


def steady_frames(
    generator: GuidedGenerator, strength: float, device: torch.device, gray: bool, fps: float, steady: SteadyConfig
) -> tuple[FrameFn, SteadyLight]:
    """The steady-light frame function of a guided RGB ``generator`` on ``device`` (``gray``: luminance output)."""
    from dehaze.color import luminance
    from dehaze.imageio import to_uint8

    state = SteadyLight(generator, strength, fps, steady)

    def run(frame: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            tensor = torch.from_numpy(frame).to(device).permute(2, 0, 1)[None].float().div_(255.0)
            out = state(tensor)
            out = luminance(out).expand(-1, 3, -1, -1) if gray else out
            return to_uint8(out[0].permute(1, 2, 0).float().cpu().numpy())

    return run, state


def frame_function(
    dehaze: FrameSource | Callable[[np.ndarray], np.ndarray], fps: float, steady: SteadyConfig
) -> tuple[FrameFn, SteadyLight | None]:
    """uint8 RGB frame → uint8 RGB frame: a :class:`FrameSource`'s own (a Dehazer: steady light with a guided RGB
    model), else ``dehaze`` on each frame (a Dehazer's bound ``dehaze_array`` counts as the Dehazer)."""
    from dehaze.imageio import to_uint8

    source = dehaze if isinstance(dehaze, FrameSource) else getattr(dehaze, "__self__", None)
    if isinstance(source, FrameSource):
        return source.video_frames(fps, steady)
    call = dehaze

    def per_frame(frame: np.ndarray) -> np.ndarray:
        result = call(frame.astype(np.float32) / 255.0)
        return to_uint8(result if result.ndim == 3 else result[..., None].repeat(3, axis=2))

    return per_frame, None


def dehaze_video(
    source: Path,
    output: Path,
    dehaze: FrameSource | Callable[[np.ndarray], np.ndarray],
    quiet: bool = True,
    steady: SteadyConfig | None = None,
) -> VideoResult:
    """Dehaze the video ``source`` into ``output``: same frame size, rate and count, audio copied, written atomically.

    Raises :class:`~dehaze.video.io.VideoReadError` for a file that cannot be decoded (nothing written) and
    :class:`~dehaze.errors.WriteError` when the output cannot be written (nothing left under its name).
    """
    from tqdm import tqdm

    from dehaze.atomic import atomic_write

    require_av()
    source, output = Path(source), Path(output)
    info = probe(source)
    fn, state = frame_function(dehaze, info.fps, steady or SteadyConfig())
    bar = tqdm(total=info.frames or None, desc=source.name, unit="frame", disable=quiet, file=sys.stderr, leave=False)
    frames = 0

    def write(tmp: Path) -> None:
        import av

        nonlocal frames
        try:
            frames = transcode(source, tmp, fn, info, bar.update)
        except av.FFmpegError as exc:
            if isinstance(exc, OSError):  # disk full, no permission: the atomic writer names the output
                raise
            raise DehazeError(f"cannot write {output}: {str(exc).splitlines()[0]}") from None

    try:
        atomic_write(output, write)
    finally:
        bar.close()
    return VideoResult(frames, info, state.cuts if state is not None else 0)


def scan_videos(folder: Path) -> list[Path]:
    """Video files (by suffix) under ``folder``, sorted; hidden names and linked folders are not entered."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith(".") and not Path(root, name).is_symlink())
        for name in files:
            path = Path(root, name)
            if not name.startswith(".") and is_video(path) and path.is_file():
                found.append(path)
    return sorted(found)
