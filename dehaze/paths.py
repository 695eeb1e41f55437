"""Path relations used to keep outputs away from inputs."""

from __future__ import annotations

from pathlib import Path


def is_within(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or lies inside it (compare resolved paths)."""
    return path == folder or folder in path.parents
