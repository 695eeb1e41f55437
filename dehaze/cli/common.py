"""Shared CLI plumbing: one-line user errors, exit codes, quiet third-party warnings."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from dehaze.errors import DehazeError

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 130


def run_cli(body: Callable[[], int]) -> int:
    """Run a CLI body; a :class:`DehazeError` becomes ``error: ...`` on stderr and exit code 1, never a traceback."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    try:
        return body()
    except DehazeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
