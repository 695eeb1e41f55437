"""A training data stream that is a pure function of the step, so ``--resume`` continues exactly.

Each rank reads epoch-shuffled indices from a :class:`~torch.utils.data.DistributedSampler` (seeded, ``set_epoch``)
and gives every sample its own augmentation seed derived from the run seed, the rank and the sample number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, default_collate

from dehaze.config import Config
from dehaze.data.dataset import PairedDataset
from dehaze.data.onthefly import OnTheFlyHaze
from dehaze.data.shards import ReaderLayout, ShardStream, ShardStreamConfig
from dehaze.data.splits import DataSplits
from dehaze.errors import DehazeError
from dehaze.train.distributed import DistContext


class StepSampler(Sampler[tuple[int, int]]):
    """Endless ``(pair index, augmentation seed)`` items for one rank, starting at ``start_step``."""

    def __init__(
        self, dataset: Dataset, batch_size: int, seed: int, rank: int = 0, world_size: int = 1, start_step: int = 0
    ) -> None:
        self.sampler = DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=False
        )
        self.per_epoch = len(self.sampler)
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.start_step = start_step

    def __iter__(self) -> Iterator[tuple[int, int]]:
        sample = self.start_step * self.batch_size
        epoch, position = divmod(sample, self.per_epoch)
        while True:
            self.sampler.set_epoch(epoch)
            indices = list(self.sampler)
            for index in indices[position:]:
                yield index, augmentation_seed(self.seed, self.rank, sample)
                sample += 1
            epoch, position = epoch + 1, 0


def augmentation_seed(seed: int, rank: int, sample: int) -> int:
    """A 31-bit seed unique to (run seed, rank, sample number)."""
    return (seed * 1_000_003 + rank * 7_919 + sample * 2_654_435_761) % (2**31 - 1)


class TrainingPairs(Protocol):
    """What training reads from a dataset (:class:`~dehaze.data.dataset.PairedDataset` or
    :class:`~dehaze.data.onthefly.OnTheFlyHaze`): item ``index`` as ``dict(hazy, clean, name)`` made reproducibly
    from ``seed`` (crop, flip, haze), and the files left out at construction as ``(path, reason)``."""

    skipped: list[tuple[Path, str]]

    def __len__(self) -> int: ...

    def get(self, index: int, seed: int | None = None) -> dict[str, Any]: ...


class SeededItems(Dataset):
    """Wraps :class:`TrainingPairs` so items addressed as ``(index, seed)`` get reproducible augmentation."""

    def __init__(self, dataset: TrainingPairs) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, int]) -> Any:
        index, seed = item
        try:
            return self.dataset.get(index, seed=seed)
        except DehazeError as exc:  # carried to the main process as a message: workers cannot re-raise it cleanly
            return {"error": str(exc)}


def collate_or_error(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Default collation, or the first item's ``{"error": message}`` (raised by the trainer in the main process)."""
    for item in items:
        if "error" in item:
            return item
    return default_collate(items)


def training_dataset(config: Config, splits: DataSplits) -> TrainingPairs:
    """Haze made on the fly from ``splits.clean``, else the pairs ``splits.train``."""
    tc, channels = config.train, config.model.in_channels
    if splits.clean:
        return OnTheFlyHaze(splits.clean, channels=channels, patch_size=tc.patch_size, haze=config.haze)
    return PairedDataset(splits.train, channels=channels, patch_size=tc.patch_size, train=True, skip_bad=tc.skip_bad)


class StreamPosition:
    """Where each shard reader of the job stands, ``{reader id: (epoch, shard, offset)}``: updated from every batch
    the trainer takes, gathered from all ranks before a checkpoint and kept in the training state (``stream``)."""

    def __init__(self) -> None:
        self.readers: dict[int, tuple[int, int, int]] = {}
        self.layout: tuple[int, int] = (0, 0)  # (world size, readers per rank) of the run that saved it

    def update(self, batch: dict[str, Any]) -> None:
        """The position after the batch's last sample (a batch comes from one reader)."""
        last = [int(batch[key][-1]) for key in ("reader", "epoch", "shard", "offset")]
        self.readers[last[0]] = (last[1], last[2], last[3])

    def gather(self, ctx: DistContext) -> None:
        """Every rank's readers on every rank (a collective: call on all ranks)."""
        if ctx.enabled:
            import torch.distributed as dist

            parts: list[Any] = [None] * ctx.world_size
            dist.all_gather_object(parts, self.readers)
            self.readers = {reader: tuple(at) for part in parts for reader, at in part.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"layout": list(self.layout), "readers": {str(r): list(at) for r, at in self.readers.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.layout = tuple(state.get("layout", (0, 0)))
        self.readers = {int(r): tuple(int(v) for v in at) for r, at in state.get("readers", {}).items()}

    def for_layout(self, layout: tuple[int, int], log: Callable[[str], None]) -> dict[int, tuple[int, int, int]]:
        """The saved positions when ``layout`` is the saved one; else every reader starts the earliest saved epoch
        again (not exact: the readers were dealt other shards)."""
        saved, self.layout = self.layout, layout
        if not self.readers or saved == layout:
            return dict(self.readers)
        epoch = min(at[0] for at in self.readers.values())
        log(
            f"shard readers changed from {saved[0]}×{saved[1]} to {layout[0]}×{layout[1]} (ranks × workers): "
            f"the stream restarts epoch {epoch}, not exactly where it stopped"
        )
        self.readers = {}
        return {reader: (epoch, 0, 0) for reader in range(layout[0] * layout[1])}


def shard_loader(
    config: Config,
    splits: DataSplits,
    ctx: DistContext,
    device: torch.device,
    start_step: int,
    position: StreamPosition,
    log: Callable[[str], None],
) -> DataLoader:
    """Batches of this rank's shard readers (one per data-loader worker), from where ``position`` says."""
    tc = config.train
    workers = max(1, tc.num_workers)
    layout = ReaderLayout(ctx.world_size, workers)
    stream = ShardStream(
        ShardStreamConfig(
            urls=splits.shards,
            channels=config.model.in_channels,
            patch_size=tc.patch_size,
            seed=tc.seed,
            rank=ctx.rank,
            layout=layout,
            start_step=start_step,
            positions=position.for_layout((ctx.world_size, workers), log),
            skip_bad=tc.skip_bad,
        )
    )
    return DataLoader(
        stream,
        batch_size=tc.batch_size,
        collate_fn=collate_or_error,
        num_workers=tc.num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=tc.num_workers > 0,
        drop_last=True,
    )


def training_batches(
    config: Config,
    splits: DataSplits,
    ctx: DistContext,
    device: torch.device,
    start_step: int,
    log: Callable[[str], None],
    position: StreamPosition | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless ``(hazy, clean)`` batches on ``device`` for this rank from ``start_step`` (channels-last on CUDA):
    from shards (``position`` records where their readers stand), else from a dataset whose skipped files go to
    ``log``."""
    if splits.shards:
        position = position if position is not None else StreamPosition()
        loader = shard_loader(config, splits, ctx, device, start_step, position, log)
    else:
        loader = _dataset_loader(config, splits, ctx, device, start_step, log)
    for batch in loader:
        if "error" in batch:
            raise DehazeError(batch["error"])
        if splits.shards:
            position.update(batch)
        hazy = batch["hazy"].to(device, non_blocking=True)
        clean = batch["clean"].to(device, non_blocking=True)
        if device.type == "cuda":
            hazy = hazy.contiguous(memory_format=torch.channels_last)
            clean = clean.contiguous(memory_format=torch.channels_last)
        yield hazy, clean


def _dataset_loader(
    config: Config, splits: DataSplits, ctx: DistContext, device: torch.device, start_step: int, log: Callable
) -> DataLoader:
    """Seeded batches of pairs (or on-the-fly haze) for this rank from ``start_step``."""
    tc = config.train
    dataset = training_dataset(config, splits)
    for path, reason in dataset.skipped:
        log(f"skipped bad file {path}: {reason}")
    sampler = StepSampler(dataset, tc.batch_size, tc.seed, ctx.rank, ctx.world_size, start_step=start_step)
    return DataLoader(
        SeededItems(dataset),
        batch_size=tc.batch_size,
        sampler=sampler,
        collate_fn=collate_or_error,
        num_workers=tc.num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=tc.num_workers > 0,
        drop_last=True,
    )
