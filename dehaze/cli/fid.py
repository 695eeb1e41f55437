"""``dehaze-fid``: FID between two folders, or a metrics report (FID, PSNR, SSIM, spectral distance) of checkpoints.

Three modes::

    dehaze-fid A B [--fid-weights PATH]
    dehaze-fid --checkpoint C [C2 ...] --data TEST_ROOT [--dcp] [--out-json F] [--out-md F] [--max-images N]
    dehaze-fid --real HAZY_PHOTOS --reference CLEAN_PHOTOS|STATS.npz [--checkpoint C ...] [--dcp]   (no ground truth)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dehaze.atomic import atomic_write_text
from dehaze.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_max_pixels_option,
    add_version_option,
    apply_max_pixels,
    run_cli,
)
from dehaze.defaults import BOOTSTRAP_DRAWS
from dehaze.errors import DehazeError, ImageReadError

if TYPE_CHECKING:  # torch, numpy and the metrics are imported only after the arguments are read
    import numpy as np


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dehaze-fid",
        description="FID (pytorch-fid's Inception, offline) between two image folders, with PSNR/SSIM when their "
        "files pair up by relative path; or, with --checkpoint/--data, a FID/PSNR/SSIM/spectral-distance table "
        "of dehazing checkpoints on test pairs, with the hazy input as a baseline row.",
    )
    add_version_option(parser)
    parser.add_argument("folders", nargs="*", type=Path, metavar="FOLDER", help="two image folders to compare")
    parser.add_argument("--checkpoint", nargs="+", type=Path, default=[], metavar="C", help="generator checkpoints")
    parser.add_argument("--data", type=Path, help="test root with hazy/clean pairs (for --checkpoint mode)")
    parser.add_argument("--dcp", action="store_true", help="add a dark-channel-prior baseline row")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=1, help="channels read for pairs (default 1)")
    parser.add_argument("--max-images", type=int, help="use at most N test pairs")
    parser.add_argument("--out-json", type=Path, help="write the report as JSON")
    parser.add_argument("--out-md", type=Path, help="write the report as a Markdown table")
    parser.add_argument("--fid-weights", type=Path, help="pytorch-fid Inception weights (.pth), else found offline")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--batch-size", type=int, default=16, help="Inception batch size (default 16)")
    parser.add_argument("--no-fid", action="store_true", help="skip FID (report mode)")
    parser.add_argument(
        "--fid-draws",
        type=int,
        default=BOOTSTRAP_DRAWS,
        metavar="N",
        help=f"bootstrap resamples for the ± next to every FID (default {BOOTSTRAP_DRAWS}; 0: no interval)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--real", type=Path, help="real hazy photos with no ground truth: a no-reference report")
    parser.add_argument(
        "--reference", type=Path, help="clean photos (folder, statistics cached) or pytorch-fid .npz for --real"
    )
    parser.add_argument("--max-side", type=int, default=640, help="--real photos shrunk to this long side (640)")
    parser.add_argument(
        "--strength",
        type=float,
        nargs="+",
        default=[1.0],
        metavar="S",
        help="dehaze-infer --strength of the checkpoint rows; several give one row per checkpoint and strength",
    )
    add_max_pixels_option(parser)
    return parser


def real_report(args: argparse.Namespace) -> int:
    """No-reference table of hazy, DCP and checkpoints on real photos; unreadable photos are named, exit 2."""
    if not args.real.is_dir():
        raise DehazeError(f"{args.real}: folder of real hazy photos not found")
    if args.reference is not None and not args.reference.exists():
        raise DehazeError(f"{args.reference}: reference folder or .npz not found")
    from dehaze.data.real_hazy import shrink_to
    from dehaze.device import resolve_device
    from dehaze.imageio import scan_images
    from dehaze.metrics.inception import load_inception
    from dehaze.metrics.no_reference import fade_available
    from dehaze.metrics.perceptual import BRISQUE_HINT, brisque_available
    from dehaze.metrics.real_report import format_real_markdown, format_real_table, reference_stats, score_method
    from dehaze.metrics.report import checkpoint_method, dcp_method, hazy_method

    apply_max_pixels(args)
    device = str(resolve_device(args.device))
    methods = [hazy_method()] + ([dcp_method()] if args.dcp else [])
    methods += [checkpoint_method(path, device, strength=s) for path in args.checkpoint for s in args.strength]
    scan = scan_images(args.real)
    failures = list(scan.skipped)
    photos = [shrink_to(image, args.max_side) for image in _readable(scan.images[: args.max_images], failures)]
    if not photos:
        raise DehazeError(f"{args.real}: no readable photos")
    inception = None if args.no_fid or args.reference is None else load_inception(args.fid_weights, device)
    reference = None
    if args.reference is not None:
        reference = reference_stats(args.reference, inception, 3, args.max_side, args.batch_size, not args.quiet)
    rows = [score_method(method, photos, reference, inception, args.batch_size) for method in methods]
    print(format_real_table(rows))
    if args.reference is not None and reference is None:
        print(
            f"FID, detectability: not computed ({args.reference}'s statistics are not cached yet and --no-fid skips "
            "the Inception network that computes them: run once without --no-fid)"
        )
    if not fade_available():
        print("FADE: not computed (optional: pip install fade-python)")
    if not brisque_available():
        print(f"BRISQUE: not computed (optional: {BRISQUE_HINT})")
    if args.out_json:
        atomic_write_text(args.out_json, json.dumps({"photos": str(args.real), "rows": rows}, indent=2) + "\n")
    if args.out_md:
        atomic_write_text(args.out_md, format_real_markdown(rows, args.real))
    for path, reason in failures:
        print(f"  {path}: {reason}", file=sys.stderr)
    return EXIT_PARTIAL if failures else EXIT_OK


def paired_files(files_a: list[Path], root_a: Path, files_b: list[Path], root_b: Path) -> list[tuple[Path, Path]]:
    """Files of A and B with the same relative path without suffix (``x/img.png`` ↔ ``x/img.jpg``)."""
    index_b = {p.relative_to(root_b).with_suffix(""): p for p in files_b}
    return [(p, index_b[key]) for p in files_a if (key := p.relative_to(root_a).with_suffix("")) in index_b]


def _readable(files: list[Path], failures: list[tuple[Path, str]]) -> Iterator[np.ndarray]:
    """Each file decoded as RGB; an unreadable one is recorded in ``failures`` (path, reason) and left out."""
    from dehaze.imageio import read_image

    for path in files:
        try:
            yield read_image(path, channels=3)
        except ImageReadError as exc:
            failures.append((path, exc.reason))


def _paired_scores(pairs: list[tuple[Path, Path]], unreadable: set[Path]) -> tuple[list, list, int]:
    """PSNR and SSIM of each readable pair of equal size, and the number of pairs skipped for their sizes."""
    from dehaze.imageio import read_image, to_tensor
    from dehaze.metrics.quality import psnr, ssim

    psnrs, ssims, skipped = [], [], 0
    for path_a, path_b in pairs:
        if path_a in unreadable or path_b in unreadable:
            continue
        image_a, image_b = read_image(path_a, channels=3), read_image(path_b, channels=3)
        if image_a.shape != image_b.shape:
            skipped += 1
            continue
        tensor_a, tensor_b = to_tensor(image_a)[None], to_tensor(image_b)[None]
        psnrs.append(psnr(tensor_a, tensor_b))
        ssims.append(ssim(tensor_a, tensor_b))
    return psnrs, ssims, skipped


def compare_folders(args: argparse.Namespace) -> int:
    """FID (and PSNR/SSIM of files that pair up) of two folders; unreadable files are listed, exit 2."""
    for folder in args.folders:
        if not folder.is_dir():
            raise DehazeError(f"{folder}: {'not a folder' if folder.exists() else 'folder not found'}")
    import numpy as np

    from dehaze.device import resolve_device
    from dehaze.imageio import scan_images
    from dehaze.metrics.evaluate import format_value
    from dehaze.metrics.fid import activations, fid_bootstrap, fid_from_activations, folder_images
    from dehaze.metrics.inception import load_inception

    apply_max_pixels(args)
    root_a, root_b = args.folders
    files_a, files_b = folder_images(root_a), folder_images(root_b)
    failures = scan_images(root_a).skipped + scan_images(root_b).skipped
    model = load_inception(args.fid_weights, str(resolve_device(args.device)))
    acts = [
        activations(_readable(files, failures), model, args.batch_size, not args.quiet, desc=str(root))
        for files, root in ((files_a, root_a), (files_b, root_b))
    ]
    fid = fid_from_activations(*acts)
    interval = fid_bootstrap(*acts, fid, draws=args.fid_draws)
    spread = f" ± {format_value(interval.margin, 2)} (95%, {interval.draws} bootstrap resamples)" if interval else ""
    if interval is None and args.fid_draws:
        spread = " (no interval: it needs 3 images a folder)"
    print(f"FID: {format_value(fid, 4)}{spread}  ({len(acts[0])} images in {root_a}, {len(acts[1])} in {root_b})")
    unreadable = {path for path, _ in failures}
    psnrs, ssims, skipped = _paired_scores(paired_files(files_a, root_a, files_b, root_b), unreadable)
    if psnrs:
        note = f", {skipped} pair(s) of different sizes skipped" if skipped else ""
        print(
            f"PSNR: {format_value(float(np.mean(psnrs)), 2)} dB  SSIM: {format_value(float(np.mean(ssims)), 4)}  "
            f"({len(psnrs)} files paired by relative path{note})"
        )
    else:
        print("PSNR/SSIM: not computed (no files pair up by relative path and size)")
    if not failures:
        return EXIT_OK
    print(f"{len(failures)} file(s) could not be read (left out):", file=sys.stderr)
    for path, reason in failures:
        print(f"  {path}: {reason}", file=sys.stderr)
    return EXIT_PARTIAL


def report(args: argparse.Namespace) -> int:
    """Metrics table of the hazy input, DCP and checkpoints on test pairs (--data)."""
    if args.max_images is not None and args.max_images < 1:
        raise DehazeError("--max-images must be at least 1")
    if not args.data.is_dir():
        raise DehazeError(f"{args.data}: test data folder not found")
    for checkpoint in args.checkpoint:
        if not checkpoint.is_file():
            raise DehazeError(f"{checkpoint}: checkpoint not found")
    from dehaze.data.pairing import find_pairs
    from dehaze.device import resolve_device
    from dehaze.metrics.inception import load_inception
    from dehaze.metrics.report import (
        build_report,
        checkpoint_method,
        dcp_method,
        format_markdown,
        format_table,
        hazy_method,
        report_payload,
    )

    apply_max_pixels(args)
    device = str(resolve_device(args.device))
    pairs = find_pairs(args.data).pairs[: args.max_images]
    methods = [hazy_method()] + ([dcp_method()] if args.dcp else [])
    methods += [checkpoint_method(path, device, strength=s) for path in args.checkpoint for s in args.strength]
    use_fid = not args.no_fid
    inception = load_inception(args.fid_weights, device) if use_fid else None
    rows = build_report(
        pairs, methods, args.channels, use_fid, inception, args.batch_size, not args.quiet, args.fid_draws
    )
    print(format_table(rows))
    if args.out_json:
        payload = report_payload(rows, args.data, args.channels)
        atomic_write_text(args.out_json, json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.out_json}")
    if args.out_md:
        atomic_write_text(args.out_md, format_markdown(rows, args.data))
        print(f"wrote {args.out_md}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.real is not None:
        if args.folders or args.data is not None:
            parser.error("--real takes no FOLDERs and no --data")
        return run_cli(lambda: real_report(args))
    report_mode = bool(args.checkpoint) or args.data is not None
    if report_mode and args.folders:
        parser.error("give either two FOLDERs or --checkpoint/--data, not both")
    if report_mode and args.data is None:
        parser.error("--checkpoint needs --data TEST_ROOT")
    if not report_mode and len(args.folders) != 2:
        parser.error("give two folders (dehaze-fid A B) or --data TEST_ROOT [--checkpoint C ...]")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.fid_draws < 0:
        parser.error("--fid-draws must be at least 0")
    return run_cli(lambda: report(args) if report_mode else compare_folders(args))


if __name__ == "__main__":
    raise SystemExit(main())
