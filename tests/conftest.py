"""Shared test settings (quiet, offline, small) and fixtures."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

torch.set_num_threads(2)

# Command-line options for a tiny, fast training run (CPU, a few px, a handful of steps).
TINY_TRAIN_ARGS = [
    "--set",
    "model.base_width=4",
    "--set",
    "model.depth=2",
    "--set",
    "model.width=4",
    "--set",
    "model.view_size=16",
    "--set",
    "critic.spatial_width=4",
    "--set",
    "critic.frequency_width=4",
    "--set",
    "critic.spatial_layers=2",
    "--set",
    "train.num_workers=0",
    "--set",
    "train.log_every=1",
    "--set",
    "train.sample_every=2",
    "--set",
    "train.val_every=2",
    "--set",
    "train.checkpoint_every=1",
    "--set",
    "train.val_max_images=2",
    "--set",
    "train.test_fraction=0.3",
    "--batch-size",
    "2",
    "--patch-size",
    "16",
    "--device",
    "cpu",
]


@pytest.fixture
def tiny_train_args() -> list[str]:
    """A copy of :data:`TINY_TRAIN_ARGS`."""
    return list(TINY_TRAIN_ARGS)


def make_pairs(root: Path, count: int = 10, size: int = 24, seed: int = 0) -> Path:
    """Smooth random 'photos' and their hazy versions in ``root``/hazy + ``root``/clean (same names)."""
    rng = np.random.default_rng(seed)
    (root / "hazy").mkdir(parents=True)
    (root / "clean").mkdir()
    for i in range(count):
        coarse = rng.random((4, 4))
        clean = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC))
        hazy = (clean * 0.6 + 0.4 * 230).astype(np.uint8)
        Image.fromarray(clean).save(root / "clean" / f"img{i:02d}.png")
        Image.fromarray(hazy).save(root / "hazy" / f"img{i:02d}.png")
    return root


def make_hazy_photos(folder: Path, count: int = 4) -> Path:
    """``count`` smooth colour 'real hazy photos' of different sizes (no ground truth) in ``folder``."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(count):
        coarse = (rng.random((5, 5, 3)) * 120 + 120).astype(np.uint8)
        Image.fromarray(coarse).resize((40 + 7 * i, 30 + 5 * i), Image.BICUBIC).save(folder / f"fog{i}.jpg")
    return folder


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """Ten tiny hazy/clean pairs in a fresh folder."""
    return make_pairs(tmp_path / "pairs")


def random_tensor(*shape: int, seed: int = 0) -> torch.Tensor:
    """Uniform [0, 1) tensor, reproducible by ``seed``."""
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))
