"""The app's work folder: one folder per running app under a shared root, swept while it runs, removed at exit.

Uploads (Gradio's cache, ``GRADIO_TEMP_DIR``) and results both live in this process's folder
``ROOT/.app.<pid>.<random>.tmp``, so Gradio serves results in place instead of copying them. At start the folders of
apps that are gone (``kill -9``) are removed (:func:`dehaze.atomic.remove_stale_temps`); a live app's folder is never
touched. While the app runs a sweeper deletes every file older than ``keep`` seconds, and at once an upload that a
client abandoned half-sent (Gradio leaves it as a top-level temp file); a file this process still has open, or one
that a request waiting in the queue was sent with (``in_use``), is kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dehaze.atomic import remove_stale_temps, temp_prefix
from dehaze.errors import DehazeError

STRAY_AGE = 2.0  # seconds a closed top-level upload temp file may sit before it counts as abandoned


def default_root() -> Path:
    """``$TMPDIR/dehaze-app-<uid>``: one root per user, so users never share (or clean) each other's files."""
    user = getattr(os, "getuid", lambda: "user")()
    return Path(tempfile.gettempdir()) / f"dehaze-app-{user}"


def folder_size(path: Path) -> int:
    """Bytes of every regular file under ``path`` (0 when it does not exist)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _open_files() -> set[str]:
    """Paths this process has open (Linux ``/proc/self/fd``; elsewhere none are known, age alone decides)."""
    paths = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                paths.add(os.readlink(f"/proc/self/fd/{fd}"))
    return paths


def _age(path: str, now: float) -> float:
    stat = os.lstat(path)
    return now - max(stat.st_mtime, stat.st_ctime)  # a rename or a re-served file counts as new use


class WorkFolder:
    """This app's folder under ``root``: :meth:`open` cleans after dead apps and makes it, :meth:`close` removes it."""

    def __init__(self, root: Path, keep: float) -> None:
        self.root = Path(root)
        self.keep = float(keep)
        self.path: Path | None = None
        self.removed: list[Path] = []  # what earlier, killed apps left (removed by open())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> Path:
        """Remove the folders of apps that no longer run, then make this app's folder; returns it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.removed = remove_stale_temps(self.root)
            self.path = Path(tempfile.mkdtemp(prefix=temp_prefix("app"), suffix=".tmp", dir=self.root)).resolve()
            self.results.mkdir()
        except OSError as exc:
            raise DehazeError(f"{self.root}: cannot make the app's work folder there: {exc.strerror or exc}") from None
        return self.path

    @property
    def results(self) -> Path:
        """Where results are written (inside Gradio's cache, so Gradio serves them without a copy)."""
        if self.path is None:
            raise RuntimeError("the work folder is not open")
        return self.path / "results"

    def sweep(self, now: float | None = None, in_use: Callable[[], set[str]] = set) -> list[Path]:
        """Delete files older than ``keep`` and abandoned uploads, then empty folders; never an open file or one
        in ``in_use()`` (real paths)."""
        if self.path is None:
            return []
        now, busy, removed = now or time.time(), _open_files() | in_use(), []
        for folder, subfolders, files in os.walk(self.path, topdown=False):
            for name in files:
                path = os.path.join(folder, name)
                limit = STRAY_AGE if folder == str(self.path) else self.keep
                with contextlib.suppress(OSError):
                    if path not in busy and _age(path, now) > limit:
                        os.unlink(path)
                        removed.append(Path(path))
            for name in subfolders:
                with contextlib.suppress(OSError):  # not empty (or just used): kept
                    path = os.path.join(folder, name)
                    if path != str(self.results) and _age(path, now) > min(self.keep, STRAY_AGE):
                        os.rmdir(path)
        return removed

    def start_sweeper(self, period: float, in_use: Callable[[], set[str]] = set) -> None:
        """Sweep every ``period`` seconds in a daemon thread until :meth:`close` (``in_use`` as in :meth:`sweep`)."""

        def loop() -> None:
            while not self._stop.wait(period):
                self.sweep(in_use=in_use)

        self._thread = threading.Thread(target=loop, name="dehaze-app-sweeper", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop sweeping and remove this app's folder with everything in it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> WorkFolder:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
