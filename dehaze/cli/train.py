"""``dehaze-train``: train the generator against the dual critic (single process or under ``torchrun``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dehaze.atomic import remove_stale_temps
from dehaze.cli.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_max_pixels_option,
    add_version_option,
    apply_max_pixels,
    refuse_missing,
    run_cli,
)
from dehaze.errors import DehazeError
from dehaze.train.run_dir import RunDir

if TYPE_CHECKING:  # the config, torch and the models are imported only after the arguments are read
    from dehaze.config import Config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dehaze-train",
        description="Train a dehazing generator (guided by default, or the U-Net) against a dual spatial/frequency "
        "critic. "
        "With no --data it trains on pairs synthesised from photos bundled with scikit-image.",
    )
    add_version_option(parser)
    parser.add_argument("--data", help="root with hazy/ and clean/ (or GT/, gt/, clear/) folders")
    parser.add_argument(
        "--clean",
        help="folder of clean photos: training pairs are made on the fly (new haze every sample); needs --val",
    )
    parser.add_argument(
        "--shards",
        metavar="SPEC",
        help="WebDataset tar shards (dehaze-synth --shards): a folder of .tar files, a brace pattern "
        "(train-{000000..000099}.tar) or URLs webdataset opens ('pipe:aws s3 cp s3://b/train-{0..9}.tar -', http)",
    )
    parser.add_argument(
        "--real-hazy",
        help="folder of real hazy photos (no ground truth): every step also trains on them against an "
        "unconditional dual critic, with scattering-model guard rails and a teacher (see docs/training.md)",
    )
    parser.add_argument("--init", help="start the generator from these weights (.safetensors; also the teacher)")
    parser.add_argument("--val", help="separate validation root (default: split from --data)")
    parser.add_argument("--test", help="separate test root (default: split from --data)")
    parser.add_argument("--out", default="runs/default", help="run directory (default: runs/default)")
    parser.add_argument("--steps", type=int, help="total training steps")
    parser.add_argument("--device", help="auto (default), cpu or cuda")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    parser.add_argument("--config", type=Path, help="YAML file with model/critic/loss/train sections")
    parser.add_argument("--spatial-weight", type=float, help="λ: 1 = spatial-only GAN, 0 = frequency-only, default 0.5")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--patch-size", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable training files instead of stopping")
    parser.add_argument("--no-fid", action="store_true", help="skip FID in the final evaluation")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config option, e.g. --set loss.l1_weight=50 --set model.base_width=32",
    )
    add_max_pixels_option(parser)
    return parser


def resolve_config(args: argparse.Namespace, run_dir: Path) -> Config:
    """Defaults ← run dir config (on resume) ← --config ← flags ← --set; every option checked against its bounds."""
    from dehaze.config import Config, apply_overrides, validate_config

    run = RunDir(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise DehazeError(f"--out {run_dir}: exists and is not a folder")
    if args.resume:
        if not run.state.is_file():
            raise DehazeError(f"{run_dir}: nothing to resume (no {run.state.name}); start without --resume")
        config = Config.load(run.config)
    else:
        if run.holds_run():
            raise DehazeError(f"{run_dir} already holds a training run; use --resume to continue it or another --out")
        config = Config()
    if args.config and args.resume:
        raise DehazeError("--resume continues with the run's own config.yaml; change values with --set, not --config")
    if args.config:
        config = Config.load(args.config)
    flags = {
        "train.data": args.data,
        "train.clean_data": args.clean,
        "train.shards": args.shards,
        "train.val_data": args.val,
        "train.test_data": args.test,
        "real.photos": args.real_hazy,
        "train.init_weights": args.init,
        "train.steps": args.steps,
        "train.device": args.device,
        "critic.spatial_weight": args.spatial_weight,
        "train.batch_size": args.batch_size,
        "train.patch_size": args.patch_size,
        "train.seed": args.seed,
        "train.skip_bad": True if args.skip_bad else None,
        "train.fid": False if args.no_fid else None,
    }
    apply_overrides(config, [f"{k}={v}" for k, v in flags.items() if v is not None])
    apply_overrides(config, args.overrides)
    validate_config(config)
    return config


def refuse_missing_inputs(config: Config) -> None:
    """A data folder or weights file of the config that does not exist is refused before torch is imported."""
    refuse_missing(
        [
            ("--data", config.train.data),
            ("--clean", config.train.clean_data),
            ("--val", config.train.val_data),
            ("--test", config.train.test_data),
            ("--real-hazy", config.real.photos),
            ("--init", config.train.init_weights),
            ("real.teacher", config.real.teacher),
        ]
    )


def train(args: argparse.Namespace) -> int:
    run = RunDir(Path(args.out))
    config = resolve_config(args, run.root)  # config and path errors are reported before torch is imported
    refuse_missing_inputs(config)
    apply_max_pixels(args)
    import torch

    from dehaze.data.splits import resolve_splits
    from dehaze.device import resolve_device
    from dehaze.train.distributed import init_distributed, shutdown
    from dehaze.train.evaluation import evaluate_run, format_run_metrics
    from dehaze.train.trainer import Trainer

    device = resolve_device(config.train.device)
    ctx = init_distributed(device.type)
    try:
        if ctx.is_main:
            run.root.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(run.root)  # temp files of a run that was killed (kill -9) while saving
        log = print if ctx.is_main else (lambda *_: None)
        if device.type == "cpu" and not ctx.enabled:
            log(f"device: cpu ({torch.get_num_threads()} threads)")
        else:
            log(f"device: {device} x{ctx.world_size}")
        splits = resolve_splits(config, log=log, heldout_dir=run.root / "heldout" if ctx.is_main else None)
        trainer = Trainer(config, run.root, ctx, device, resume=args.resume)
        if ctx.is_main:  # only now: a refused --resume must leave the run's config.yaml as it was
            config.save(run.config)
        if args.resume:
            log(f"resuming from step {trainer.step} of {config.train.steps}")
        try:
            finished = trainer.fit(splits)
        finally:
            trainer.close()
        if not finished:
            return EXIT_INTERRUPTED
        if ctx.is_main:
            result = evaluate_run(run, config, splits, trainer.device)
            print(format_run_metrics(result))
            print(f"run: {run.root} (weights: best.safetensors, last.safetensors; metrics.json; loss_curve.png)")
        return EXIT_OK
    finally:
        shutdown(ctx)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = run_cli(lambda: train(args))
    return code if code is not None else EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
