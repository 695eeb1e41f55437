"""User-facing errors: the CLIs print these as one line, without a traceback."""

from __future__ import annotations

from pathlib import Path


class DehazeError(Exception):
    """An error caused by the user's input or environment, reported as a plain message."""


class ImageReadError(DehazeError):
    """A file that cannot be decoded as an image."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
