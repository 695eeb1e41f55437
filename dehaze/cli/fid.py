"""``dehaze-fid``: FID between two folders, or a metrics report (FID, PSNR, SSIM, spectral distance) of checkpoints.

Two modes::

    dehaze-fid A B [--fid-weights PATH]
    dehaze-fid --checkpoint C [C2 ...] --data TEST_ROOT [--dcp] [--out-json F] [--out-md F] [--max-images N]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from dehaze.checkpoint import atomic_write_text
from dehaze.cli.common import EXIT_OK, run_cli
from dehaze.errors import DehazeError
from dehaze.metrics.evaluate import format_value

HAZY_ROW = "hazy input"
DCP_ROW = "dark channel prior"
COLUMNS = (("psnr", "PSNR", 2), ("ssim", "SSIM", 4), ("fid", "FID", 2), ("spectral_distance", "SpecDist", 4))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dehaze-fid",
        description="FID (pytorch-fid's Inception, offline) between two image folders, with PSNR/SSIM when their "
        "files pair up by relative path; or, with --checkpoint/--data, a FID/PSNR/SSIM/spectral-distance table "
        "of dehazing checkpoints on test pairs, with the hazy input as a baseline row.",
    )
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
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _device(name: str | None) -> str:
    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DehazeError(f"--device {name}: CUDA is not available")
    return name


def paired_files(files_a: list[Path], root_a: Path, files_b: list[Path], root_b: Path) -> list[tuple[Path, Path]]:
    """Files of A and B with the same relative path without suffix (``x/img.png`` ↔ ``x/img.jpg``)."""
    index_b = {p.relative_to(root_b).with_suffix(""): p for p in files_b}
    return [(p, index_b[key]) for p in files_a if (key := p.relative_to(root_a).with_suffix("")) in index_b]


def compare_folders(args: argparse.Namespace) -> int:
    from dehaze.imageio import read_image, to_tensor
    from dehaze.metrics.fid import activations, fid_from_activations, folder_images, load_inception
    from dehaze.metrics.quality import psnr, ssim

    root_a, root_b = args.folders
    files_a, files_b = folder_images(root_a), folder_images(root_b)
    model = load_inception(args.fid_weights, _device(args.device))
    acts_a = activations(files_a, model, args.batch_size, not args.quiet, desc=str(root_a))
    acts_b = activations(files_b, model, args.batch_size, not args.quiet, desc=str(root_b))
    fid = fid_from_activations(acts_a, acts_b)
    print(f"FID: {format_value(fid, 4)}  ({len(files_a)} images in {root_a}, {len(files_b)} in {root_b})")
    psnrs, ssims, skipped = [], [], 0
    for path_a, path_b in paired_files(files_a, root_a, files_b, root_b):
        image_a, image_b = read_image(path_a, channels=3), read_image(path_b, channels=3)
        if image_a.shape != image_b.shape:
            skipped += 1
            continue
        tensor_a, tensor_b = to_tensor(image_a)[None], to_tensor(image_b)[None]
        psnrs.append(psnr(tensor_a, tensor_b))
        ssims.append(ssim(tensor_a, tensor_b))
    if psnrs:
        note = f", {skipped} pair(s) of different sizes skipped" if skipped else ""
        print(
            f"PSNR: {format_value(float(np.mean(psnrs)), 2)} dB  SSIM: {format_value(float(np.mean(ssims)), 4)}  "
            f"({len(psnrs)} files paired by relative path{note})"
        )
    else:
        print("PSNR/SSIM: not computed (no files pair up by relative path and size)")
    return EXIT_OK


def format_table(rows: list[dict]) -> str:
    """Plain-text table of report rows."""
    name_width = max(len("method"), *(len(r["name"]) for r in rows)) + 2
    header = f"{'method':<{name_width}}" + "".join(f"{title:>10}" for _, title, _ in COLUMNS) + f"{'images':>8}"
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = "".join(f"{format_value(row[key], digits):>10}" for key, _, digits in COLUMNS)
        lines.append(f"{row['name']:<{name_width}}{cells}{row['count']:>8}")
    return "\n".join(lines)


def format_markdown(rows: list[dict], data: Path) -> str:
    """Markdown table of report rows."""
    lines = [
        f"Test data: `{data}` ({rows[0]['count']} pairs)",
        "",
        "| method | " + " | ".join(title for _, title, _ in COLUMNS) + " | images |",
        "|---|" + "---:|" * (len(COLUMNS) + 1),
    ]
    for row in rows:
        cells = " | ".join(format_value(row[key], digits) for key, _, digits in COLUMNS)
        lines.append(f"| {row['name']} | {cells} | {row['count']} |")
    return "\n".join(lines) + "\n"


def _json_safe(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def checkpoint_label(path: Path) -> str:
    """Row name: the file stem, prefixed by its run folder for the generic ``best``/``last`` names of a run dir."""
    return f"{path.parent.name}/{path.stem}" if path.stem in ("best", "last") and path.parent.name else path.stem


def report(args: argparse.Namespace) -> int:
    from dehaze.data.pairing import find_pairs
    from dehaze.metrics.evaluate import clean_reference, evaluate_pairs
    from dehaze.metrics.fid import load_inception

    if args.max_images is not None and args.max_images < 1:
        raise DehazeError("--max-images must be at least 1")
    if not args.data.is_dir():
        raise DehazeError(f"{args.data}: test data folder not found")
    for checkpoint in args.checkpoint:
        if not checkpoint.is_file():
            raise DehazeError(f"{checkpoint}: checkpoint not found")
    device = _device(args.device)
    pairs = find_pairs(args.data).pairs[: args.max_images]
    methods: list[tuple[str, str | None, object]] = [(HAZY_ROW, None, None)]
    if args.dcp:
        from dehaze.dcp import dark_channel_prior

        methods.append((DCP_ROW, None, dark_channel_prior))
    for checkpoint in args.checkpoint:
        methods.append((checkpoint_label(checkpoint), str(checkpoint), None))
    use_fid = not args.no_fid
    inception = load_inception(args.fid_weights, device) if use_fid else None
    progress = not args.quiet
    reference = clean_reference(pairs, inception, args.channels, args.batch_size, progress) if use_fid else None
    rows = []
    for name, checkpoint, function in methods:
        if checkpoint is not None:
            from dehaze.inference import Dehazer

            function = Dehazer.from_checkpoint(Path(checkpoint), device=device).dehaze_array
        metrics = evaluate_pairs(
            function,
            pairs,
            channels=args.channels,
            fid=use_fid,
            inception=inception,
            progress=progress,
            reference=reference,
            batch_size=args.batch_size,
            desc=name,
        )
        rows.append({"name": name, "checkpoint": checkpoint, **metrics})
    print(format_table(rows))
    if args.out_json:
        payload = {
            "data": str(args.data),
            "pairs": len(pairs),
            "channels": args.channels,
            "rows": [{k: _json_safe(v) for k, v in row.items()} for row in rows],
        }
        atomic_write_text(args.out_json, json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.out_json}")
    if args.out_md:
        atomic_write_text(args.out_md, format_markdown(rows, args.data))
        print(f"wrote {args.out_md}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    report_mode = bool(args.checkpoint) or args.data is not None
    if report_mode and args.folders:
        parser.error("give either two FOLDERs or --checkpoint/--data, not both")
    if report_mode and args.data is None:
        parser.error("--checkpoint needs --data TEST_ROOT")
    if not report_mode and len(args.folders) != 2:
        parser.error("give two folders (dehaze-fid A B) or --data TEST_ROOT [--checkpoint C ...]")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return run_cli(lambda: report(args) if report_mode else compare_folders(args))


if __name__ == "__main__":
    raise SystemExit(main())
