"""``dehaze-infer``: dehaze image files and folders into a mirrored output tree, safely.

    dehaze-infer INPUT... -o OUT [--checkpoint PATH] [--device cpu|cuda] [--color auto|gray|luminance|per-channel]
                 [--overwrite] [--ext png] [--tile 1024] [--overlap 32] [--batch-size N] [--dcp] [--strength S]
                 [--quiet]

Folders are searched recursively and mirrored under OUT (relative to the folder); a file given directly goes to
OUT itself. Files are decoded by content. Outputs get the ``--ext`` suffix; when two inputs in one folder would map
to the same name (``a.jpg`` and ``a.png``), both keep their full name (``a.jpg.png``, ``a.png.png``). Videos
(``.mp4``, ``.mov``, ``.mkv``, ``.webm``, ``.avi``, ``.m4v``; the ``video`` extra) keep their container and audio,
with the light carried from frame to frame (:mod:`dehaze.video`).

Safety: no output is ever written over an input or inside an input folder (so OUT may not be an input folder or
lie inside one); existing outputs are skipped unless ``--overwrite``. Unreadable images are reported at the end
and give exit code 2 without stopping the run; a full disk stops it with one line naming the file, also exit code
2; 0 means every image was dehazed (or already was).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dehaze.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_max_pixels_option,
    add_version_option,
    apply_max_pixels,
    refuse_missing,
    run_cli,
)
from dehaze.defaults import COLOR_MODES, STRENGTH_RANGE, check_strength_range
from dehaze.errors import DehazeError, WriteError
from dehaze.paths import is_within
from dehaze.pipeline import DehazeFn, RunOptions, dehaze_file, make_dehazer


@dataclass
class Job:
    source: Path
    output: Path


@dataclass
class RunSummary:
    done: int = 0
    skipped: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)
    stopped: str | None = None  # a full disk stopped the run: the one line that names the file


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dehaze-infer",
        description="Dehaze images (files or folders, searched recursively) into OUT, mirroring the folder tree. "
        "Inputs are never modified; existing outputs are skipped unless --overwrite. Exit code 0: all done; "
        "2: some files could not be read (listed at the end) or the disk filled up (the run stops there); "
        "1: nothing done (bad arguments).",
    )
    add_version_option(parser)
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image or video files and/or folders")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT", help="output folder")
    parser.add_argument("--checkpoint", type=Path, help="generator .safetensors (default: the shipped model)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument(
        "--color",
        choices=COLOR_MODES,
        default="auto",
        help="auto (default): colour in, colour out (the RGB model), gray in, gray out (the gray model); "
        "gray: grayscale output; luminance: dehaze Y, keep chroma; per-channel: R, G, B separately",
    )
    parser.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    parser.add_argument(
        "--ext", default="png", help="output format: png (default), jpg, jpeg, tif, tiff, bmp or webp (≤ 16383 px)"
    )
    parser.add_argument("--tile", type=int, default=1024, help="tile size in px, 0 = whole image (default 1024)")
    parser.add_argument("--overlap", type=int, default=32, help="tile overlap in px (default 32)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="tiles per model call (default: 4 on CUDA, 1 on the CPU)"
    )
    parser.add_argument(
        "--dcp",
        action="store_true",
        help="use the dark channel prior (He et al. 2009) instead of the model, e.g. as a baseline; "
        "colour modes other than gray run the prior on RGB",
    )
    parser.add_argument(
        "--strength",
        type=float,
        default=1.0,
        metavar="S",
        help=f"how much haze to remove, {STRENGTH_RANGE[0]:g} to {STRENGTH_RANGE[1]:g}: 0 = the input unchanged, "
        "1 = the model's output (default), above 1 more haze removed around the same light (never darker)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_max_pixels_option(parser)
    return parser


def output_suffix(ext: str) -> str:
    from dehaze.imageio import output_format

    try:
        output_format(ext)
    except DehazeError as exc:
        raise DehazeError(f"--ext {ext}: {str(exc).partition(': ')[2]}") from None
    return "." + ext.lower().lstrip(".")


@dataclass
class Plan:
    """Every input image with its output path, and the folder entries that were skipped (with the reason)."""

    jobs: list[Job]
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _add_input(given: Path, out_dir: Path, sources: list, input_folders: list, skipped: list) -> None:
    """Add the images of one command-line input (file or folder); refuse an output folder among the inputs."""
    from dehaze.imageio import scan_images
    from dehaze.video.run import scan_videos

    refuse_missing([("", given)])
    resolved = given.resolve()
    if not given.is_dir():
        if out_dir == resolved.parent:
            raise DehazeError(
                f"output folder {out_dir} is the folder of the input {given}; outputs would mix with the sources "
                "(and could replace other files there). Choose another output folder."
            )
        sources.append((resolved, resolved.parent))
        return
    input_folders.append(resolved)
    if is_within(out_dir, resolved):
        raise DehazeError(
            f"output folder {out_dir} is the input folder {resolved} or inside it; outputs would mix with "
            "the sources. Choose an output folder outside the input."
        )
    scan, videos = scan_images(resolved), scan_videos(resolved)
    if not scan.images and not scan.skipped and not videos:
        raise DehazeError(f"{given}: no images or videos found (suffixes like .png, .jpg, .tif, .mp4)")
    sources.extend((path, resolved) for path in sorted([*scan.images, *videos]))
    skipped.extend(scan.skipped)


def plan_jobs(inputs: list[Path], out_dir: Path, suffix: str) -> Plan:
    """Map every input image to its output path; refuse any layout that could write over or among the inputs.

    Inputs are compared by their resolved paths, so a symbolic link to an output is refused like the output itself.
    """
    out_dir = out_dir.resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise DehazeError(f"{out_dir}: output exists and is not a folder")
    sources: list[tuple[Path, Path]] = []  # (image, folder its output path is relative to)
    input_folders: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for given in inputs:
        _add_input(given, out_dir, sources, input_folders, skipped)
    jobs = _name_outputs(sources, out_dir, suffix)
    input_files = {source.resolve() for source, _ in sources}
    for job in jobs:
        resolved_output = job.output.resolve()
        if resolved_output in input_files or any(is_within(resolved_output, f) for f in input_folders):
            raise DehazeError(
                f"{job.source}: its output {job.output} would overwrite an input or land inside an input folder; "
                "choose another output folder"
            )
    return Plan(jobs, skipped)


def _name_outputs(sources: list[tuple[Path, Path]], out_dir: Path, suffix: str) -> list[Job]:
    """Images get ``suffix``; a video keeps its own (its container)."""
    from dehaze.video.io import is_video

    def output_suffix(source: Path) -> str:
        return source.suffix.lower() if is_video(source) else suffix

    by_short_name: dict[Path, list[Path]] = defaultdict(list)
    for source, base in sources:
        by_short_name[out_dir / source.relative_to(base).with_suffix(output_suffix(source))].append(source)
    jobs: dict[Path, Job] = {}
    for source, base in sources:
        output = out_dir / source.relative_to(base).with_suffix(output_suffix(source))
        if len(set(by_short_name[output])) > 1:  # a.jpg and a.png → a.jpg.png and a.png.png
            output = output.with_name(source.name + output_suffix(source))
        if output in jobs and jobs[output].source != source:
            raise DehazeError(
                f"{jobs[output].source} and {source} would both be written to {output}; "
                "dehaze them into different output folders"
            )
        jobs[output] = Job(source, output)
    return list(jobs.values())


def run_options(args: argparse.Namespace) -> RunOptions:
    """The model options of the parsed arguments."""
    return RunOptions(
        checkpoint=args.checkpoint,
        device=args.device,
        color=args.color,
        strength=args.strength,
        dcp=args.dcp,
        tile=args.tile,
        overlap=args.overlap,
        batch_size=args.batch_size,
    )


def dehaze_one(job: Job, dehaze: DehazeFn, color: str, quiet: bool) -> None:
    """One image (by ``color``) or one video (frames through the RGB model, with steady light)."""
    from dehaze.video.io import is_video

    if is_video(job.source):
        from dehaze.video import dehaze_video

        dehaze_video(job.source, job.output, dehaze, quiet=quiet)
    else:
        dehaze_file(job.source, job.output, dehaze, color)


def run_jobs(jobs: list[Job], dehaze: DehazeFn, color: str, overwrite: bool, quiet: bool) -> RunSummary:
    from tqdm import tqdm

    from dehaze.atomic import remove_stale_temps

    summary = RunSummary()
    for folder in sorted({job.output.parent for job in jobs}):
        remove_stale_temps(folder)  # temp files left by a run that was killed (kill -9) while writing here
    for job in tqdm(jobs, desc="dehaze", unit="img", disable=quiet, file=sys.stderr):
        if job.output.is_symlink() or (job.output.exists() and not job.output.is_file()):
            summary.failures.append((job.source, f"its output {job.output} exists and is not a regular file"))
            continue
        if job.output.exists() and not overwrite:
            summary.skipped += 1
            continue
        try:
            dehaze_one(job, dehaze, color, quiet)
        except WriteError as exc:
            if exc.disk_full:  # every further output would fail the same way: stop, naming the file
                summary.stopped = f"{exc}; stopped after {summary.done} new file(s)"
                break
            summary.failures.append((job.source, str(exc)))
            continue
        except DehazeError as exc:
            summary.failures.append((job.source, getattr(exc, "reason", None) or str(exc)))
            continue
        except OSError as exc:  # e.g. output folder not writable, disk full
            summary.failures.append((job.source, f"cannot write {job.output}: {exc.strerror or exc}"))
            continue
        summary.done += 1
    return summary


def report(summary: RunSummary, out_dir: Path) -> int:
    """The summary line (or, when a full disk stopped the run, one ``error:`` line), the failed files; exit code."""
    if summary.stopped is None:
        print(
            f"dehazed {summary.done} file(s) into {out_dir}; skipped {summary.skipped} existing "
            f"(use --overwrite to redo); failed {len(summary.failures)}"
        )
    if summary.failures:
        print(f"{len(summary.failures)} file(s) could not be processed:", file=sys.stderr)
        for path, reason in summary.failures:
            print(f"  {path}: {reason}", file=sys.stderr)
    if summary.stopped is not None:
        sys.stdout.flush()
        print(f"error: {summary.stopped}", file=sys.stderr)
    return EXIT_PARTIAL if summary.failures or summary.stopped else EXIT_OK


def _body(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.batch_size is not None and args.batch_size < 1:
        raise DehazeError("--batch-size must be at least 1")
    check_strength_range(args.strength)
    refuse_missing(("", given) for given in args.inputs)
    from dehaze.tiling import check_tiling

    check_tiling(args.tile, args.overlap)
    apply_max_pixels(args)
    plan = plan_jobs(args.inputs, args.output, output_suffix(args.ext))
    dehaze = make_dehazer(run_options(args))
    summary = run_jobs(plan.jobs, dehaze, args.color, args.overwrite, args.quiet)
    summary.failures[:0] = plan.skipped  # skipped folder entries are listed first, like unreadable files
    return report(summary, args.output)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    return run_cli(lambda: _body(argv))


if __name__ == "__main__":
    sys.exit(main())
