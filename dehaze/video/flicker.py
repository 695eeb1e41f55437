"""Flicker, measured: the mean absolute change of mean luminance from one frame to the next, in levels of 255, and
the test clips it is measured on (a photo panned a few pixels a frame with sensor noise, and two photos with a cut).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])  # BT.601, as dehaze.color.luminance


def mean_luminance(frame: np.ndarray) -> float:
    """Mean BT.601 luminance of a uint8 H×W×3 (or H×W) frame, in levels of 255."""
    values = frame.astype(np.float64)
    return float((values @ LUMA).mean() if values.ndim == 3 else values.mean())


def flicker(frames: list[np.ndarray], skip: tuple[int, ...] = ()) -> float:
    """Mean |Δ mean luminance| between consecutive frames (levels of 255); ``skip``: frame indices whose change
    from the frame before is left out (a scene cut)."""
    means = np.array([mean_luminance(frame) for frame in frames])
    changes = np.abs(np.diff(means))
    keep = [index for index in range(len(changes)) if index + 1 not in skip]
    return float(changes[keep].mean())


def panned_frames(
    photo: np.ndarray, frames: int = 30, step: int = 2, sigma: float = 0.01, seed: int = 0, width: int | None = None
) -> Iterator[np.ndarray]:
    """uint8 frames of ``photo`` (H×W×3 uint8) panned ``step`` px a frame to the right, Gaussian noise of ``sigma``
    (in [0, 1] units) added to each; frames are ``width`` wide (default: the photo less the pan)."""
    rng = np.random.default_rng(seed)
    width = width or photo.shape[1] - step * frames
    if width < 1 or width + step * (frames - 1) > photo.shape[1]:
        raise ValueError(f"a {photo.shape[1]}-px wide photo cannot be panned {frames} × {step} px at width {width}")
    for index in range(frames):
        crop = photo[:, step * index : step * index + width].astype(np.float32) / 255.0
        noisy = crop + rng.normal(0.0, sigma, crop.shape).astype(np.float32)
        yield (np.clip(noisy, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def cut_clip(first: np.ndarray, second: np.ndarray, frames: int = 30, step: int = 2, seed: int = 0) -> list:
    """Half the frames panned across ``first``, then a cut to ``second`` panned likewise (both cropped to a common
    frame size); the cut is at frame ``frames // 2``."""
    height = min(first.shape[0], second.shape[0])
    half = frames // 2
    width = min(first.shape[1], second.shape[1]) - step * (frames - half)
    clips = [
        panned_frames(photo[:height], count, step, seed=seed + index, width=width)
        for index, (photo, count) in enumerate(((first, half), (second, frames - half)))
    ]
    return [*clips[0], *clips[1]]
