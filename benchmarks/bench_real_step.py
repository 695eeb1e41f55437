"""Where a step of the real-branch recipe goes (issue "hours"): steps per hour of ``dehaze-train`` as the long run
runs it, split into the loader (on-the-fly synthesis and the real crops), the critic update, the real branch's
critic update and forward passes, the generator update (the paired and real losses' backward included),
validation and checkpoint writes.

    python benchmarks/bench_real_step.py [--steps 300] [--threads 1] [--set train.cpu_bf16=true ...]

Runs ``dehaze.cli.train.main`` with the recipe of ``scripts/train_long_real.sh`` (validation and checkpoints every
100 steps here, to time them) on ``runs/data`` (``scripts/prepare_data.sh``), timing the trainer's phases by
wrapping its methods. The first steps read every training photo once (kept in memory after): the loader's share
is given for the whole run and for the steps after the first ``--warm`` ones. Prints a table and writes
``benchmarks/results/real_step.json`` with the threads, the load average before and after, and the extra options.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from dehaze.atomic import atomic_write_text
from dehaze.cli.train import main as train_main
from dehaze.train.trainer import Trainer

PHASES = {
    "critic_step": "critic update",
    "real_loss": "real branch: crops, its critic update, forward passes",
    "generator_step": "generator update (backward of all losses)",
    "_validate_and_keep_best": "validation",
    "save_checkpoint": "checkpoint writes",
}


def recipe(data: Path, out: Path, steps: int, extra: list[str]) -> list[str]:
    """``scripts/train_long_real.sh``'s arguments, with validation and checkpoints every 100 steps."""
    sets = [
        "model.in_channels=3",
        "model.out_channels=3",
        "model.detail_eps=0",
        "train.lr_generator=1e-4",
        "train.warmup_steps=0",
        "train.num_workers=0",
        "train.val_every=100",
        "train.sample_every=100000",
        "train.checkpoint_every=100",
        "real.batch_size=4",
        "real.teacher_weight=20",
        "real.adversarial_weight=1",
        "real.below_zero_weight=1000",
        "real.light_consistency_weight=20",
        *extra,
    ]
    args = [
        "--clean",
        str(data / "sources/mix_train"),
        "--val",
        str(data / "mix_val"),
        "--init",
        "checkpoints/dehaze-rgb-default.safetensors",
        "--steps",
        str(steps),
        "--patch-size",
        "128",
        "--batch-size",
        "8",
        "--no-fid",
        "--real-hazy",
        str(data / "real_train"),
        "--out",
        str(out),
    ]
    return args + [item for value in sets for item in ("--set", value)]


def instrument(totals: dict[str, float], step_ends: list[float], marks: dict[str, float]) -> None:
    """Wrap the trainer's phase methods so each adds its wall time to ``totals``; record every step's end, the
    start of ``fit`` and the end of the last phase call (``marks``)."""
    fit = Trainer.fit

    @functools.wraps(fit)
    def timed_fit(self, *args, **kwargs):
        marks["fit_start"] = time.perf_counter()
        return fit(self, *args, **kwargs)

    Trainer.fit = timed_fit
    for name in [*PHASES, "train_step"]:
        original = getattr(Trainer, name)

        @functools.wraps(original)
        def timed(self, *args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                totals[_name] = totals.get(_name, 0.0) + time.perf_counter() - start
                marks["last_end"] = time.perf_counter()
                if _name == "train_step":
                    step_ends.append(time.perf_counter())

        setattr(Trainer, name, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warm", type=int, default=150, help="steps after which the loader is timed again")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path("runs/data"))
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out-json", type=Path, default=Path("benchmarks/results/real_step.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    totals: dict[str, float] = {}
    step_ends: list[float] = []
    marks: dict[str, float] = {}
    instrument(totals, step_ends, marks)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        train_main(recipe(args.data, Path(tmp) / "run", args.steps, args.extra))
    fit = marks["last_end"] - marks["fit_start"]  # the training loop; the final evaluation is not part of a step
    inside = totals["train_step"] + totals.get("_validate_and_keep_best", 0) + totals.get("save_checkpoint", 0)
    warm_span = step_ends[-1] - step_ends[args.warm - 1]
    phases = {label: totals.get(name, 0.0) / args.steps * 1000 for name, label in PHASES.items()}
    phases["loader and the rest (first reads of the photos included)"] = (fit - inside) / args.steps * 1000
    result = {
        "threads": args.threads,
        "steps": args.steps,
        "extra": args.extra,
        "cpu_count": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "steps_per_hour": 3600 * args.steps / fit,
        "steps_per_hour_after_warm": 3600 * (len(step_ends) - args.warm) / warm_span,
        "ms_per_step": phases,
    }
    atomic_write_text(args.out_json, json.dumps(result, indent=2))
    for label, ms in phases.items():
        print(f"{ms:8.1f} ms/step  {label}")
    print(
        f"steps/hour {result['steps_per_hour']:.0f} (after step {args.warm}: "
        f"{result['steps_per_hour_after_warm']:.0f}); threads {args.threads}; load {load_before:.2f} → "
        f"{result['load_after']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
