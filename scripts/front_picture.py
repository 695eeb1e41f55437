"""The README's picture: two rows of the colour real-photo sheet (hazy | DCP | ours) with readable titles.

    python scripts/front_picture.py     # benchmarks/results/real_sheet_color.png -> docs/images/front.png

The rows are cut from the sheet that ``benchmarks/real_photo_sheet.py --color`` writes (plane.png and road.jpg,
each column 300 px wide); nothing is re-run.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from dehaze.atomic import atomic_write

SHEET = Path("benchmarks/results/real_sheet_color.png")
OUT = Path("docs/images/front.png")
COLUMNS = ((0, 300), (304, 604), (608, 908))  # hazy, DCP, ours: x ranges in the sheet
ROWS = ((1413, 1581), (1599, 1794))  # plane.png (below its 2-px border), road.jpg: y ranges in the sheet
TITLES = ("real hazy photo", "dark channel prior", "ours (shipped RGB model)")
TITLE_HEIGHT, GAP = 30, 4


def front_picture(sheet: Image.Image) -> Image.Image:
    """The chosen rows under one title line, columns separated by a white gap."""
    width = sum(right - left for left, right in COLUMNS) + GAP * (len(COLUMNS) - 1)
    height = TITLE_HEIGHT + sum(bottom - top for top, bottom in ROWS) + GAP * (len(ROWS) - 1)
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=18)
    x = 0
    for (left, right), title in zip(COLUMNS, TITLES, strict=True):
        draw.text((x + (right - left) // 2, TITLE_HEIGHT // 2), title, fill="black", font=font, anchor="mm")
        y = TITLE_HEIGHT
        for top, bottom in ROWS:
            picture.paste(sheet.crop((left, top, right, bottom)), (x, y))
            y += bottom - top + GAP
        x += right - left + GAP
    return picture


def main() -> int:
    picture = front_picture(Image.open(SHEET).convert("RGB"))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(OUT, lambda tmp: picture.save(tmp, format="PNG", optimize=True))
    print(f"wrote {OUT} ({picture.width}x{picture.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
