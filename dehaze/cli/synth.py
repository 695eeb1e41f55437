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
    return parser


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
    if args.per_image > 1 and args.crop is None:
        parser.error("--per-image needs --crop SIZE")
    return run_cli(lambda: synthesize(args))


if __name__ == "__main__":
    sys.exit(main())
