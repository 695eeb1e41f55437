"""Split ``indoor_urban/`` (rooms, streets, buildings) into training photos, validation photos and held-out indoor
and urban test photos, as symbolic links (the photos stay in the shared folder).

Deterministic (names sorted) and by scene, from ``MANIFEST.tsv``:
- indoor: every 8th photo is a test photo, every 16th (offset 4) a validation photo;
- urban: the whole CamVid sequence ``0006R0`` is a test sequence and the other CamVid sequences train (a sequence's
  frames are near-duplicates of each other, so a sequence never straddles two splits); every 6th other urban photo
  is a test photo, every 16th (offset 4) a validation photo;
- everything else trains (``general`` scenes included).

    python scripts/split_indoor_urban.py [SHARED_DATA (../shared/data)] [OUT (runs/data)]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

CAMVID = "CAMVID__"
TEST_SEQUENCE = "CAMVID__0006R0"


def split_of(name: str, scene: str, index: int) -> str:
    """``train``, ``val``, ``indoor_test`` or ``urban_test`` for the ``index``-th photo of its scene."""
    if scene == "indoor":
        return "indoor_test" if index % 8 == 0 else "val" if index % 16 == 4 else "train"
    if scene == "urban":
        if name.startswith(CAMVID):
            return "urban_test" if name.startswith(TEST_SEQUENCE) else "train"
        if index % 6 == 0:
            return "urban_test"
        return "val" if index % 16 == 4 else "train"
    return "train"


def main(shared: Path, out: Path) -> None:
    folder = shared / "indoor_urban"
    with open(folder / "MANIFEST.tsv", newline="") as handle:
        rows = sorted(csv.DictReader(handle, delimiter="\t"), key=lambda row: row["file"])
    counters: dict[str, int] = {}
    counts: dict[str, int] = {}
    for row in rows:
        scene = row["scene"]
        index = counters.get(scene, 0)
        if not row["file"].startswith(CAMVID):
            counters[scene] = index + 1
        split = split_of(row["file"], scene, index)
        target = out / "sources" / f"iu_{split}"
        target.mkdir(parents=True, exist_ok=True)
        link = target / row["file"]
        if not link.is_symlink():
            link.symlink_to((folder / row["file"]).resolve())
        counts[split] = counts.get(split, 0) + 1
    print("indoor_urban:", ", ".join(f"{name} {count}" for name, count in sorted(counts.items())))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(
        Path(arguments[0] if arguments else "../shared/data"), Path(arguments[1] if len(arguments) > 1 else "runs/data")
    )
