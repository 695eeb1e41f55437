"""Synthesise hazy/clean pairs from a folder of clean photos with the atmospheric scattering model.

Output layout (understood by :func:`dehaze.data.pairing.find_pairs`)::

    OUT_DIR/clean/<id>.png                 the clean image (grayscale unless ``color``), or a crop of it
    OUT_DIR/hazy/<id>_<A>_<beta>.png       RESIDE-style name, A and β with two decimals
    OUT_DIR/manifest.csv                   hazy, clean, beta, airlight, source, depth_source, crop

``<id>`` is the source file's stem (its relative path with ``-`` for ``/`` when stems collide), plus
``-c<k>`` for the k-th crop. β and A are drawn uniformly from :class:`~dehaze.haze.HazeRanges` and rounded to
the two decimals of the file name before use, so names and manifest are exact. Depth comes from a depth-map
folder (same relative path and stem, any image format; brighter = farther; resized to the image and min–max
normalised) or from :func:`~dehaze.haze.synthetic_depth` computed on the whole photo before cropping.

Each source image gets its own random generator seeded from ``(seed, CRC32 of its relative path)``, so the
output is byte-identical for the same inputs and seed, and adding a photo does not change the others' pairs.

Safety: OUT_DIR may not be (inside) an input folder, and no input may lie in OUT_DIR/hazy or OUT_DIR/clean.
Everything is written into a hidden staging folder inside OUT_DIR and moved into place only when all images
succeeded, so a failed or interrupted run leaves no partial pairs. An earlier output (hazy/, clean/,
manifest.csv) is only replaced with ``overwrite``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from dehaze.atomic import atomic_write_text, remove_stale_temps, temp_prefix
from dehaze.errors import DehazeError, ImageReadError
from dehaze.haze import HazeRanges, add_haze, normalise_depth, synthetic_depth
from dehaze.imageio import IMAGE_SUFFIXES, list_images, read_image, save_image, scan_images
from dehaze.paths import is_within

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("hazy", "clean", "beta", "airlight", "source", "depth_source", "crop", "airlight_rgb")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class SynthConfig:
    """Options of :func:`synthesize_pairs` (the ``dehaze-synth`` flags)."""

    ranges: HazeRanges = field(default_factory=HazeRanges)
    seed: int = 0
    crop: int | None = None  # crop size in pixels; None keeps whole images
    per_image: int = 1  # crops per source image (with crop)
    variants: int = 1  # hazy versions per clean image / crop
    color: bool = False  # keep RGB; default grayscale (luminance)
    depth_dir: Path | None = None
    skip_bad: bool = False  # skip unreadable files (reported through on_skip) instead of failing
    overwrite: bool = False  # replace an earlier output in OUT_DIR
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("per_image", "variants"):
            if getattr(self, name) < 1:
                raise DehazeError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.crop is not None and self.crop < 1:
            raise DehazeError(f"crop size must be >= 1, got {self.crop}")


def _check_folders(clean_dir: Path, out_dir: Path, depth_dir: Path | None) -> None:
    if not clean_dir.is_dir():
        raise DehazeError(f"{clean_dir}: clean image folder not found")
    if depth_dir is not None and not depth_dir.is_dir():
        raise DehazeError(f"{depth_dir}: depth map folder not found")
    out, clean = out_dir.resolve(), clean_dir.resolve()
    inputs = [clean] + ([depth_dir.resolve()] if depth_dir is not None else [])
    for folder in inputs:
        if is_within(out, folder):
            raise DehazeError(f"output folder {out_dir} must not be {folder} or inside it (an input folder)")
        if any(is_within(folder, out / sub) for sub in ("hazy", "clean")) or folder == out:
            raise DehazeError(f"input folder {folder} lies where the output of {out_dir} would be written")


def _check_output(out_dir: Path, overwrite: bool) -> None:
    existing = [name for name in ("hazy", "clean", MANIFEST_NAME) if (out_dir / name).exists()]
    if existing and not overwrite:
        raise DehazeError(
            f"{out_dir} already holds {', '.join(existing)}; choose another folder or pass --overwrite "
            "(which replaces them)"
        )


def _image_ids(sources: list[Path], clean_dir: Path) -> dict[Path, str]:
    """Unique, file-name-safe ids: the stem, or the relative path when stems collide."""
    stems = Counter(path.stem for path in sources)
    ids: dict[Path, str] = {}
    taken: set[str] = set()
    for path in sources:
        rel = path.relative_to(clean_dir).with_suffix("")
        raw = path.stem if stems[path.stem] == 1 else "-".join(rel.parts)
        base = _UNSAFE_CHARS.sub("-", raw).strip("-.") or "image"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        taken.add(candidate)
        ids[path] = candidate
    return ids


def _load_depth(path: Path, height: int, width: int) -> np.ndarray:
    depth = read_image(path, channels=1)[..., 0]
    if depth.shape != (height, width):
        depth = np.asarray(Image.fromarray(depth, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    return normalise_depth(depth)


def _load_source(
    source: Path,
    rel: Path,
    channels: int,
    depth_dir: Path | None,
    depth_maps: dict[Path, Path],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(image, depth in [0, 1], depth source) for one source photo; ImageReadError names the bad file."""
    image = read_image(source, channels)
    height, width = image.shape[:2]
    if depth_dir is None:
        return image, synthetic_depth(height, width, rng, image=image), "synthetic"
    depth_path = depth_maps.get(rel.with_suffix(""))
    if depth_path is None:
        raise ImageReadError(source, f"no depth map with the same name in {depth_dir}")
    return image, _load_depth(depth_path, height, width), depth_path.relative_to(depth_dir).as_posix()


def _bad_file(error: ImageReadError, config: SynthConfig, on_skip: Callable[[Path, str], None] | None) -> None:
    """Raise ``error``, or with ``config.skip_bad`` pass it to ``on_skip`` (the file is then skipped)."""
    if not config.skip_bad:
        raise error
    if on_skip is not None:
        on_skip(error.path, error.reason)


def _crop_boxes(height: int, width: int, config: SynthConfig, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """(x, y, w, h) boxes; an image smaller than the crop size is used whole (once)."""
    if config.crop is None:
        return [(0, 0, width, height)]
    size = config.crop
    if height < size or width < size:
        return [(0, 0, width, height)]
    return [
        (int(rng.integers(0, width - size + 1)), int(rng.integers(0, height - size + 1)), size, size)
        for _ in range(config.per_image)
    ]


def synthesize_pairs(
    clean_dir: Path,
    out_dir: Path,
    config: SynthConfig | None = None,
    on_skip: Callable[[Path, str], None] | None = None,
) -> Path:
    """Write hazy/clean pairs for every image under ``clean_dir`` into ``out_dir``; returns the manifest path.

    Unreadable images (and missing depth maps) raise :class:`DehazeError` naming the file, or with
    ``config.skip_bad`` are passed to ``on_skip(path, reason)`` and skipped.
    """
    config = config or SynthConfig()
    clean_dir, out_dir = Path(clean_dir), Path(out_dir)
    depth_dir = Path(config.depth_dir) if config.depth_dir is not None else None
    _check_folders(clean_dir, out_dir, depth_dir)
    scan = scan_images(clean_dir)
    for path, reason in scan.skipped:  # broken links, FIFOs, linked folders, formats we cannot decode
        _bad_file(ImageReadError(path, reason), config, on_skip)
    sources = scan.images
    if not sources:
        raise DehazeError(f"{clean_dir}: no images found (suffixes {' '.join(sorted(IMAGE_SUFFIXES))})")
    depth_maps: dict[Path, Path] = {}
    if depth_dir is not None:
        for path in list_images(depth_dir):
            depth_maps.setdefault(path.relative_to(depth_dir).with_suffix(""), path)
    _check_output(out_dir, config.overwrite)

    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)  # the staging folder of a run that was killed (kill -9)
    staging = Path(tempfile.mkdtemp(prefix=temp_prefix("dehaze-synth"), suffix=".tmp", dir=out_dir))
    try:
        rows = _write_pairs(sources, clean_dir, staging, depth_dir, depth_maps, config, on_skip)
        if not rows:
            raise DehazeError(f"{clean_dir}: no readable images, nothing written")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(staging / MANIFEST_NAME, buffer.getvalue())
        _check_output(out_dir, config.overwrite)
        for name in ("hazy", "clean", MANIFEST_NAME):
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / MANIFEST_NAME


def _write_pairs(
    sources: list[Path],
    clean_dir: Path,
    out_dir: Path,
    depth_dir: Path | None,
    depth_maps: dict[Path, Path],
    config: SynthConfig,
    on_skip: Callable[[Path, str], None] | None,
) -> list[dict[str, str]]:
    """Write the pairs of every source into ``out_dir``; returns the manifest rows."""
    ids = _image_ids(sources, clean_dir)
    rows: list[dict[str, str]] = []
    channels = 3 if config.color else 1
    for source in tqdm(sources, desc="dehaze-synth", unit="image", disable=not config.progress):
        rel = source.relative_to(clean_dir)
        rng = np.random.default_rng([config.seed, zlib.crc32(rel.as_posix().encode())])
        try:
            image, depth, depth_source = _load_source(source, rel, channels, depth_dir, depth_maps, rng)
        except ImageReadError as exc:
            _bad_file(exc, config, on_skip)
            continue
        height, width = image.shape[:2]
        boxes = _crop_boxes(height, width, config, rng)
        for k, (x, y, w, h) in enumerate(boxes):
            clean_id = ids[source] if config.crop is None else f"{ids[source]}-c{k:03d}"
            clean = image[y : y + h, x : x + w]
            clean_path = out_dir / "clean" / f"{clean_id}.png"
            save_image(clean, clean_path)
            names: set[str] = set()
            for _ in range(config.variants):
                for _attempt in range(1000):
                    beta, airlight = (round(v, 2) for v in config.ranges.sample(rng))
                    name = f"{clean_id}_{airlight:.2f}_{beta:.2f}.png"
                    if name not in names:
                        break
                else:
                    raise DehazeError(f"cannot draw {config.variants} distinct (A, beta) pairs from the given ranges")
                names.add(name)
                light = config.ranges.airlight_per_channel(airlight, channels, rng)
                hazy = add_haze(clean, depth[y : y + h, x : x + w], beta, light)
                save_image(hazy, out_dir / "hazy" / name)
                rows.append(
                    {
                        "hazy": f"hazy/{name}",
                        "clean": f"clean/{clean_id}.png",
                        "beta": f"{beta:.2f}",
                        "airlight": f"{airlight:.2f}",
                        "source": rel.as_posix(),
                        "depth_source": depth_source,
                        "crop": f"{x} {y} {w} {h}",
                        "airlight_rgb": " ".join(f"{v:.4f}" for v in np.atleast_1d(light)),
                    }
                )
    return rows


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a ``manifest.csv`` written by :func:`synthesize_pairs`."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
