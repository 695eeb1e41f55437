"""Which pairs (or clean photos) a training run trains, validates and tests on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dehaze.config import Config
from dehaze.data.dataset import split_pairs
from dehaze.data.default import default_data_root
from dehaze.data.pairing import find_pairs
from dehaze.errors import DehazeError
from dehaze.imageio import list_images

Pairs = list[tuple[Path, Path]]


@dataclass
class DataSplits:
    """Training, validation and test pairs, and where they came from; ``clean`` holds the clean photos of an
    on-the-fly run (``train.clean_data``), whose training pairs are made fresh for every sample, ``shards`` the
    training shard URLs of a run from shards (``train.shards``)."""

    train: Pairs
    val: Pairs
    test: Pairs
    source: str
    clean: list[Path] = field(default_factory=list)
    shards: list[str] = field(default_factory=list)


def resolve_splits(config: Config, log: Any = print, heldout_dir: Path | None = None) -> DataSplits:
    """Find pairs under the data root(s); split train/val/test by clean image when no separate folders are given.
    Held-out shards are unpacked into ``heldout_dir`` as pairs (``None``: not here, e.g. on ranks other than 0)."""

    cfg = config.train
    if cfg.shards:
        return _shard_splits(config, log, heldout_dir)
    if cfg.clean_data:
        return _clean_splits(config, log)
    root = Path(cfg.data) if cfg.data else default_data_root()
    scan = find_pairs(root)
    log(f"data: {scan.summary()}")
    val = find_pairs(Path(cfg.val_data)).pairs if cfg.val_data else None
    test = find_pairs(Path(cfg.test_data)).pairs if cfg.test_data else None
    train, split_val, split_test = split_pairs(
        scan.pairs,
        0.0 if val is not None else cfg.val_fraction,
        0.0 if test is not None else cfg.test_fraction,
        cfg.seed,
    )
    splits = DataSplits(
        train, val if val is not None else split_val, test if test is not None else split_test, str(root)
    )
    log(f"split: {len(splits.train)} train, {len(splits.val)} val, {len(splits.test)} test pairs")
    if not splits.train:
        raise DehazeError(f"{root}: no pairs left for training after the val/test split")
    return splits


def _clean_splits(config: Config, log: Any) -> DataSplits:
    """On-the-fly training: clean photos for training, synthesised pairs (``--val``, ``--test``) to measure."""
    cfg = config.train
    if cfg.data:
        raise DehazeError("give either --data (hazy/clean pairs) or --clean (clean photos), not both")
    if not cfg.val_data:
        raise DehazeError("--clean needs --val: a folder of hazy/clean pairs (make one with dehaze-synth)")
    root = Path(cfg.clean_data)
    if not root.is_dir():
        raise DehazeError(f"{root}: clean photo folder not found")
    clean = list_images(root)
    if not clean:
        raise DehazeError(f"{root}: no images found")
    val = find_pairs(Path(cfg.val_data)).pairs
    test = find_pairs(Path(cfg.test_data)).pairs if cfg.test_data else []
    log(f"data: {len(clean)} clean photos in {root}, haze made on the fly; {len(val)} val, {len(test)} test pairs")
    return DataSplits([], val, test, str(root), clean=clean)


def _shard_splits(config: Config, log: Any, heldout_dir: Path | None) -> DataSplits:
    """Training from shards: ``--val``/``--test`` pairs, or whole shards held out and unpacked as pairs."""
    from dehaze.data.shards import resolve_shards, split_shards, unpack_pairs

    cfg = config.train
    if cfg.data or cfg.clean_data:
        raise DehazeError("give one of --data (pairs), --clean (clean photos) or --shards, not several")
    urls = resolve_shards(cfg.shards)
    val = find_pairs(Path(cfg.val_data)).pairs if cfg.val_data else None
    test = find_pairs(Path(cfg.test_data)).pairs if cfg.test_data else None
    val_fraction = 0.0 if val is not None else cfg.val_fraction
    train, val_urls, test_urls = split_shards(
        urls, val_fraction, 0.0 if test is not None else cfg.test_fraction, cfg.seed
    )
    if not (val or test or val_urls or test_urls):
        raise DehazeError(
            f"{cfg.shards}: {len(urls)} shard(s) and no pairs to validate or test on; give --val (or more shards and "
            "train.val_fraction > 0, which holds out whole shards)"
        )
    if val is None:
        val = unpack_pairs(val_urls, heldout_dir / "val") if heldout_dir is not None and val_urls else []
    if test is None:
        test = unpack_pairs(test_urls, heldout_dir / "test") if heldout_dir is not None and test_urls else []
    log(
        f"data: {len(urls)} shards from {cfg.shards}: {len(train)} to train, {len(val_urls)} held out for val, "
        f"{len(test_urls)} for test; {len(val)} val, {len(test)} test pairs"
    )
    return DataSplits([], val, test, str(cfg.shards), shards=train)
