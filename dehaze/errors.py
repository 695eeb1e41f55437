"""User-facing errors: the CLIs print these as one line, without a traceback."""

from __future__ import annotations

import errno
from pathlib import Path


class DehazeError(Exception):
    """An error caused by the user's input or environment, reported as a plain message."""


class ImageReadError(DehazeError):
    """A file that cannot be decoded as an image."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class WriteError(DehazeError, OSError):
    """A file that could not be written (disk full, no permission, ...); any earlier version of it is intact.

    Also an :class:`OSError`, so callers that already handle failed writes keep working; ``errno`` is the cause's.
    """

    def __init__(self, path: str | Path, cause: OSError, existed: bool) -> None:
        self.path = Path(path)
        detail = cause.strerror or str(cause) or type(cause).__name__
        outcome = f"the previous {self.path.name} is intact" if existed else "nothing was written"
        super().__init__(f"cannot write {self.path}: {detail}; {outcome}")
        self.errno = cause.errno

    @property
    def disk_full(self) -> bool:
        """No space (or quota, or file size limit) left: every further write will fail the same way."""
        return self.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class ConfigError(DehazeError, ValueError):
    """An invalid configuration value (also a :class:`ValueError`, what model constructors raise)."""
