"""Whole training photos as small hazy scenes, for the scene branch (:mod:`dehaze.train.scene_branch`).

The crops of :class:`~dehaze.data.onthefly.OnTheFlyHaze` rarely show the generator a whole scene, while at inference
its view is always one. Here every photo is centre-cropped to 4:3 and area-resized into a fixed frame, short side
``scene_size`` (``scene_size`` × round(``scene_size`` · 4/3)), then hazed with the crops' own synthesis
(:func:`~dehaze.data.onthefly.degrade`). Orientation is kept: a portrait photo fills the portrait frame (the same
frame turned), so the sky stays at the top as in the photos the model will be given, and the haze synthesis, whose
haze thickens towards the top of the frame, sees the photo upright. A square photo takes the landscape frame. A
batch is therefore one or two groups of equal shape (:meth:`WholeScenes.batch`).

Each item is a pure function of ``(index, seed)`` and each batch of ``(step, seed)``: every photo once per epoch,
in a fresh order each epoch. ``--resume`` continues exactly with nothing to save but the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dehaze.config import HazeConfig, validate_haze_config
from dehaze.data.onthefly import PhotoMemory, area_resize, degrade
from dehaze.errors import DehazeError
from dehaze.imageio import to_tensor

SCENE_SEED_SALT = 0x5CE4E  # keeps the scene stream independent of the crop and real-photo streams
ASPECT = 4 / 3


def scene_frame(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) of the frame a ``height``×``width`` photo fills: 4:3, landscape unless the photo is portrait."""
    long_side = round(short_side * ASPECT)
    return (long_side, short_side) if height > width else (short_side, long_side)


def centre_crop(image: np.ndarray, aspect_h: int, aspect_w: int) -> np.ndarray:
    """The largest centred window of ``image`` with the aspect ratio ``aspect_h``:``aspect_w``."""
    height, width = image.shape[:2]
    if height * aspect_w > width * aspect_h:  # too tall: trim top and bottom
        keep_h, keep_w = max(1, round(width * aspect_h / aspect_w)), width
    else:
        keep_h, keep_w = height, max(1, round(height * aspect_w / aspect_h))
    top, left = (height - keep_h) // 2, (width - keep_w) // 2
    return image[top : top + keep_h, left : left + keep_w]


def whole_scene(image: np.ndarray, short_side: int) -> np.ndarray:
    """The whole photo in its frame (:func:`scene_frame`): centre-cropped to 4:3, then area-resized."""
    frame_h, frame_w = scene_frame(*image.shape[:2], short_side)
    cropped = centre_crop(image, frame_h, frame_w)
    return area_resize(np.ascontiguousarray(cropped), frame_h, frame_w)


def scene_samples(step: int, batch_size: int, count: int, seed: int) -> list[tuple[int, int]]:
    """``(photo index, item seed)`` of the samples of training step ``step``: every photo once per epoch, in an
    order drawn from ``(seed, epoch)``; each sample's seed from ``(seed, sample number)``."""
    orders: dict[int, np.ndarray] = {}
    samples = []
    for sample in range(step * batch_size, (step + 1) * batch_size):
        epoch, position = divmod(sample, count)
        if epoch not in orders:
            orders[epoch] = np.random.default_rng([seed, epoch, SCENE_SEED_SALT]).permutation(count)
        item_seed = int(np.random.SeedSequence([seed, sample, SCENE_SEED_SALT]).generate_state(1)[0])
        samples.append((int(orders[epoch][position]), item_seed))
    return samples


class WholeScenes:
    """Clean training photos → whole hazy scenes (``dict(hazy, clean, name)``) and per-step batches of them."""

    def __init__(
        self, paths: Sequence[Path], channels: int, scene_size: int = 96, haze: HazeConfig | None = None
    ) -> None:
        if not paths:
            raise DehazeError("no clean photos to make whole scenes from")
        self.paths = [Path(p) for p in paths]
        self.channels = channels
        self.scene_size = scene_size
        self.haze = haze or HazeConfig()
        validate_haze_config(self.haze)
        self._scenes = PhotoMemory(self.paths, channels, prepare=partial(whole_scene, short_side=scene_size))

    def __len__(self) -> int:
        return len(self.paths)

    def scene(self, index: int) -> np.ndarray:
        """The clean scene as float32 H×W×C in [0, 1] (read and resized once, then kept as 8-bit)."""
        return self._scenes[index]

    def pair_arrays(self, index: int, seed: int, record: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(target, hazy) of scene ``index`` from ``seed``: flipped horizontally half the time, then hazed."""
        rng = np.random.default_rng(seed)
        clean = self.scene(index)
        if rng.random() < 0.5:
            clean = np.ascontiguousarray(clean[:, ::-1])
        return degrade(clean, self.haze, rng, record)

    def get(self, index: int, seed: int) -> dict[str, torch.Tensor | str]:
        target, hazy = self.pair_arrays(index, seed)
        return {"hazy": to_tensor(hazy), "clean": to_tensor(target), "name": self.paths[index].stem}

    def batch(self, step: int, batch_size: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The scenes of training step ``step`` as ``(hazy, clean)`` N×C×H×W groups, one per frame shape
        (landscape first)."""
        groups: dict[tuple[int, ...], list[dict[str, Any]]] = {}
        for index, item_seed in scene_samples(step, batch_size, len(self), seed):
            item = self.get(index, item_seed)
            groups.setdefault(tuple(item["clean"].shape), []).append(item)
        ordered = sorted(groups.items(), key=lambda entry: entry[0][1] > entry[0][2])  # landscape, then portrait
        return [
            (torch.stack([i["hazy"] for i in items]), torch.stack([i["clean"] for i in items])) for _, items in ordered
        ]
