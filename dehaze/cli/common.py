"""Shared CLI plumbing: one-line user errors, exit codes, quiet third-party warnings."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from dehaze import __version__
from dehaze.errors import DehazeError

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_version_option(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--version``: print ``<prog> <version>`` and exit 0."""
    parser.add_argument("--version", action="version", version=f"{parser.prog} {__version__}")
    return parser


def _end_stdout_line() -> None:
    """Flush what the tool printed, so that an error on stderr starts its own line after it, in order."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # closed or broken stdout: the error still goes to stderr
        pass


def run_cli(body: Callable[[], int]) -> int:
    """Run a CLI body; a :class:`DehazeError` becomes ``error: ...`` on stderr and exit code 1, never a traceback."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    try:
        return body()
    except DehazeError as exc:
        _end_stdout_line()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def refuse_missing(paths: Iterable[tuple[str, str | Path | None]]) -> None:
    """Refuse a missing input path at once, before torch is imported: one line naming it (and its option)."""
    for option, path in paths:
        if path is not None and path != "" and not Path(path).exists() and not Path(path).is_symlink():
            raise DehazeError(f"{path}: no such file or folder" + (f" ({option})" if option else ""))


def add_max_pixels_option(parser: argparse.ArgumentParser) -> None:
    """``--max-pixels N``: the image size limit checked from each file's header, before decoding."""
    from dehaze.defaults import DEFAULT_MAX_PIXELS

    parser.add_argument(
        "--max-pixels",
        type=int,
        metavar="N",
        help=f"refuse images of more than N pixels, checked before decoding (default {DEFAULT_MAX_PIXELS}: "
        "photos up to 60 MP; larger ones need more memory)",
    )


def apply_max_pixels(args: argparse.Namespace) -> None:
    """Apply ``--max-pixels`` (when given) to the image reader."""
    from dehaze.imageio import set_max_pixels

    if getattr(args, "max_pixels", None) is not None:
        set_max_pixels(args.max_pixels)
