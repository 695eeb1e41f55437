"""Brightness and crushed blacks of ``--strength`` on real photos: what FADE does not show.

python benchmarks/bench_strength.py [--photos runs/data/real_val] [--strength 0.5 0.75 1 1.1 1.25 1.5]
       [--out benchmarks/results/strength_black.json]

Photos are shrunk to 640 px as in ``dehaze-fid --real``; the shipped RGB model at each strength and DCP.
"Black" is the share of pixels whose brightest channel is at most 2/255.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dehaze.checkpoint import default_checkpoint_path
from dehaze.data.real_hazy import shrink_to
from dehaze.dcp import dark_channel_prior
from dehaze.imageio import list_images, read_image
from dehaze.inference import Dehazer


def brightness(outputs: list[np.ndarray]) -> dict[str, float]:
    """Mean value and black share (%) over the photos (each photo weighted alike)."""
    return {
        "mean": round(float(np.mean([o.mean() for o in outputs])), 4),
        "black_percent": round(100 * float(np.mean([(o.max(axis=2) <= 2 / 255).mean() for o in outputs])), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("runs/data/real_val"))
    parser.add_argument("--strength", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.1, 1.25, 1.5])
    parser.add_argument("--out", type=Path, help="write the rows as JSON")
    args = parser.parse_args()
    photos = [shrink_to(read_image(path, channels=3), 640) for path in list_images(args.photos)]
    rows = {"hazy input": brightness(photos), "dark channel prior": brightness([dark_channel_prior(p) for p in photos])}
    checkpoint = default_checkpoint_path(channels=3)
    for strength in args.strength:
        dehazer = Dehazer.from_checkpoint(checkpoint, device="cpu", strength=strength)
        rows[f"shipped RGB model, strength {strength:g}"] = brightness([dehazer.dehaze_array(p) for p in photos])
    for name, row in rows.items():
        print(f"{name:<36} mean {row['mean']:.3f}  black {row['black_percent']:.2f}%")
    if args.out:
        args.out.write_text(json.dumps({"photos": str(args.photos), "count": len(photos), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
