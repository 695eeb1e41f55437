"""Atomic file writes: a temp file in the target folder, fsync'd, then renamed over the target.

A crash, a full disk or Ctrl-C at any moment leaves either the old file or the new one, never a half-written one.
Temp files are named ``.<name>.<pid>.<random>.tmp`` (the name cut to 200 bytes, so a legal 255-byte name still
gets a legal temp name); :func:`remove_stale_temps` deletes those whose writing process is gone (``kill -9``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from dehaze.errors import WriteError

MAX_TEMP_STEM_BYTES = 200  # temp name = "." + stem + "." + pid + "." + 8 random + ".tmp" ≤ 230 bytes
_TEMP_NAME = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>[0-9]+)\.[a-z0-9_]{8}\.tmp$")


def temp_prefix(name: str) -> str:
    """Prefix for ``tempfile.mkstemp``/``mkdtemp`` in our naming: hidden, ``name`` cut to 200 bytes, our PID."""
    stem = name.encode()[:MAX_TEMP_STEM_BYTES].decode(errors="ignore")
    return f".{stem}.{os.getpid()}."


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # exists but belongs to someone else (or not a valid PID: treat as alive, keep the file)
    return True


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete temp files/folders of our naming in ``folder`` whose writer process no longer runs; returns them.

    A temp file of a live process (a concurrent run writing into the same folder) is never touched.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or int(match["pid"]) == os.getpid() or _process_alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` on a temp file in the target folder, fsync it, then rename it over ``path``.

    An :class:`OSError` on the way (disk full, file too large, no permission) removes the temp file and raises
    :class:`~dehaze.errors.WriteError` naming ``path``; the previous file, if any, is left as it was. Writers that
    report I/O failures as other exceptions (``torch.save``, ``safetensors``) should serialise to memory and use
    :func:`atomic_write_bytes`, so a full disk is reported the same way.
    """
    atomic_write_all([(Path(path), writer)])


def atomic_write_all(items: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write several files so that a failed write changes none of them: every temp file is written and fsync'd
    first, and only then are they all renamed into place (only a crash between two renames can split them)."""
    written: list[tuple[Path, Path]] = []
    try:
        for path, writer in items:
            written.append((_write_temp(Path(path), writer), Path(path)))
        while written:
            tmp, path = written[0]
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise WriteError(path, exc, path.exists()) from exc
            written.pop(0)
    finally:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _write_temp(path: Path, writer: Callable[[Path], None]) -> Path:
    """A fsync'd temp file next to ``path`` holding what ``writer`` wrote; WriteError (nothing left) on failure."""
    existed, tmp = False, None
    try:
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        writer(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        done, tmp = tmp, None
        return done
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(path, exc, existed) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_bytes(path: Path, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically; a short write or a full disk raises :class:`~dehaze.errors.WriteError`."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
