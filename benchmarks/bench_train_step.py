"""Training ms/step of the four configurations (L1 only, spatial-only, frequency-only, dual) interleaved in one run:
the frequency critic's share of a dual step (target ≤ 10%) and a dual step against an L1-only one (target ≤ 2×).

python benchmarks/bench_train_step.py [--device cpu|cuda] [--batch-size 12] [--patch-size 128] [--steps 20]
python benchmarks/bench_train_step.py --arch unet --base-width 8 --batch-size 6 --patch-size 96 --threads 1  # ablation
Writes benchmarks/results/train_step.json (guided) or train_step_unet.json (U-Net, with its width).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from dehaze.atomic import atomic_write_text
from dehaze.config import Config
from dehaze.device import resolve_device
from dehaze.train.distributed import DistContext
from dehaze.train.trainer import Trainer

ROWS = {"L1 only": None, "spatial-only GAN (λ=1)": 1.0, "frequency-only GAN (λ=0)": 0.0, "dual GAN (λ=0.5)": 0.5}


def time_interleaved(
    configs: dict[str, Config], batch: tuple[torch.Tensor, torch.Tensor], steps: int, warmup: int = 3
) -> dict[str, float]:
    """Median seconds per ``train_step`` for each config. Steps are interleaved round-robin across the configs, so
    a slow patch of the machine (other processes, a noisy VM host) hits every configuration alike."""
    with contextlib.ExitStack() as stack:
        trainers = {}
        for name, config in configs.items():
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            trainers[name] = Trainer(config, Path(tmp), DistContext(), resolve_device(config.train.device))
        device = next(iter(trainers.values())).device
        hazy, clean = (t.to(device) for t in batch)
        times: dict[str, list[float]] = {name: [] for name in trainers}
        for i in range(warmup + steps):
            for name, trainer in trainers.items():
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                trainer.train_step(hazy, clean)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                if i >= warmup:
                    times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def row_configs(device: str, arch: str, base_width: int | None) -> dict[str, Config]:
    """The four configurations (L1 only, spatial-only, frequency-only, dual) of one generator."""
    configs = {}
    for name, weight in ROWS.items():
        config = Config()
        config.train.device = device
        config.model.arch = arch
        if base_width is not None:
            config.model.base_width = base_width
        if weight is None:
            config.loss.adversarial_weight = 0.0
        else:
            config.critic.spatial_weight = weight
        configs[name] = config
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=12, help="default: the shipped models' 12")
    parser.add_argument("--patch-size", type=int, default=128, help="default: the shipped models' 128")
    parser.add_argument("--arch", default="guided", choices=("guided", "unet"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--base-width", type=int, default=None, help="U-Net width (default: the config's)")
    parser.add_argument("--out-json", type=Path, default=None, help="default: results/train_step[_unet].json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    clean = torch.rand(args.batch_size, 1, args.patch_size, args.patch_size, generator=generator)
    hazy = clean * 0.6 + 0.35
    configs = row_configs(args.device, args.arch, args.base_width)
    results = {name: seconds * 1000 for name, seconds in time_interleaved(configs, (hazy, clean), args.steps).items()}
    spatial, dual = results["spatial-only GAN (λ=1)"], results["dual GAN (λ=0.5)"]
    overhead = (dual - spatial) / dual * 100
    dual_over_l1 = dual / results["L1 only"]
    device = "cuda" if args.device != "cpu" and torch.cuda.is_available() else f"cpu ({args.threads} threads)"
    shape = f"batch {args.batch_size} × {args.patch_size}²"
    width = f" (base width {configs['L1 only'].model.base_width})" if args.arch == "unet" else ""
    print(f"train step ({args.arch} generator{width}), {shape}, {device}, median of {args.steps} interleaved steps")
    print(f"{'configuration':<28}{'ms/step':>10}{'images/s':>10}")
    for name, ms in results.items():
        print(f"{name:<28}{ms:>10.1f}{args.batch_size / ms * 1000:>10.1f}")
    print(f"frequency-critic share, (dual − spatial-only) / dual: {overhead:.1f}% (target ≤ 10%)")
    print(f"dual step / L1-only step: {dual_over_l1:.2f}× (target ≤ 2×)")
    print(f"load average: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    suffix = "" if args.arch == "guided" else f"_{args.arch}"
    out_json = args.out_json or Path(f"benchmarks/results/train_step{suffix}.json")
    out_json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "device": device,
        "batch_size": args.batch_size,
        "patch_size": args.patch_size,
        "ms_per_step": results,
        "frequency_overhead_percent": overhead,
        "dual_over_l1": dual_over_l1,
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }
    payload["arch"] = args.arch
    if args.arch == "unet":
        payload["base_width"] = configs["L1 only"].model.base_width
    atomic_write_text(out_json, json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
