"""Training pairs made on the fly from clean photos: a new scale, crop, depth, β, airlight, tint, noise and JPEG
for every sample, so a few hundred photos give unlimited pairs.

Each item is a pure function of its ``(index, seed)``, so ``--resume`` continues exactly. The photo is resized so
that its short side is a random size between the patch size and its own (log-uniform), then cropped to
``patch``×``patch``: the whole-scene generator sees haze at every image scale. Only horizontal flips are used
(haze thickens towards the top of the frame in the synthetic depth model; a vertical flip would contradict it).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from dehaze.color import to_channels
from dehaze.config import HazeConfig, validate_haze_config
from dehaze.depth import beta_map, family_depth
from dehaze.errors import DehazeError, ImageReadError
from dehaze.haze import tinted_airlight
from dehaze.imageio import read_image, to_tensor


def area_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-resample an H×W×C float image with PIL (one float plane per channel)."""
    planes = [
        np.asarray(Image.fromarray(image[..., c], mode="F").resize((width, height), Image.Resampling.BOX))
        for c in range(image.shape[2])
    ]
    return np.stack(planes, axis=2)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    pixels = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(buffer, "JPEG", quality=quality)
    decoded = np.asarray(Image.open(buffer), dtype=np.float32) / 255.0
    return decoded.reshape(image.shape)


def read_training_photo(path: Path, channels: int) -> np.ndarray:
    """A training photo as float32 H×W×C in [0, 1]; an unreadable one stops training with one line naming it."""
    try:
        return read_image(path, channels)
    except ImageReadError as exc:
        raise DehazeError(f"{exc.path}: {exc.reason}") from None


def to_uint8_cache(image: np.ndarray) -> np.ndarray:
    """8-bit copy of a [0, 1] float photo, as the datasets keep photos in memory (a quarter of float32)."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class PhotoMemory:
    """Training photos read on first use (through ``prepare``, e.g. a resize) and, with ``keep``, kept in memory as
    8-bit copies; served as float32 H×W×C in [0, 1]."""

    def __init__(
        self,
        paths: Sequence[Path],
        channels: int,
        prepare: Callable[[np.ndarray], np.ndarray] | None = None,
        keep: bool = True,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.channels = channels
        self.prepare = prepare
        self.keep = keep
        self._kept: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        if index not in self._kept:
            image = read_training_photo(self.paths[index], self.channels)
            if self.prepare is not None:
                image = self.prepare(image)
            if not self.keep:
                return image
            self._kept[index] = to_uint8_cache(image)
        return self._kept[index].astype(np.float32) / 255.0


def random_scaled_crop(image: np.ndarray, patch: int, rng: np.random.Generator) -> np.ndarray:
    """A ``patch``×``patch`` crop of the photo resized so its short side is log-uniform between ``patch`` and its
    own (photos smaller than ``patch`` are enlarged to it), flipped horizontally half the time."""
    height, width = image.shape[:2]
    short = min(height, width)
    target = short if short <= patch else int(round(np.exp(rng.uniform(np.log(patch), np.log(short)))))
    scale = max(target, patch) / short
    new_h, new_w = max(patch, round(height * scale)), max(patch, round(width * scale))
    if (new_h, new_w) != (height, width):
        image = area_resize(image, new_h, new_w)
    y = int(rng.integers(0, new_h - patch + 1))
    x = int(rng.integers(0, new_w - patch + 1))
    crop = image[y : y + patch, x : x + patch]
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def family_names(cfg: HazeConfig) -> list[str]:
    """The depth families of ``cfg.families`` (comma-separated), in order."""
    return [name.strip() for name in cfg.families.split(",") if name.strip()]


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def degrade(
    clean: np.ndarray, cfg: HazeConfig, rng: np.random.Generator, record: dict[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(target, hazy) for one H×W×C clean crop: the scene darkened (``brightness``, ``gamma``) is the target; its
    hazy version has a depth layout from one family, a near-haze offset, a (non-homogeneous) β, a tinted
    airlight, sensor noise and JPEG. A ``record`` dict receives the drawn parameters and the depth map (the draws,
    and so the outputs, are the same with or without it)."""
    height, width, channels = clean.shape
    names = family_names(cfg)
    family = names[int(rng.integers(len(names)))]
    depth = family_depth(family, height, width, rng, clean)
    near = _uniform(rng, cfg.near)
    beta = _uniform(rng, cfg.beta)
    optical = beta * (near + (1.0 - near) * depth)
    spread = _uniform(rng, cfg.nonhomogeneous)
    optical = optical * beta_map(height, width, rng, spread)
    brightness = _uniform(rng, cfg.brightness)
    gamma = _uniform(rng, cfg.gamma)
    target = (brightness * np.power(clean, gamma)).astype(np.float32)
    airlight = _uniform(rng, cfg.airlight)
    tint = _uniform(rng, cfg.tint) if channels == 3 else 0.0  # drawn for colour only
    light = tinted_airlight(airlight, tint) if channels == 3 else np.float32(airlight)
    t = np.exp(-optical)[..., None].astype(np.float32)
    hazy = target * t + light * (1.0 - t)
    sigma = _uniform(rng, cfg.noise_std)
    if sigma > 0:
        hazy = hazy + rng.normal(0.0, sigma, size=hazy.shape).astype(np.float32)
    hazy = np.clip(hazy, 0.0, 1.0)
    quality = None
    if rng.random() < cfg.jpeg_probability:
        quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        hazy = _jpeg(hazy, quality)
    gray = channels == 3 and cfg.gray_probability > 0.0 and rng.random() < cfg.gray_probability
    if gray:
        target, hazy = (to_channels(to_channels(image, 1), 3) for image in (target, hazy))
    if record is not None:
        drawn = dict(family=family, near=near, beta=beta, nonhomogeneous=spread, brightness=brightness, gamma=gamma)
        drawn.update(airlight=airlight, noise_std=sigma, jpeg_quality=quality, gray=bool(gray), depth=depth)
        record.update(drawn, tint=tint)
    return target, hazy.astype(np.float32)


class OnTheFlyHaze(Dataset):
    """Clean photos → ``dict(hazy, clean, name)`` with a fresh random degradation per ``(index, seed)``."""

    def __init__(
        self,
        paths: Sequence[Path],
        channels: int = 1,
        patch_size: int = 128,
        haze: HazeConfig | None = None,
        cache: bool = True,
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if not paths:
            raise DehazeError("no clean photos to make training pairs from")
        self.paths = [Path(p) for p in paths]
        self.channels = channels
        self.patch_size = patch_size
        self.haze = haze or HazeConfig()
        validate_haze_config(self.haze)
        self.cache = cache
        self._photos = PhotoMemory(self.paths, channels, keep=cache)
        self.skipped: list[tuple[Path, str]] = []  # nothing is skipped: an unreadable photo stops training

    def __len__(self) -> int:
        return len(self.paths)

    def _image(self, index: int) -> np.ndarray:
        """The photo as float32 in [0, 1]; with ``cache``, kept as 8-bit after the first read (and served from it)."""
        return self._photos[index]

    def pair_arrays(self, index: int, seed: int, record: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(target, hazy) float arrays of item ``index`` made from ``seed``; ``record`` gets the haze drawn."""
        rng = np.random.default_rng(seed)
        clean = np.ascontiguousarray(random_scaled_crop(self._image(index), self.patch_size, rng))
        return degrade(clean, self.haze, rng, record)

    def get(self, index: int, seed: int | None = None) -> dict[str, torch.Tensor | str]:
        seed = seed if seed is not None else int(torch.randint(0, 2**31 - 1, ()).item())
        target, hazy = self.pair_arrays(index, seed)
        return {"hazy": to_tensor(hazy), "clean": to_tensor(target), "name": self.paths[index].stem}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        return self.get(index)
