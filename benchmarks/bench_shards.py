"""Training steps per hour from WebDataset shards against haze made on the fly, at equal model, batch and data
loader, interleaved in one run (target: shards >= 1.5x on 2 cores).

python benchmarks/bench_shards.py [--photos runs/data/sources/cbsd392] [--count 48] [--workers 0 1] [--rounds 4]

The shards are written first (dehaze-synth --shards: the same photos, haze config and patch size); then, for each
data-loader worker count, one trainer per data source takes blocks of ``--block`` training steps in turn (the order
alternating every round), so a busy patch of the shared machine hits both alike. The first ``--skip`` steps of a
block are not timed: they may use batches prefetched while the other source was training.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from dehaze.atomic import atomic_write_text
from dehaze.config import Config, apply_overrides
from dehaze.data.shard_writer import ShardConfig, synth_shards
from dehaze.data.splits import DataSplits
from dehaze.imageio import list_images
from dehaze.train.distributed import DistContext
from dehaze.train.sampling import training_batches
from dehaze.train.trainer import Trainer

RESULTS = Path(__file__).parent / "results" / "shards.json"


def make_config(args: argparse.Namespace, workers: int) -> Config:
    """The shipped RGB model's training setup (guided generator, dual critic, batch 12 of 128 px crops)."""
    config = Config()
    apply_overrides(config, ["model.in_channels=3", "model.out_channels=3", f"train.num_workers={workers}"])
    apply_overrides(config, [f"train.batch_size={args.batch_size}", f"train.patch_size={args.patch_size}"])
    return config


def write_shards(photos: list[Path], root: Path, out: Path, config: Config, args: argparse.Namespace) -> dict:
    """Shards of ``variants`` on-the-fly pairs per photo; returns the samples written and the seconds it took."""
    staged = root / "photos"
    staged.mkdir()
    for path in photos:
        (staged / path.name).symlink_to(path.resolve())
    shard_config = ShardConfig(shard_size=args.shard_size, variants=args.variants, workers=args.synth_workers)
    shard_config.channels, shard_config.patch_size, shard_config.haze = 3, args.patch_size, config.haze
    shard_config.progress = False
    start = time.perf_counter()
    summary = synth_shards(staged, out, shard_config)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in out.glob("*.tar"))
    return {"samples": summary.samples, "shards": len(summary.shards), "seconds": seconds, "bytes": size}


def time_blocks(sources: dict[str, tuple[Trainer, object]], args: argparse.Namespace) -> dict[str, list[list[float]]]:
    """Seconds per timed step (data wait included), by round, of each source; the order alternates every round."""
    times: dict[str, list[list[float]]] = {name: [] for name in sources}
    names = list(sources)
    for round_index in range(args.rounds):
        for name in names if round_index % 2 == 0 else names[::-1]:
            trainer, batches = sources[name]
            block = []
            for step in range(args.block):
                start = time.perf_counter()
                hazy, clean = next(batches)
                trainer.train_step(hazy, clean)
                if step >= args.skip:
                    block.append(time.perf_counter() - start)
            times[name].append(block)
    return times


def measure(photos: list[Path], shards: list[str], args: argparse.Namespace, workers: int) -> dict:
    """Steps per hour of both sources with ``workers`` data-loader workers, and the speed-up of shards: the median
    over rounds of the two neighbouring blocks' ratio (robust to the load of the shared machine drifting)."""
    config = make_config(args, workers)
    splits = {
        "on the fly": DataSplits([], [], [], "photos", clean=photos),
        "shards": DataSplits([], [], [], "shards", shards=shards),
    }
    sources = {}
    with tempfile.TemporaryDirectory() as runs:
        for name, split in splits.items():
            trainer = Trainer(config, Path(runs) / name.replace(" ", "_"), DistContext(), torch.device("cpu"))
            batches = training_batches(config, split, DistContext(), trainer.device, 0, print, trainer.stream)
            sources[name] = (trainer, batches)
        for trainer, batches in sources.values():  # first batch, workers started, warm caches: not timed
            trainer.train_step(*next(batches))
        times = time_blocks(sources, args)
    steps = {name: [t for block in blocks for t in block] for name, blocks in times.items()}
    median = {name: statistics.median(values) for name, values in steps.items()}
    means = {name: [statistics.mean(block) for block in blocks] for name, blocks in times.items()}
    ratios = [fly / shard for fly, shard in zip(means["on the fly"], means["shards"], strict=True)]
    return {
        "workers": workers,
        "seconds_per_step": median,
        "seconds_per_step_quartiles": {name: statistics.quantiles(v, n=4)[::2] for name, v in steps.items()},
        "steps_per_hour": {name: 3600.0 / value for name, value in median.items()},
        "shards_speedup": statistics.median(ratios),
        "speedup_by_round": ratios,
        "timed_steps": {name: len(values) for name, values in steps.items()},
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("runs/data/sources/cbsd392"))
    parser.add_argument("--count", type=int, default=48, help="photos used (the first COUNT, sorted)")
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--shard-size", type=int, default=32)
    parser.add_argument("--synth-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1], help="data-loader worker counts")
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--patch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=6)
    parser.add_argument("--skip", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    photos = list_images(args.photos)[: args.count]
    result: dict = {"threads": torch.get_num_threads(), "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    result["setup"] = {key: str(value) for key, value in vars(args).items()}
    root = Path(tempfile.mkdtemp(prefix="bench_shards_"))
    try:
        result["writing"] = write_shards(photos, root, root / "shards", make_config(args, 0), args)
        print(f"wrote {result['writing']}")
        shards = sorted(str(p) for p in (root / "shards").glob("*.tar"))
        result["rows"] = []
        for workers in args.workers:
            row = measure(photos, shards, args, workers)
            result["rows"].append(row)
            hours = ", ".join(f"{name} {value:.0f}" for name, value in row["steps_per_hour"].items())
            spread = ", ".join(f"{r:.2f}" for r in sorted(row["speedup_by_round"]))
            print(f"workers {workers}: steps/hour {hours}; shards {row['shards_speedup']:.2f}x (rounds: {spread})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["load_after"] = os.getloadavg()
    result["note"] = "2-core machine shared with other jobs (load averages above); one torch thread"
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
