"""Contact sheet of real hazy photos: hazy | dark channel prior | our model, one photo per row.

    python benchmarks/real_photo_sheet.py                       # gray: the gray model on luminance
    python benchmarks/real_photo_sheet.py --color               # colour: colour DCP and the RGB model
    python benchmarks/real_photo_sheet.py --photos DIR --checkpoint C.safetensors --out sheet.png
    python benchmarks/real_photo_sheet.py --color --strength 0.5 1 1.25 1.5 --photos DIR --out strengths.png

Every method runs on the full-resolution photo; the sheet shows each result scaled to ``--height`` px high.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dehaze.atomic import atomic_write
from dehaze.dcp import dark_channel_prior
from dehaze.imageio import list_images, read_image
from dehaze.inference import Dehazer

LABEL_HEIGHT = 18


def _to_pil(image: np.ndarray, height: int) -> Image.Image:
    """Fit the image into a box ``height`` high and 1.5·``height`` wide (aspect kept)."""
    pixels = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    pil = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).convert("RGB")
    scale = min(height / pil.height, 1.5 * height / pil.width)
    size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
    return pil.resize(size, Image.Resampling.LANCZOS)


def sheet_rows(photos: list[Path], dehazers: list[Dehazer], channels: int, height: int) -> list[list[Image.Image]]:
    """For every photo: [hazy, DCP, ours (one column per dehazer)] as display-sized PIL images."""
    rows = []
    for path in photos:
        hazy = read_image(path, channels)
        outputs = [hazy, dark_channel_prior(hazy), *(dehazer.dehaze_array(hazy) for dehazer in dehazers)]
        rows.append([_to_pil(np.atleast_3d(image), height) for image in outputs])
    return rows


def compose(rows: list[list[Image.Image]], names: list[str], titles: tuple[str, ...]) -> Image.Image:
    """Grid with a title line per column and the file name on each row."""
    widths = [max(row[col].width for row in rows) for col in range(len(titles))]
    heights = [max(image.height for image in row) + LABEL_HEIGHT for row in rows]
    sheet = Image.new("RGB", (sum(widths) + 4 * len(titles), sum(heights) + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for title, width in zip(titles, widths, strict=True):
        draw.text((x + 4, 3), title, fill="black")
        x += width + 4
    y = LABEL_HEIGHT
    for row, name, height in zip(rows, names, heights, strict=True):
        draw.text((4, y + 2), name, fill="black")
        x = 0
        for image, width in zip(row, widths, strict=True):
            sheet.paste(image, (x, y + LABEL_HEIGHT))
            x += width + 4
        y += height
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/real_hazy"))
    parser.add_argument("--checkpoint", type=Path, help="default: the shipped gray (or, with --color, RGB) model")
    parser.add_argument("--color", action="store_true", help="colour photos, colour DCP and the RGB model")
    parser.add_argument("--height", type=int, default=200, help="row height in the sheet (px)")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/real_sheet_{gray,color}.png")
    parser.add_argument(
        "--strength", type=float, nargs="+", default=[1.0], help="one column per dehaze-infer --strength"
    )
    args = parser.parse_args(argv)
    channels = 3 if args.color else 1
    out = args.out or Path("benchmarks/results") / f"real_sheet_{'color' if args.color else 'gray'}.png"
    photos = list_images(args.photos)
    if not photos:
        print(f"error: {args.photos}: no images", file=sys.stderr)
        return 1
    checkpoint = args.checkpoint
    if checkpoint is None and args.color:
        from dehaze.checkpoint import default_checkpoint_path

        checkpoint = default_checkpoint_path(channels=3)
    dehazers = [Dehazer.from_checkpoint(checkpoint, device="cpu", strength=s) for s in args.strength]
    rows = sheet_rows(photos, dehazers, channels, args.height)
    label = "ours" + (f" ({checkpoint.name})" if checkpoint else " (shipped gray model)")
    labels = [label] if args.strength == [1.0] else [f"ours, strength {s:g}" for s in args.strength]
    sheet = compose(rows, [p.name for p in photos], ("hazy", "dark channel prior", *labels))
    atomic_write(out, lambda tmp: sheet.save(tmp, format="PNG"))
    print(f"wrote {out} ({len(photos)} photos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
