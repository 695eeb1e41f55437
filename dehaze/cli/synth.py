"""``dehaze-synth CLEAN_DIR OUT_DIR``: make hazy/clean training pairs with the atmospheric scattering model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dehaze.cli.common import (
    EXIT_OK,
    add_max_pixels_option,
    add_version_option,
    apply_max_pixels,
    refuse_missing,
    run_cli,
)
from dehaze.defaults import RESIDE_AIRLIGHT, RESIDE_BETA


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dehaze-synth",
        description="Synthesise hazy/clean pairs I = J·t + A·(1−t), t = exp(−β·d), from a folder of clean photos. "
        "Writes OUT_DIR/hazy/<id>_<A>_<beta>.png, OUT_DIR/clean/<id>.png and OUT_DIR/manifest.csv.",
    )
    add_version_option(parser)
    parser.add_argument(
        "clean_dir", type=Path, metavar="CLEAN_DIR", help="folder of clean images (searched recursively)"
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="output folder (must not be inside CLEAN_DIR)")
    parser.add_argument(
        "--depth",
        type=Path,
        metavar="DIR",
        help="depth maps with the same relative names (brighter = farther); default: synthetic depth",
    )
    parser.add_argument(
        "--beta",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=RESIDE_BETA,
        help="scattering coefficient range for depth normalised to [0, 1] (default: %(default)s, RESIDE-like)",
    )
    parser.add_argument(
        "--airlight",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=RESIDE_AIRLIGHT,
        help="atmospheric light range (default: %(default)s, RESIDE)",
    )
    parser.add_argument(
        "--tint",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=(0.0, 0.0),
        help="colour airlight tint τ range, A·(1−τ, 1, 1+τ): τ > 0 blue-grey, τ < 0 yellow-brown; with --color "
        "(default: %(default)s, grey airlight)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same output (default: 0)")
    parser.add_argument("--crop", type=_positive_int, metavar="SIZE", help="cut SIZE×SIZE patches")
    parser.add_argument("--per-image", type=_positive_int, default=1, metavar="K", help="patches per image with --crop")
    parser.add_argument("--variants", type=_positive_int, default=1, metavar="N", help="hazy versions per clean image")
    parser.add_argument("--color", action="store_true", help="keep RGB (default: grayscale)")
    parser.add_argument("--skip-bad", action="store_true", help="skip and report unreadable images instead of failing")
    parser.add_argument("--overwrite", action="store_true", help="replace hazy/, clean/ and manifest.csv in OUT_DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_max_pixels_option(parser)
    add_shard_options(parser)
    return parser


def add_shard_options(parser: argparse.ArgumentParser) -> None:
    """``--shards`` and its options: WebDataset tar shards instead of hazy/ and clean/ folders."""
    group = parser.add_argument_group(
        "shards",
        "--shards writes OUT_DIR/train-000000.tar, ... (hazy.png, clean.png, json, depth.npy per sample) with the "
        "trainer's on-the-fly synthesis and its haze: config (--config, --set haze.KEY=VALUE); --crop is the "
        "sample size (default: train.patch_size). With --pairs, CLEAN_DIR is a paired folder (hazy/ + clean/, "
        "RESIDE or O-HAZE names) packed as it is.",
    )
    group.add_argument("--shards", action="store_true", help="write WebDataset tar shards")
    group.add_argument("--shard-size", type=_positive_int, default=1000, metavar="N", help="samples per shard")
    group.add_argument("--workers", type=_positive_int, default=1, metavar="W", help="processes writing shards")
    group.add_argument("--pairs", action="store_true", help="CLEAN_DIR is a paired folder: pack its pairs")
    group.add_argument("--config", type=Path, metavar="FILE.yaml", help="training config whose haze: section is used")
    group.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="e.g. haze.beta=[0.4,2]"
    )


def write_shard_set(args: argparse.Namespace) -> int:
    """``--shards``: synthesise (or with ``--pairs`` pack) training pairs into tar shards."""
    from dehaze.config import Config, apply_overrides, validate_config
    from dehaze.data.shard_writer import ShardConfig, pack_pairs, synth_shards

    apply_max_pixels(args)
    config = Config.load(args.config) if args.config else Config()
    apply_overrides(config, args.overrides)
    validate_config(config)
    shard_config = ShardConfig(
        shard_size=args.shard_size,
        variants=args.variants,
        workers=args.workers,
        seed=args.seed,
        channels=3 if args.color else config.model.in_channels,
        patch_size=args.crop or config.train.patch_size,
        haze=config.haze,
        skip_bad=args.skip_bad,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    write = pack_pairs if args.pairs else synth_shards
    summary = write(args.clean_dir, args.out_dir, shard_config)
    for line in summary.skipped:
        print(f"skipped {line}", file=sys.stderr)
    message = f"wrote {summary.samples} samples in {len(summary.shards)} shards to {args.out_dir}"
    print(message + (f"; skipped {len(summary.skipped)} unreadable input(s)" if summary.skipped else ""))
    return EXIT_OK


def _check_shard_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Folder-only options are refused with --shards, shard-only ones without it."""
    if args.shards:
        folder_only = {"--depth": args.depth is not None, "--per-image": args.per_image > 1}
        folder_only.update({"--beta": list(args.beta) != list(RESIDE_BETA), "--tint": list(args.tint) != [0.0, 0.0]})
        folder_only["--airlight"] = list(args.airlight) != list(RESIDE_AIRLIGHT)
        for flag in (flag for flag, given in folder_only.items() if given):
            parser.error(f"{flag} is for folder output; with --shards the haze: config applies (--set haze.KEY=VALUE)")
        if args.pairs and args.variants > 1:
            parser.error("--variants makes new haze; --pairs packs the pairs as they are")
    elif args.pairs or args.config or args.overrides:
        parser.error("--pairs, --config and --set need --shards")


def synthesize(args: argparse.Namespace) -> int:
    refuse_missing([("CLEAN_DIR", args.clean_dir), ("--depth", args.depth)])
    from tqdm import tqdm  # here, after the arguments are read: the haze and image modules import torch

    from dehaze.haze import HazeRanges
    from dehaze.synth import SynthConfig, read_manifest, synthesize_pairs

    apply_max_pixels(args)
    skipped: list[str] = []

    def report_skip(path: Path, reason: str) -> None:
        skipped.append(f"{path}: {reason}")
        tqdm.write(f"skipped {path}: {reason}", file=sys.stderr)  # keeps the progress bar intact

    config = SynthConfig(
        ranges=HazeRanges(beta=tuple(args.beta), airlight=tuple(args.airlight), tint=tuple(args.tint)),
        seed=args.seed,
        crop=args.crop,
        per_image=args.per_image,
        variants=args.variants,
        color=args.color,
        depth_dir=args.depth,
        skip_bad=args.skip_bad,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    manifest = synthesize_pairs(args.clean_dir, args.out_dir, config, on_skip=report_skip)
    rows = read_manifest(manifest)
    n_clean = len({row["clean"] for row in rows})
    message = f"wrote {len(rows)} hazy/clean pairs ({n_clean} clean images) to {args.out_dir}; manifest {manifest}"
    if skipped:
        message += f"; skipped {len(skipped)} unreadable file(s)"
    print(message)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_shard_arguments(parser, args)
    if args.per_image > 1 and args.crop is None:
        parser.error("--per-image needs --crop SIZE")
    return run_cli(lambda: write_shard_set(args) if args.shards else synthesize(args))


if __name__ == "__main__":
    sys.exit(main())
