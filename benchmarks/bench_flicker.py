"""Flicker of the video path against per-frame dehazing (issue 36): mean |Δ mean luminance| frame to frame, in
levels of 255, on real hazy photos panned 2 px a frame with noise σ 0.01, and on clips with a scene cut.

    python benchmarks/bench_flicker.py [--photos ../shared/data/real_hazy] [--frames 30] [--threads 2]
                                       [--out-json benchmarks/results/flicker.json] [--sheet FRAMES.png]

For each photo: the input's flicker, per-frame processing (``Dehazer.dehaze_array`` on each frame, what every
frame got before) and the video path (the frame function ``dehaze-infer`` uses on a video: the steady light of
``dehaze.video.steady``), and the target of the issue: at most 3 × the input's flicker or the input's + 0.15 levels,
whichever is larger. Cut clips pair each photo with the next one (the cut at the middle frame); their flicker leaves
out the change at the cut, and ``reset`` gives how far (levels of mean luminance) the video path is from per-frame
processing on the 3 frames from the cut on. Frames are measured as the frame function returns them (before the
encoder). ``--sheet`` writes a few frames (input, per frame, video path) side by side, at half size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from video_common import photo_paths, read_photos, write_report

from dehaze.atomic import atomic_write_text
from dehaze.imageio import to_uint8
from dehaze.inference import Dehazer
from dehaze.video.flicker import cut_clip, flicker, mean_luminance, panned_frames
from dehaze.video.run import frame_function
from dehaze.video.steady import SteadyConfig

FPS = 30.0


def target(input_flicker: float) -> float:
    """The issue's bound: 3 × the input's flicker, or the input's + 0.15 levels, whichever is larger."""
    return max(3.0 * input_flicker, input_flicker + 0.15)


def run_paths(dehazer: Dehazer, frames: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """The clip through per-frame processing and through the video path (a fresh steady state)."""
    video_fn, _ = frame_function(dehazer, FPS, SteadyConfig())
    return {
        "input": frames,
        "per_frame": [dehazer.dehaze_array(frame) for frame in frames],
        "video": [video_fn(frame) for frame in frames],
    }


def pan_row(dehazer: Dehazer, photo: np.ndarray, frames: int) -> tuple[dict, dict]:
    clips = run_paths(dehazer, list(panned_frames(photo, frames)))
    row = {name: round(flicker(clip), 3) for name, clip in clips.items()}
    row["target"] = round(target(row["input"]), 3)
    row["met"] = row["video"] <= row["target"]
    return row, clips


def cut_row(dehazer: Dehazer, first: np.ndarray, second: np.ndarray, frames: int) -> dict:
    cut = frames // 2
    clips = run_paths(dehazer, cut_clip(first, second, frames))
    row = {name: round(flicker(clip, skip=(cut,)), 3) for name, clip in clips.items()}
    row["target"] = round(target(row["input"]), 3)
    row["met"] = row["video"] <= row["target"]
    reset = [
        abs(mean_luminance(clips["video"][i]) - mean_luminance(clips["per_frame"][i])) for i in range(cut, cut + 3)
    ]
    row["reset"] = [round(value, 3) for value in reset]
    return row


def sheet(clips: dict[str, list[np.ndarray]], path: Path, picks: tuple[int, ...] = (0, 14, 29)) -> None:
    """Frames ``picks`` of each path, rows: input, per frame, video path; at half size (a JPEG by the suffix)."""
    picks = tuple(index for index in picks if index < len(clips["input"]))
    rows = [np.concatenate([clips[name][index] for index in picks], axis=1) for name in clips]
    picture = Image.fromarray(to_uint8(np.concatenate(rows, axis=0) / 255.0))
    picture.resize((picture.width // 2, picture.height // 2), Image.Resampling.LANCZOS).save(path, quality=85)


def merge(parts: list[Path], out: Path) -> int:
    """One report of several ``--only`` runs (rows merged, the loads of each run kept)."""
    report: dict = {"pan": {}, "cut": {}, "loads": []}
    for part in parts:
        data = json.loads(part.read_text())
        report["pan"].update(data["pan"])
        report["cut"].update(data["cut"])
        report["loads"].append([data["load"], data["load_after"]])
    atomic_write_text(out, json.dumps(report, indent=1, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/real_hazy"))
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--max-photos", type=int, default=0, help="use only the first N photos (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-json", type=Path, default=Path("benchmarks/results/flicker.json"))
    parser.add_argument("--sheet", type=Path, help="picture of frames 0, 14, 29 of the first photo's pan")
    parser.add_argument("--only", type=int, help="only photo I's pan and its cut to photo I+1 (runs in parallel)")
    parser.add_argument("--merge", type=Path, nargs="+", help="combine the JSON of --only runs into --out-json")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out_json)
    torch.set_num_threads(args.threads)
    photos = read_photos(photo_paths(args.photos, args.max_photos))
    dehazer = Dehazer.from_checkpoint(None, device="cpu")
    report: dict = {"pan": {}, "cut": {}, "load": os.getloadavg(), "machine": platform.machine()}
    names = list(photos)
    for index, name in enumerate(names):
        if args.only is not None and index != args.only:
            continue
        row, clips = pan_row(dehazer, photos[name], args.frames)
        report["pan"][name] = row
        print(f"pan {name:14s} " + " ".join(f"{k} {v}" for k, v in row.items()), flush=True)
        if args.sheet and index == (args.only or 0):
            sheet(clips, args.sheet)
        if len(names) > 1:
            second = names[(index + 1) % len(names)]
            report["cut"][f"{name} → {second}"] = row = cut_row(dehazer, photos[name], photos[second], args.frames)
            print(f"cut {name:14s} " + " ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    write_report(report, args.out_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
