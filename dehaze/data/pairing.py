"""Find hazy/clean pairs under a dataset root.

Layout: ``ROOT/hazy/`` holds the hazy images (subfolders allowed, e.g. RESIDE OTS ``part1``…), and the clean
images are in the first existing of ``ROOT/clean/``, ``ROOT/GT/``, ``ROOT/gt/``, ``ROOT/clear/``.
A hazy image is paired with the clean image whose file stem (name without suffix; suffixes may differ) is:

1. the same stem (``0001.png`` → ``0001.jpg``);
2. the RESIDE rule: the stem with up to two trailing ``_<number>`` fields removed
   (ITS/OTS/SOTS ``0001_0.8_0.2.jpg`` → ``0001.png``, SOTS indoor ``1400_3.png`` → ``1400.png``; also our own
   ``dehaze-synth`` names ``<id>_<A>_<beta>.png``);
3. the O-HAZE/I-HAZE/NH-HAZE rule: ``<x>_hazy`` → ``<x>_GT`` (``01_outdoor_hazy.jpg`` → ``01_outdoor_GT.jpg``),
   or ``<x>_gt``, ``<x>_clean``, ``<x>_clear``, ``<x>``.

The longest matching candidate wins, so ``img_1_0.8_1.2`` pairs with ``img_1`` before ``img``.
Several hazy images may share one clean image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dehaze.errors import DehazeError
from dehaze.imageio import list_images

HAZY_FOLDER = "hazy"
CLEAN_FOLDERS = ("clean", "GT", "gt", "clear")
_NUMERIC_FIELD = re.compile(r"^(.+)_(\d+(?:\.\d+)?)$")
_OHAZE_SUFFIXES = ("_GT", "_gt", "_clean", "_clear", "")

EXPECTED_LAYOUT = (
    "expected ROOT/hazy/ with the hazy images and one of ROOT/clean/, ROOT/GT/, ROOT/gt/, ROOT/clear/ with the "
    "clean images, paired by file name: the same stem (a.png ↔ a.jpg), RESIDE names (hazy/0001_0.8_0.2.jpg ↔ "
    "clean/0001.png, hazy/1400_3.png ↔ clean/1400.png) or O-HAZE names (hazy/01_outdoor_hazy.jpg ↔ "
    "GT/01_outdoor_GT.jpg); see datasets/README.md"
)


def clean_stem_candidates(hazy_stem: str) -> list[str]:
    """Clean stems a hazy stem may pair with, in order of preference."""
    candidates = [hazy_stem]
    stem = hazy_stem
    for _ in range(2):  # RESIDE: strip up to two trailing numeric fields
        match = _NUMERIC_FIELD.match(stem)
        if not match:
            break
        stem = match.group(1)
        candidates.append(stem)
    if hazy_stem.lower().endswith("_hazy") and len(hazy_stem) > 5:
        base = hazy_stem[:-5]
        candidates.extend(base + suffix for suffix in _OHAZE_SUFFIXES)
    return candidates


def _examples(paths: list[Path], root: Path, limit: int = 3) -> str:
    names = [path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path) for path in paths]
    more = f", … ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


@dataclass
class PairScan:
    """The result of :func:`find_pairs`; pairs are (hazy, clean) paths sorted by hazy path."""

    root: Path
    clean_folder: Path
    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    unpaired_hazy: list[Path] = field(default_factory=list)
    unpaired_clean: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One human-readable paragraph: counts, and examples of unpaired files."""
        n_clean = len({clean for _, clean in self.pairs})
        lines = [
            f"{self.root}: {len(self.pairs)} hazy/clean pairs ({n_clean} clean images, "
            f"clean folder {self.clean_folder.name}/)"
        ]
        if self.unpaired_hazy:
            lines.append(
                f"{len(self.unpaired_hazy)} hazy images without a clean image, e.g. "
                + _examples(self.unpaired_hazy, self.root)
            )
        if self.unpaired_clean:
            lines.append(
                f"{len(self.unpaired_clean)} clean images without a hazy image, e.g. "
                + _examples(self.unpaired_clean, self.root)
            )
        return "; ".join(lines + self.notes)


def _clean_folder(root: Path) -> tuple[Path, list[str]]:
    present: list[Path] = []
    for name in CLEAN_FOLDERS:
        folder = root / name
        if folder.is_dir() and not any(folder.samefile(seen) for seen in present):
            present.append(folder)
    if not present:
        raise DehazeError(f"{root}: no clean folder found; {EXPECTED_LAYOUT}; found: {_listing(root)}")
    notes = (
        [f"several clean folders, using {present[0].name}/ (ignored: {', '.join(p.name + '/' for p in present[1:])})"]
        if len(present) > 1
        else []
    )
    return present[0], notes


def _listing(root: Path) -> str:
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    if not entries:
        return "an empty folder"
    return ", ".join(entries[:8]) + (f", … ({len(entries) - 8} more)" if len(entries) > 8 else "")


def find_pairs(root: Path) -> PairScan:
    """Pair the images of ``root/hazy`` with those of the clean folder (see the module notes)."""
    root = Path(root)
    if not root.is_dir():
        raise DehazeError(f"{root}: not a folder; {EXPECTED_LAYOUT}")
    hazy_folder = root / HAZY_FOLDER
    if not hazy_folder.is_dir():
        raise DehazeError(f"{root}: no hazy/ folder; {EXPECTED_LAYOUT}; found: {_listing(root)}")
    clean_folder, notes = _clean_folder(root)

    clean_by_stem: dict[str, Path] = {}
    for path in list_images(clean_folder):
        if path.stem in clean_by_stem:
            notes.append(
                f"duplicate clean stem {path.stem!r}: using {clean_by_stem[path.stem].name}, "
                f"ignoring {path.relative_to(root).as_posix()}"
            )
            continue
        clean_by_stem[path.stem] = path

    scan = PairScan(root=root, clean_folder=clean_folder, notes=notes)
    used: set[Path] = set()
    for hazy in list_images(hazy_folder):
        clean = next((clean_by_stem[s] for s in clean_stem_candidates(hazy.stem) if s in clean_by_stem), None)
        if clean is None:
            scan.unpaired_hazy.append(hazy)
        else:
            scan.pairs.append((hazy, clean))
            used.add(clean)
    scan.unpaired_clean = sorted(set(clean_by_stem.values()) - used)
    if not scan.pairs:
        n_hazy, n_clean = len(scan.unpaired_hazy), len(clean_by_stem)
        detail = f"found {n_hazy} hazy and {n_clean} clean images"
        if n_hazy:
            detail += f" (hazy e.g. {_examples(scan.unpaired_hazy, root)}"
            detail += f"; clean e.g. {_examples(sorted(clean_by_stem.values()), root)})" if n_clean else ")"
        raise DehazeError(f"{root}: no hazy/clean pairs; {detail}; {EXPECTED_LAYOUT}")
    return scan
