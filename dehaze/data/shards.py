"""Training from WebDataset tar shards: which shards a spec names, which are held out, and the seeded, resumable
stream of training pairs each reader (rank × data-loader worker) reads from them.

Epoch ``e`` shuffles the shard list with ``(seed, e)`` and deals it out to the ``R`` readers of the job (reader
``i`` takes shards ``i, i + R, ...``), so every sample is read once per epoch across ranks and workers. A reader
reads its shards in order, every sample in stored order (the writer shuffled them), and augments each from a
seed of its own position (reader, epoch, shard, offset). The position after every sample travels with it, so the
trainer can save where each reader stands and a resumed run continues there bit-exactly: it reopens one shard and
skips the samples already used.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from dehaze.color import to_channels
from dehaze.config import shorten
from dehaze.data.dataset import build_transform
from dehaze.errors import DehazeError
from dehaze.imageio import DECODER_ERRORS, check_pixel_count, pil_to_array, to_tensor

Position = tuple[int, int, int]  # (epoch, shard number in the reader's list for that epoch, samples done in it)


def resolve_shards(spec: str) -> list[str]:
    """Shard URLs of ``spec``: a folder (its ``*.tar``, sorted), a brace pattern (``train-{000000..000099}.tar``),
    ``::``-separated lists, or anything ``webdataset`` opens (``pipe:`` commands, http). Local files must exist."""
    from webdataset.shardlists import expand_urls

    folder = Path(spec)
    if folder.is_dir():
        urls = sorted(str(path) for path in folder.glob("*.tar"))
        if not urls:
            raise DehazeError(f"{spec}: no .tar shards in this folder (write some with dehaze-synth --shards)")
        return urls
    urls = expand_urls(spec)
    missing = [url for url in urls if _is_local(url) and not Path(url.removeprefix("file:")).is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DehazeError(f"{missing[0]}: shard not found{more}")
    return urls


def _reason(exc: Exception) -> str:
    """One line for a failed read (webdataset appends the URL and stream to ``args``; the first is the message)."""
    first = exc.args[0] if exc.args else ""
    return f"{type(exc).__name__}: {str(first).splitlines()[0] if str(first) else 'no detail'}"


def _is_local(url: str) -> bool:
    return not url.startswith("pipe:") and "://" not in url


def split_shards(urls: Sequence[str], val_fraction: float, test_fraction: float, seed: int) -> tuple[list, list, list]:
    """(train, val, test) whole shards, drawn with ``seed``; a non-zero fraction holds out at least one shard when
    there are at least three (as the folder path holds out clean images)."""
    order = sorted(urls)
    np.random.default_rng(seed).shuffle(order)

    def count(fraction: float) -> int:
        n = round(fraction * len(order))
        return max(n, 1) if fraction > 0 and len(order) >= 3 else n

    n_val, n_test = count(val_fraction), count(test_fraction)
    if n_val + n_test >= len(order):
        raise DehazeError(f"{len(order)} shards are too few to hold out val/test shards; give --val (and --test)")
    return sorted(order[n_val + n_test :]), sorted(order[:n_val]), sorted(order[n_val : n_val + n_test])


def shard_samples(url: str) -> Iterator[dict[str, Any]]:
    """The raw samples of one shard (webdataset's own tar reader: local files, ``pipe:`` and URLs)."""
    from webdataset.gopen import gopen
    from webdataset.tariterators import group_by_keys, tar_file_expander

    with gopen(url, "rb") as stream:  # closed however the reading ends
        yield from group_by_keys(tar_file_expander(iter([{"url": url, "stream": stream}])))


def unpack_pairs(urls: Sequence[str], folder: Path) -> list[tuple[Path, Path]]:
    """The samples of held-out shards as ``folder/hazy`` + ``folder/clean`` image pairs (for validation and the
    final test), written once: a run that resumes finds them listed in ``folder/shards.txt`` and reuses them."""
    from dehaze.atomic import atomic_write_bytes, atomic_write_text
    from dehaze.data.pairing import find_pairs

    listing = folder / "shards.txt"
    if listing.is_file() and listing.read_text().split("\n") == list(urls):
        return find_pairs(folder).pairs
    for number, url in enumerate(urls):
        samples = 0
        try:
            for sample in shard_samples(url):
                samples += 1
                name = f"{number:04d}_" + str(sample["__key__"]).replace("/", "_")
                for role in ("hazy", "clean"):
                    key = image_key(sample, role)
                    if key is None:
                        where = f"held-out shard {url}: sample {shorten(sample['__key__'])}"
                        raise DehazeError(f"{where} has no {role}.png or {role}.jpg")
                    atomic_write_bytes(folder / role / f"{name}.{key.split('.')[-1]}", sample[key])
        except DehazeError:  # a sample without its pair, or a failed write (full disk), named
            raise
        except Exception as exc:  # noqa: BLE001 - a held-out shard that cannot be read stops the run, named
            raise DehazeError(f"held-out shard {url}: unreadable ({_reason(exc)})") from None
        if not samples:
            raise DehazeError(f"held-out shard {url}: no samples in it")
    atomic_write_text(listing, "\n".join(urls))
    return find_pairs(folder).pairs


def image_key(sample: dict[str, Any], role: str) -> str | None:
    """The key of a sample's ``role`` image (``hazy.png``, ``clean.jpg``, ...), None when it has none."""
    return next((k for k in sample if k.split(".")[0] == role and k.split(".")[-1] in ("png", "jpg", "jpeg")), None)


def decode_pair(sample: dict[str, Any], channels: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(hazy, clean, json) of a raw sample; a missing or undecodable image or a size mismatch is a DehazeError."""
    try:
        meta = json.loads(sample["json"]) if "json" in sample else {}
    except (ValueError, RecursionError) as exc:
        raise DehazeError(f"json: not valid JSON ({str(exc)[:100]})") from None
    meta = meta if isinstance(meta, dict) else {}
    images = []
    for role in ("hazy", "clean"):
        key = image_key(sample, role)
        if key is None:
            raise DehazeError(f"no {role}.png")
        try:
            with Image.open(io.BytesIO(sample[key])) as img:
                check_pixel_count(key, *img.size)  # the --max-pixels limit, before any pixel is decoded
                images.append(to_channels(pil_to_array(img), channels))
        except (*DECODER_ERRORS, Image.DecompressionBombError) as exc:
            raise DehazeError(f"{key}: corrupt image data ({str(exc)[:200]})") from None
    if images[0].shape != images[1].shape:
        raise DehazeError(
            f"hazy is {images[0].shape[1]}×{images[0].shape[0]}, clean {images[1].shape[1]}×{images[1].shape[0]}"
        )
    return images[0], images[1], meta


def synth_transform(patch_size: int) -> A.Compose:
    """Crop (padded when smaller) and horizontal flip: synthesised haze thickens upwards, so no vertical flips or
    rotations (packed pairs get the ``--data`` augmentation, :func:`~dehaze.data.dataset.build_transform`)."""
    steps = [
        A.PadIfNeeded(min_height=patch_size, min_width=patch_size, border_mode=cv2.BORDER_REFLECT_101),
        A.RandomCrop(height=patch_size, width=patch_size),
        A.HorizontalFlip(p=0.5),
    ]
    return A.Compose(steps, additional_targets={"clean": "image"})


@dataclass
class ReaderLayout:
    """The readers of a job: ``world_size`` ranks × ``workers`` (at least 1) data-loader workers each."""

    world_size: int = 1
    workers: int = 1

    @property
    def readers(self) -> int:
        return self.world_size * self.workers


@dataclass
class ShardStreamConfig:
    """What a rank's stream reads and how (``positions``: where each reader id stands, from the training state)."""

    urls: list[str]
    channels: int = 1
    patch_size: int = 128
    seed: int = 0
    rank: int = 0
    layout: ReaderLayout = field(default_factory=ReaderLayout)
    start_step: int = 0
    positions: dict[int, Position] = field(default_factory=dict)
    skip_bad: bool = False


def reader_shards(urls: Sequence[str], seed: int, epoch: int, reader: int, readers: int) -> list[str]:
    """The shards reader ``reader`` of ``readers`` reads in ``epoch``, in order."""
    order = np.random.default_rng([seed, epoch]).permutation(len(urls))
    return [urls[i] for i in order[reader::readers]]


class ShardStream(IterableDataset):
    """Endless training items ``dict(hazy, clean, name, reader, epoch, shard, offset)`` of one rank; under a
    DataLoader each worker is one reader. Batch ``i`` of a run comes from worker ``i % workers``, so a run resumed
    at step ``s`` gives worker ``w`` the reader of slot ``(w + s) % workers``, and the batches continue in order."""

    def __init__(self, config: ShardStreamConfig) -> None:
        if len(config.urls) < config.layout.readers:
            raise DehazeError(
                f"{len(config.urls)} training shards for {config.layout.readers} readers ({config.layout.world_size} "
                f"rank(s) × {config.layout.workers} data-loader worker(s)): each reader needs a shard; write smaller "
                "shards (dehaze-synth --shard-size) or use fewer workers (--set train.num_workers=N)"
            )
        self.config = config
        self.pairs_transform = build_transform(config.patch_size, train=True)
        self.synth_transform = synth_transform(config.patch_size)

    def reader_id(self) -> int:
        info = get_worker_info()
        worker = info.id if info is not None else 0
        workers = self.config.layout.workers
        return self.config.rank * workers + (worker + self.config.start_step) % workers

    def __iter__(self) -> Iterator[dict[str, Any]]:
        reader = self.reader_id()
        epoch, first, skip = self.config.positions.get(reader, (0, 0, 0))
        while True:
            shards = reader_shards(self.config.urls, self.config.seed, epoch, reader, self.config.layout.readers)
            whole_epoch, produced = first == 0 and skip == 0, 0
            for number in range(first, len(shards)):
                for item in self._read_shard(shards[number], (epoch, number, skip), reader):
                    produced += 1
                    yield item
                skip = 0
            if whole_epoch and not produced:  # every sample skipped (--skip-bad): stop instead of looping for ever
                message = f"reader {reader}: no readable sample in its {len(shards)} shard(s) ({', '.join(shards[:3])})"
                while True:
                    yield {"error": message}
            epoch, first = epoch + 1, 0

    def _read_shard(self, url: str, start: Position, reader: int) -> Iterator[dict[str, Any]]:
        """Items of one shard from offset ``start[2]``; a bad shard or sample stops the stream with an error item
        naming it (or, with ``skip_bad``, is skipped with a warning)."""
        epoch, number, skip = start
        offset = -1
        try:
            for offset, sample in enumerate(shard_samples(url)):
                if offset >= skip:
                    item = self._item(sample, reader, (epoch, number, offset))
                    if item is not None:
                        yield item
        except Exception as exc:  # noqa: BLE001 - any failure to open or untar is an unreadable shard
            yield from self._bad(f"shard {url}: unreadable after {offset + 1} sample(s) ({_reason(exc)})")

    def _item(self, sample: dict[str, Any], reader: int, position: Position) -> dict[str, Any] | None:
        try:
            hazy, clean, meta = decode_pair(sample, self.config.channels)
        except DehazeError as exc:
            message = f"shard {sample.get('__url__')}: sample {sample.get('__key__')}: {exc}"
            for item in self._bad(message):
                return item
            return None
        seed = int(np.random.SeedSequence([self.config.seed, reader, *position]).generate_state(1)[0])
        transform = self.synth_transform if meta.get("kind") == "synth" else self.pairs_transform
        transform.set_random_seed(seed)
        out = transform(image=hazy, clean=clean)
        epoch, number, offset = position
        return {
            "hazy": to_tensor(out["image"]),
            "clean": to_tensor(out["clean"]),
            "name": str(sample.get("__key__")),
            "reader": reader,
            "epoch": epoch,
            "shard": number,
            "offset": offset + 1,  # the position after this sample
        }

    def _bad(self, message: str) -> Iterator[dict[str, Any]]:
        """With ``skip_bad``: warn and yield nothing; else error items for ever (the trainer stops on the first)."""
        if self.config.skip_bad:
            warnings.warn(f"skipping {message}", stacklevel=2)
            return
        while True:
            yield {"error": message}
