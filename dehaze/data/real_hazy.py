"""Real hazy photos with no ground truth, served as random scaled crops for the semi-supervised branch.

Each batch is a pure function of ``(seed, step)`` (photo choice, scale, crop, flip), so ``--resume`` continues
exactly. Photos are read once, shrunk to at most ``max_side`` pixels (area averaging) and kept as 8-bit: large
road-camera and phone JPEGs would otherwise be decoded at every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

from dehaze.data.onthefly import PhotoMemory, area_resize, random_scaled_crop
from dehaze.errors import DehazeError
from dehaze.imageio import to_tensor

REAL_SEED_SALT = 0x5EA1  # keeps the real-photo stream independent of the paired one for the same seed


def shrink_to(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` (H×W×C float) area-resized so its long side is at most ``max_side`` (smaller ones unchanged)."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return image
    return area_resize(image, max(1, round(height * scale)), max(1, round(width * scale)))


class RealHazyPhotos:
    """Paths of real hazy photos → N×C×patch×patch batches in [0, 1]."""

    def __init__(self, paths: Sequence[Path], channels: int, patch_size: int, max_side: int = 640) -> None:
        if not paths:
            raise DehazeError("no real hazy photos to train on")
        self.paths = [Path(p) for p in paths]
        self.channels = channels
        self.patch_size = patch_size
        self.max_side = max_side
        self._photos = PhotoMemory(self.paths, channels, prepare=partial(shrink_to, max_side=max_side))

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> np.ndarray:
        """The photo as float32 H×W×C, long side at most ``max_side`` (read once, then served from memory)."""
        return self._photos[index]

    def batch(self, step: int, batch_size: int, seed: int) -> torch.Tensor:
        """The crops of training step ``step``: photos drawn with replacement, a fresh scale and crop each."""
        rng = np.random.default_rng([seed, step, REAL_SEED_SALT])
        crops = []
        for index in rng.integers(0, len(self.paths), size=batch_size):
            crop = random_scaled_crop(self.image(int(index)), self.patch_size, rng)
            crops.append(to_tensor(np.ascontiguousarray(crop)))
        return torch.stack(crops)
