"""Embedded default data: hazy/clean pairs synthesised once from scikit-image's bundled sample photos.

No download is needed: the photos are the files that ship inside the scikit-image wheel (``skimage/data``;
only files present there are used, never the ones scikit-image fetches with pooch). On first use 13 real
photographs are converted to grayscale, cut into 8 random 128×128 crops each, and every crop gets 3 hazy
versions with RESIDE-like β and A (see :mod:`dehaze.synth`, seed 0): 104 clean crops, 312 pairs.

The result is cached in ``$DEHAZE_CACHE/default-v1`` (default ``$XDG_CACHE_HOME/dehaze`` or
``~/.cache/dehaze``). It is built in a temporary folder beside it and renamed into place in one step, so an
interrupted run never leaves a half-written cache, and concurrent first runs are safe.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dehaze.cache import cache_dir
from dehaze.errors import DehazeError
from dehaze.haze import HazeRanges
from dehaze.synth import MANIFEST_NAME, SynthConfig, synthesize_pairs

DEFAULT_DATA_VERSION = "default-v1"
SAMPLE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "rocket.jpg",
    "text.png",
)
DEFAULT_SYNTH = SynthConfig(ranges=HazeRanges(), seed=0, crop=128, per_image=8, variants=3, progress=False)


def sample_photo_paths() -> list[Path]:
    """The bundled scikit-image photos used for the default data."""
    import skimage

    folder = Path(skimage.__file__).resolve().parent / "data"
    paths = [folder / name for name in SAMPLE_PHOTOS]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise DehazeError(
            f"scikit-image's bundled sample photos are missing from {folder} ({', '.join(missing)}); "
            "reinstall scikit-image or pass your own data folder"
        )
    return paths


def default_data_root() -> Path:
    """A dataset root (``hazy/``, ``clean/``, ``manifest.csv``) for :func:`find_pairs`, built on first use."""
    root = cache_dir() / DEFAULT_DATA_VERSION
    if (root / MANIFEST_NAME).is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    if root.exists():  # not made by us in one rename (no manifest): rebuild it
        stale = Path(tempfile.mkdtemp(prefix=f".{DEFAULT_DATA_VERSION}-stale-", dir=root.parent))
        os.replace(root, stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{DEFAULT_DATA_VERSION}-", dir=root.parent))
    try:
        sources = staging / "sources"
        sources.mkdir()
        for path in sample_photo_paths():
            shutil.copyfile(path, sources / path.name)
        synthesize_pairs(sources, staging, DEFAULT_SYNTH)
        shutil.rmtree(sources)
        (staging / "README.txt").write_text(
            f"dehaze default data ({DEFAULT_DATA_VERSION}): pairs synthesised by dehaze.data.default from "
            f"scikit-image's bundled photos {', '.join(SAMPLE_PHOTOS)}; see manifest.csv. Safe to delete.\n"
        )
        try:
            os.replace(staging, root)
        except OSError:
            if not (root / MANIFEST_NAME).is_file():  # lost a race only if the winner finished
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root
