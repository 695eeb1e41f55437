"""Uploads in, PNGs out: each photo goes through :func:`dehaze.pipeline.dehaze_file`, as in ``dehaze-infer``.

A bad upload gives the one-line reason that ``dehaze-infer`` lists for it and the other photos go on; dehazers are
built once per colour mode and strength and the last :data:`KEPT_DEHAZERS` kept, so clients that send many
strengths cannot grow the app's memory. A dehazer is stateless: concurrent jobs share it.
"""

from __future__ import annotations

import tempfile
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from dehaze.errors import DehazeError
from dehaze.pipeline import DehazeFn, RunOptions, dehaze_file, make_dehazer, read_for_mode

KEPT_DEHAZERS = 8  # built dehazers kept (a few MB of weights each); the least recently used goes first


@dataclass(frozen=True)
class PhotoResult:
    """One uploaded photo: its PNGs (the input as read, the model's output, optionally DCP's) or why it failed."""

    name: str
    before: Path | None = None
    after: Path | None = None
    dcp: Path | None = None
    error: str | None = None


def failure_reason(exc: Exception) -> str:
    """The reason ``dehaze-infer`` prints for a file it could not process."""
    if isinstance(exc, DehazeError):
        return getattr(exc, "reason", None) or str(exc)
    return f"cannot process: {getattr(exc, 'strerror', None) or exc}"


class DehazeService:
    """Dehaze uploaded files into PNGs under ``workdir`` with the options of ``base`` (checkpoint, device, tiles)."""

    def __init__(self, base: RunOptions, workdir: Path) -> None:
        self.base = base
        self.workdir = Path(workdir)
        self._dehazers: OrderedDict[RunOptions, DehazeFn] = OrderedDict()
        self._lock = threading.Lock()

    def dehazer(self, color: str, strength: float, dcp: bool = False) -> DehazeFn:
        """The dehazer of these options (built on first use, then kept)."""
        options = replace(self.base, color=color, strength=float(strength), dcp=dcp)
        if dcp:
            options = replace(options, strength=1.0)
        with self._lock:
            if options not in self._dehazers:
                self._dehazers[options] = make_dehazer(options)
                while len(self._dehazers) > KEPT_DEHAZERS:
                    self._dehazers.popitem(last=False)
            self._dehazers.move_to_end(options)
            return self._dehazers[options]

    def _folder(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.workdir))

    def dehaze_to_png(self, source: Path, color: str, strength: float) -> Path:
        """The PNG that ``dehaze-infer SOURCE -o OUT --color COLOR --strength S`` writes; raises DehazeError."""
        output = self._folder() / (Path(source).stem + ".png")
        dehaze_file(Path(source), output, self.dehazer(color, strength), color)
        return output

    def process(self, source: Path, color: str, strength: float, with_dcp: bool) -> PhotoResult:
        """One upload for the page: before/after PNGs (and DCP's), or the one-line reason it failed."""
        from dehaze.imageio import save_image

        name = Path(source).name
        try:
            after = self.dehaze_to_png(source, color, strength)
            before = after.with_name(after.stem + ".input.png")
            save_image(read_for_mode(Path(source), color), before)
            dcp = None
            if with_dcp:
                dcp = after.with_name(after.stem + ".dcp.png")
                dehaze_file(Path(source), dcp, self.dehazer(color, 1.0, dcp=True), color)
        except (DehazeError, OSError) as exc:
            return PhotoResult(name, error=failure_reason(exc))
        return PhotoResult(name, before, after, dcp)


def zip_results(results: list[PhotoResult], folder: Path) -> Path:
    """The dehazed PNGs of ``results`` in one zip (names made unique: ``a.png``, ``a-2.png``)."""
    path = Path(folder) / "dehazed.zip"
    used: set[str] = set()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for result in results:
            if result.after is None:
                continue
            name, count = result.after.name, 1
            while name in used:
                count += 1
                name = f"{result.after.stem}-{count}.png"
            used.add(name)
            archive.write(result.after, name)
    return path


def summary_lines(results: list[PhotoResult]) -> str:
    """``dehazed N photo(s)`` and one line per photo that failed, with its reason (as ``dehaze-infer`` lists it)."""
    done = sum(result.after is not None for result in results)
    lines = [f"dehazed {done} photo(s); failed {len(results) - done}"]
    lines += [f"{result.name}: {result.error}" for result in results if result.error]
    return "\n".join(lines)
