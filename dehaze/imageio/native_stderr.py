"""Capturing what the C decoders (libjpeg, libpng, libtiff) print on file descriptor 2, so it is not shown."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

_NATIVE_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Collect what C libraries (libjpeg, libpng, libtiff) write to file descriptor 2 inside the block.

    The lines go into the yielded list instead of the terminal (they are warnings such as libjpeg's "Corrupt JPEG
    data: premature end of data segment"). Without a usable descriptor 2 nothing is captured.
    """
    lines: list[str] = []
    with _NATIVE_STDERR_LOCK, contextlib.ExitStack() as stack:
        try:
            sink = stack.enter_context(tempfile.TemporaryFile())
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(sink.fileno(), 2)
        except (OSError, ValueError):  # no temp space (full disk) or no descriptor 2: decode without capturing
            yield lines
            return
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read(1 << 16).decode(errors="replace").splitlines())
