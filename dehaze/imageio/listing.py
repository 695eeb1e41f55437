"""Finding image files in a folder: what is read, and what is skipped with its reason (never silently)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dehaze.errors import DehazeError

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".avif"}
)
# Image formats we cannot decode: listed as skipped when found in a folder, never silently ignored.
UNSUPPORTED_IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".heic", ".heif", ".jxl", ".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".raf", ".rw2"}
)
_LISTED_SUFFIXES = IMAGE_SUFFIXES | UNSUPPORTED_IMAGE_SUFFIXES


@dataclass
class ImageScan:
    """What :func:`scan_images` found: image files, and entries that look like images but are skipped (reason)."""

    images: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _skip_reason(path: Path) -> str | None:
    """Why an entry with an image suffix (or a linked folder) cannot be read; None for a readable image file."""
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if path.is_dir():
        return "symbolic link to a folder (not followed: it could lead back into an output or loop)"
    if not path.is_file():
        return "not a regular file (a FIFO, socket or device)"
    if path.suffix.lower() in UNSUPPORTED_IMAGE_SUFFIXES:
        return f"unsupported image format {path.suffix} (convert it to PNG, JPEG or TIFF)"
    return None


def scan_images(folder: Path, recursive: bool = True) -> ImageScan:
    """Image files (by suffix, case-insensitive) under ``folder``, sorted, and what was skipped and why.

    Hidden names are ignored. Skipped (listed, never silently): broken links, FIFOs/sockets/devices, links to
    folders (not followed) and files of image formats we cannot decode (e.g. ``.heic``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DehazeError(f"{folder}: not a folder")
    scan = ImageScan()
    for root, dirs, files in os.walk(folder) if recursive else [next(os.walk(folder))]:
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        linked = [name for name in dirs if Path(root, name).is_symlink()]
        dirs[:] = [name for name in dirs if name not in linked]
        for name in [*files, *linked]:
            path = Path(root, name)
            suffix = path.suffix.lower()
            if name.startswith(".") or (suffix not in _LISTED_SUFFIXES and name not in linked):
                continue
            reason = _skip_reason(path)
            if reason:
                scan.skipped.append((path, reason))
            else:
                scan.images.append(path)
    scan.images.sort()
    scan.skipped.sort()
    return scan


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files (by suffix, case-insensitive) under ``folder``, sorted (see :func:`scan_images`)."""
    return scan_images(folder, recursive).images
