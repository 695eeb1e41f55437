"""Videos through ``dehaze-infer`` and ``Dehazer.dehaze_video``: size, rate, frame count and audio kept, steady light,
and bad videos refused with one line and nothing left under the output's name. Clips are made here with PyAV."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dehaze.cli.infer import main
from dehaze.inference import Dehazer

av = pytest.importorskip("av")

from dehaze.video import SteadyConfig, SteadyLight, probe  # noqa: E402


def make_clip(path: Path, frames: int = 10, size: tuple[int, int] = (48, 64), audio: bool = True, seed: int = 0):
    """A hazy-looking clip (a bright gradient, noise) at 10 fps with an 8 kHz mono AAC tone."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = size
    base = np.linspace(110, 230, width, dtype=np.float32)[None, :, None] * np.ones((height, 1, 3), np.float32)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264" if path.suffix != ".avi" else "mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p" if width % 2 == 0 else "yuv444p"
        sound = out.add_stream("aac", rate=8000) if audio else None
        for index in range(frames):
            pixels = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            samples = 800 * frames
            for start in range(0, samples, 1024):
                tone = 0.2 * np.sin(0.05 * np.arange(start, min(samples, start + 1024), dtype=np.float32))[None]
                chunk = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 8000, start
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def video_pts(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [frame.pts for frame in container.decode(video=0)]


def audio_packets(path: Path) -> list[tuple[bytes, int]]:
    with av.open(str(path)) as container:
        return [(bytes(packet), packet.pts) for packet in container.demux(audio=0) if packet.size]


@pytest.mark.parametrize(("name", "size"), [("clip.mp4", (48, 64)), ("odd.mkv", (45, 63))])
def test_clip_keeps_size_rate_count_and_audio(tmp_path: Path, name: str, size: tuple[int, int]) -> None:
    clip = make_clip(tmp_path / name, size=size)
    assert main([str(clip), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    result = tmp_path / "out" / name
    before, after = probe(clip), probe(result)
    assert (after.width, after.height, after.fps) == (before.width, before.height, before.fps) == (*size[::-1], 10)
    assert video_pts(result) == video_pts(clip) and len(video_pts(result)) == 10
    assert audio_packets(result) == audio_packets(clip)  # copied, not re-encoded
    with av.open(str(result)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.std() > 1.0  # a picture, not a blank


def test_folder_of_photos_and_videos_is_mirrored(tmp_path: Path) -> None:
    make_clip(tmp_path / "in" / "drone" / "a.mov", audio=False)
    Image.fromarray(np.full((20, 30, 3), 180, np.uint8)).save(tmp_path / "in" / "b.jpg")
    assert main([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*"))
    assert written == ["b.png", "drone", "drone/a.mov"]


def test_python_api_and_the_dcp_per_frame(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=6, audio=False)
    result = Dehazer.from_checkpoint(None, device="cpu").dehaze_video(clip, tmp_path / "api.mp4")
    assert result.frames == 6 and probe(tmp_path / "api.mp4").frames == 6
    assert main([str(clip), "-o", str(tmp_path / "dcp"), "--dcp", "--quiet"]) == 0
    assert len(video_pts(tmp_path / "dcp" / "c.mp4")) == 6


def _bad_inputs(folder: Path) -> dict[str, str]:
    """Bad videos and the reason each must give."""
    folder.mkdir()
    whole = make_clip(folder / "whole.mkv", frames=30).read_bytes()
    (folder / "truncated.mkv").write_bytes(whole[: len(whole) // 2])
    (folder / "whole.mkv").unlink()
    (folder / "text.mp4").write_text("not a video")
    with av.open(str(folder / "sound.mp4"), "w") as out:  # audio only
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    make_clip(folder / "large.mp4", frames=2, size=(64, 96), audio=False)
    return {
        "truncated.mkv": "the file may be truncated",
        "text.mp4": "not a readable video",
        "sound.mp4": "no video stream",
        "large.mp4": "above the limit",
    }


def test_bad_videos_exit_2_with_one_line_each_and_leave_nothing(tmp_path: Path) -> None:
    reasons = _bad_inputs(tmp_path / "in")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "dehaze.cli.infer", str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    done = subprocess.run([*command, "--quiet", "--max-pixels", "5000"], capture_output=True, text=True, env=env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    for name, reason in reasons.items():
        (line,) = [line for line in done.stderr.splitlines() if name in line]
        assert reason in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


FULL_DISK = (
    "import resource, signal, sys\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "from dehaze.cli.infer import main\nresource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))\n"
    "sys.exit(main(sys.argv[1:]))"
)  # no file may grow past 4000 bytes: a write past that fails with EFBIG, like ENOSPC on a full disk


def _on_full_disk(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", FULL_DISK, *args, "--quiet"], capture_output=True, text=True, env=env)


def test_full_disk_exits_2_with_one_line_and_leaves_no_partial_video(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=20, size=(96, 128))
    done = _on_full_disk(str(clip), "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {tmp_path / 'out' / 'clip.mp4'}: File too large; nothing was written")
    assert list((tmp_path / "out").iterdir()) == []  # no partial file, no temp file


def test_full_disk_keeps_the_photos_before_and_the_previous_video(tmp_path: Path) -> None:
    make_clip(tmp_path / "in" / "b_clip.mp4", frames=20, size=(96, 128))
    Image.fromarray(np.full((20, 30, 3), 180, np.uint8)).save(tmp_path / "in" / "a_photo.png")
    out = tmp_path / "out"
    assert main([str(tmp_path / "in"), "-o", str(out), "--quiet"]) == 0
    before = (out / "b_clip.mp4").read_bytes()
    assert len(before) > 4000  # the rerun cannot write it again
    (out / "a_photo.png").unlink()
    done = _on_full_disk(str(tmp_path / "in"), "-o", str(out), "--overwrite")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"cannot write {out / 'b_clip.mp4'}: File too large; the previous b_clip.mp4 is intact" in line, line
    assert "stopped after 1 new file(s)" in line  # the photo before it was written
    assert sorted(p.name for p in out.iterdir()) == ["a_photo.png", "b_clip.mp4"]
    assert (out / "b_clip.mp4").read_bytes() == before


def _panned(frames: int, cut_at: int | None = None) -> list[torch.Tensor]:
    """A synthetic hazy scene panned 2 px a frame with noise σ 0.01; after ``cut_at`` a darker, different scene."""
    rng = np.random.default_rng(1)
    rows, columns = np.mgrid[0:64, 0:200].astype(np.float32)
    scene = 0.55 + 0.3 * np.sin(columns / 9.0) * np.cos(rows / 7.0) * (rows / 64.0)
    other = 0.35 + 0.15 * np.cos(columns / 5.0 + rows / 4.0)
    out = []
    for index in range(frames):
        source = other if cut_at is not None and index >= cut_at else scene
        crop = source[:, 2 * index : 2 * index + 120]
        tinted = crop[None] * np.array([0.95, 1.0, 1.05])[:, None, None]
        noisy = np.clip(tinted + rng.normal(0, 0.01, (3, 64, 120)), 0, 1)
        out.append(torch.from_numpy(noisy.astype(np.float32))[None])
    return out


def _flicker(frames: list[torch.Tensor]) -> float:
    means = [float(frame.mean()) * 255.0 for frame in frames]
    return float(np.abs(np.diff(means)).mean())


def test_steady_light_is_steadier_than_per_frame_and_a_cut_resets_it() -> None:
    generator = Dehazer.from_checkpoint(None, device="cpu").model_for(3).generator
    frames = _panned(16, cut_at=10)
    with torch.inference_mode():
        per_frame = [generator(frame) for frame in frames]
        steady = SteadyLight(generator, 1.0, fps=30.0, config=SteadyConfig())
        video = [steady(frame) for frame in frames]
    assert steady.cuts == 1
    assert _flicker(video[:10]) <= _flicker(per_frame[:10])
    assert (video[10] - per_frame[10]).abs().max() < 1e-5  # the first frame after the cut is its own light
