"""What bench_flicker.py and bench_video.py share: the real hazy photos they run on (uint8 RGB, by file name) and
the end of their report (the load after the run, the JSON written atomically, its path on stderr)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from dehaze.atomic import atomic_write_text
from dehaze.imageio import list_images, read_image


def photo_paths(folder: Path, max_photos: int) -> list[Path]:
    """The images of ``folder`` in order, the first ``max_photos`` only (0: all)."""
    return list_images(folder)[: max_photos or None]


def read_photos(paths: list[Path]) -> dict[str, np.ndarray]:
    """Each photo as H×W×3 uint8 RGB, by file name."""
    return {path.name: (read_image(path, channels=3) * 255 + 0.5).astype(np.uint8) for path in paths}


def write_report(report: dict, out_json: Path, **after: object) -> None:
    """``report`` with ``load_after`` (then the entries of ``after``), written to ``out_json``; its path on stderr."""
    report["load_after"] = os.getloadavg()
    report.update(after)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_json, json.dumps(report, indent=1, ensure_ascii=False))
    print(f"wrote {out_json}", file=sys.stderr)
