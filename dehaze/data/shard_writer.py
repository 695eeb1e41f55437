"""Write training pairs into WebDataset tar shards: pairs synthesised by the trainer's own on-the-fly haze, or
a paired folder (``--data`` layouts) packed as it is.

Every sample holds ``hazy.png``, ``clean.png`` and ``json`` (where it came from and, for synthesised pairs, the
drawn haze parameters: depth family, β, airlight, tint, near haze, non-homogeneity, brightness, gamma, noise,
JPEG quality, gray, and the sample's seed); synthesised samples also hold ``depth.npy`` (float16, the depth map
the haze was made with, 0 = near, 1 = far). Samples are shuffled (seeded) before they are cut into shards of
``shard_size``, so every shard is a mix of photos; shard ``n`` is ``train-{n:06d}.tar``. Each sample is a pure
function of its seed, so the shards are the same for any number of workers. Workers write whole shards in
parallel; each shard is written to a temp file and renamed, so a shard on disk is always complete.
"""

from __future__ import annotations

import io
import json
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from dehaze.atomic import atomic_write, atomic_write_text, remove_stale_temps
from dehaze.config import HazeConfig
from dehaze.errors import DehazeError, WriteError

SHARD_NAME = "train-{:06d}.tar"
SUMMARY_NAME = "shards.json"
FORMAT = "dehaze-shards/1"


@dataclass
class ShardConfig:
    """How samples are made and cut into shards (``patch_size`` and ``haze`` only for synthesised pairs)."""

    shard_size: int = 1000
    variants: int = 1
    workers: int = 1
    seed: int = 0
    channels: int = 1
    patch_size: int = 128
    haze: HazeConfig = field(default_factory=HazeConfig)
    skip_bad: bool = False
    overwrite: bool = False
    progress: bool = True


@dataclass
class ShardSummary:
    """What was written: shard names with their sample counts, and the skipped inputs as ``"path: reason"``."""

    out_dir: Path
    shards: list[tuple[str, int]]
    skipped: list[str]

    @property
    def samples(self) -> int:
        return sum(count for _, count in self.shards)


def sample_seed(seed: int, number: int) -> int:
    """The 31-bit seed of sample ``number`` of a shard set made with ``seed``."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0] % (2**31 - 1))


def png_bytes(image: np.ndarray) -> bytes:
    """An H×W×C float image in [0, 1] as 8-bit PNG bytes (gray for one channel), zlib level 1 like our writer."""
    from dehaze.imageio import to_uint8

    pixels = to_uint8(image[..., 0] if image.shape[2] == 1 else image)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- sample makers
class SynthSamples:
    """Sample ``number`` = on-the-fly pair ``jobs[number]`` (photo index, variant) made from its own seed."""

    def __init__(self, photos: Sequence[Path], root: Path, config: ShardConfig) -> None:
        from dehaze.data.onthefly import OnTheFlyHaze

        self.dataset = OnTheFlyHaze(photos, config.channels, config.patch_size, config.haze, cache=False)
        self.root, self.seed = root, config.seed
        jobs = [(i, v) for i in range(len(photos)) for v in range(config.variants)]
        self.jobs = [jobs[i] for i in np.random.default_rng(config.seed).permutation(len(jobs))]

    def __len__(self) -> int:
        return len(self.jobs)

    def make(self, number: int) -> dict[str, Any]:
        index, variant = self.jobs[number]
        seed = sample_seed(self.seed, number)
        record: dict[str, Any] = {}
        target, hazy = self.dataset.pair_arrays(index, seed, record)
        depth = record.pop("depth").astype(np.float16)
        path = self.dataset.paths[index]
        meta = {"kind": "synth", "source": _relative(path, self.root), "variant": variant, "seed": seed, **record}
        sample = {"hazy.png": png_bytes(hazy), "clean.png": png_bytes(target), "depth.npy": npy_bytes(depth)}
        return {**sample, "json": json.dumps(meta).encode()}


class PairSamples:
    """Sample ``number`` = hazy/clean pair ``pairs[number]`` of a paired folder, stored at its own size."""

    def __init__(self, pairs: Sequence[tuple[Path, Path]], root: Path, config: ShardConfig) -> None:
        order = np.random.default_rng(config.seed).permutation(len(pairs))
        self.pairs = [pairs[i] for i in order]
        self.root, self.channels = root, config.channels

    def __len__(self) -> int:
        return len(self.pairs)

    def make(self, number: int) -> dict[str, Any]:
        from dehaze.imageio import read_image

        hazy_path, clean_path = self.pairs[number]
        hazy, clean = read_image(hazy_path, self.channels), read_image(clean_path, self.channels)
        if hazy.shape != clean.shape:
            raise DehazeError(
                f"size mismatch: hazy {hazy_path} is {hazy.shape[1]}×{hazy.shape[0]} but clean {clean_path} is "
                f"{clean.shape[1]}×{clean.shape[0]}"
            )
        meta = {"kind": "pairs", "hazy": _relative(hazy_path, self.root), "clean": _relative(clean_path, self.root)}
        return {"hazy.png": png_bytes(hazy), "clean.png": png_bytes(clean), "json": json.dumps(meta).encode()}


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


# ---------------------------------------------------------------------------------------------- writing
_MAKER: SynthSamples | PairSamples | None = None  # the sample maker of this worker process


def _set_maker(maker: SynthSamples | PairSamples) -> None:
    global _MAKER
    _MAKER = maker


def _write_shard(task: tuple[Path, int, int, int, bool]) -> tuple[str, int, list[str]]:
    """Write samples ``[start, stop)`` as one shard atomically; returns (name, samples written, skipped)."""
    import webdataset as wds

    path, start, stop, shard_index, skip_bad = task
    skipped: list[str] = []

    def write(tmp: Path) -> None:
        with wds.TarWriter(str(tmp), mtime=0.0) as sink:
            for number in range(start, stop):
                try:
                    sample = _MAKER.make(number)
                except DehazeError as exc:  # unreadable photo or pair, size mismatch
                    if not skip_bad:
                        raise DehazeError(str(exc)) from None  # a plain copy: crosses process boundaries
                    skipped.append(str(exc))
                    continue
                sink.write({"__key__": f"{number:08d}", **sample})

    try:
        atomic_write(path, write)
    except WriteError as exc:  # a plain copy: crosses process boundaries
        raise DehazeError(str(exc)) from None
    return path.name, stop - start - len(skipped), skipped


def write_shards(maker: SynthSamples | PairSamples, out_dir: Path, config: ShardConfig, info: dict) -> ShardSummary:
    """Cut ``maker``'s samples into shards in ``out_dir`` (``workers`` processes) and write ``shards.json``."""
    _prepare_out_dir(out_dir, config.overwrite)
    size = config.shard_size
    tasks = [
        (out_dir / SHARD_NAME.format(n), start, min(start + size, len(maker)), n, config.skip_bad)
        for n, start in enumerate(range(0, len(maker), size))
    ]
    _set_maker(maker)
    results = sorted(_run_tasks(tasks, config.workers, config.progress))
    shards = [(name, count) for name, count, _ in results]
    summary = ShardSummary(out_dir, shards, [line for *_, skipped in results for line in skipped])
    _remove_old_shards(out_dir, {name for name, _ in summary.shards})
    listing = [{"name": name, "samples": count} for name, count in summary.shards]
    record = {"format": FORMAT, "samples": summary.samples, "shards": listing, "skipped": summary.skipped, **info}
    atomic_write_text(out_dir / SUMMARY_NAME, json.dumps(record, indent=1, default=str) + "\n")
    return summary


def _run_tasks(tasks: list[tuple], workers: int, progress: bool) -> list[tuple[str, int, list[str]]]:
    """Each shard task in this process, or in ``workers`` forked processes (they inherit the sample maker)."""
    results = []
    with tqdm(total=len(tasks), desc="shards", disable=not progress) as bar:
        if workers > 1 and len(tasks) > 1:
            with multiprocessing.get_context("fork").Pool(min(workers, len(tasks))) as pool:
                for result in pool.imap_unordered(_write_shard, tasks):
                    results.append(result)
                    bar.update(1)
        else:
            for task in tasks:
                results.append(_write_shard(task))
                bar.update(1)
    return results


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DehazeError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)
    if not overwrite and ((out_dir / SUMMARY_NAME).exists() or any(out_dir.glob("train-*.tar"))):
        raise DehazeError(f"{out_dir} already holds shards; use --overwrite to replace them, or another folder")


def _remove_old_shards(out_dir: Path, keep: set[str]) -> None:
    """Shards of an earlier, larger shard set in ``out_dir`` (``--overwrite``) that the new set did not replace."""
    for path in out_dir.glob("train-*.tar"):
        if path.name not in keep:
            path.unlink()


def synth_shards(clean_dir: Path, out_dir: Path, config: ShardConfig) -> ShardSummary:
    """Shards of on-the-fly pairs (the trainer's synthesis and ``haze`` config) made from the photos of
    ``clean_dir``: ``variants`` samples per photo, ``patch_size`` crops."""
    from dehaze.imageio import list_images

    photos = _input_files(clean_dir, out_dir, list_images)
    info = {"kind": "synth", "seed": config.seed, "patch_size": config.patch_size, "haze": asdict(config.haze)}
    info.update(channels=config.channels, variants=config.variants, photos=len(photos), source=str(clean_dir))
    return write_shards(SynthSamples(photos, clean_dir, config), out_dir, config, info)


def pack_pairs(root: Path, out_dir: Path, config: ShardConfig) -> ShardSummary:
    """Shards of the hazy/clean pairs of a paired folder (RESIDE, O-HAZE or plain names; see
    :mod:`dehaze.data.pairing`), each pair at its own size."""
    from dehaze.data.pairing import find_pairs

    pairs = _input_files(root, out_dir, lambda folder: find_pairs(folder).pairs)
    info = {"kind": "pairs", "seed": config.seed, "channels": config.channels, "source": str(root)}
    return write_shards(PairSamples(pairs, root, config), out_dir, config, info)


def _input_files(root: Path, out_dir: Path, lister: Callable[[Path], list]) -> list:
    if not root.is_dir():
        raise DehazeError(f"{root}: not a folder")
    if out_dir.resolve().is_relative_to(root.resolve()):
        raise DehazeError(f"{out_dir}: the output folder must not be inside the input folder {root}")
    found = lister(root)
    if not found:
        raise DehazeError(f"{root}: no images found")
    return found
