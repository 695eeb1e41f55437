"""Decoded pixels ↔ float images, in strips of rows: any Pillow mode to float32 H×W×C in [0, 1] (alpha on white,
oriented, ``channels`` channels), and float back to uint8. No full-size float temporaries either way."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from dehaze.color import to_channels
from dehaze.imageio.limits import NonFinitePixels
from dehaze.imageio.orientation import TRANSPOSING, unoriented_view

STRIP_PIXELS = 1 << 20  # full-size conversions go in strips of rows of about this many pixels (bounded temporaries)
RowReader = Callable[[int, int], np.ndarray]  # (top, bottom) → float32 rows top..bottom-1, H'×W×C in (1, 2, 3, 4)


def _to_float(img: Image.Image) -> np.ndarray:
    """Pillow image (any mode) → float32 H×W×C in [0, 1] with C in (1, 2, 3, 4) = L, LA, RGB, RGBA."""
    mode = img.mode
    if mode.startswith("I;16"):
        return (np.asarray(img).astype(np.float32) / 65535.0)[..., None]
    if mode == "I":
        return (np.clip(np.asarray(img), 0, 65535).astype(np.float32) / 65535.0)[..., None]
    if mode == "F":
        values = np.asarray(img, dtype=np.float32)
        if not np.isfinite(values).all():
            raise NonFinitePixels()
        return np.clip(values, 0.0, 1.0)[..., None]
    if mode == "1":
        img = img.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    elif mode not in ("L", "LA", "RGB", "RGBA"):  # CMYK, YCbCr, LAB, HSV, RGBX, La, RGBa, ...
        img = img.convert("RGBA" if "A" in mode or "a" in mode else "RGB")
    array = np.asarray(img, dtype=np.float32) / 255.0
    return array[..., None] if array.ndim == 2 else array


def _composite_on_white(array: np.ndarray) -> np.ndarray:
    if array.shape[2] not in (2, 4):
        return array
    colour, alpha = array[..., :-1], array[..., -1:]
    return colour * alpha + (1.0 - alpha)


def pil_rows(img: Image.Image) -> tuple[int, int, RowReader]:
    """Height, width and a reader of float rows of a loaded Pillow image (rows are cropped, then converted)."""
    width, height = img.size
    return height, width, lambda top, bottom: _to_float(img.crop((0, top, width, bottom)))


def convert_rows(height: int, width: int, read_rows: RowReader, channels: int | None, orientation: int) -> np.ndarray:
    """Float32 H×W×C image in [0, 1], oriented, filled strip by strip: composited on white, ``channels`` channels
    (``None``: 1 for a gray source, else 3). Each strip goes straight into its oriented place: no full-size copies."""
    step = max(1, STRIP_PIXELS // max(1, width))

    def rows_at(top: int) -> np.ndarray:
        rows = _composite_on_white(read_rows(top, min(height, top + step)))
        return to_channels(rows, channels or rows.shape[2])

    first = rows_at(0)
    oriented = (width, height) if orientation in TRANSPOSING else (height, width)
    out = np.empty((*oriented, first.shape[2]), np.float32)
    target = unoriented_view(out, orientation)
    for top in range(0, height, step):
        np.clip(first if top == 0 else rows_at(top), 0.0, 1.0, out=target[top : top + step])
    return out


def pil_to_array(img: Image.Image) -> np.ndarray:
    """An in-memory Pillow image (any mode, 16-bit included) → float32 H×W×C in [0, 1], C = 1 or 3, alpha
    composited onto white (the same conversion :func:`~dehaze.imageio.read_image` applies to decoded files)."""
    return convert_rows(*pil_rows(img), channels=None, orientation=1)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (H×W or H×W×C) → uint8, rounded; NaN → 0, out-of-range values clipped.

    Converted in strips of rows, so no full-size float temporaries; ``image`` is not modified.
    """
    array = np.asarray(image, dtype=np.float32)
    out = np.empty(array.shape, np.uint8)
    step = max(1, STRIP_PIXELS // max(1, array[:1].size))
    for top in range(0, len(array), step):
        rows = np.nan_to_num(array[top : top + step])
        np.clip(rows, 0.0, 1.0, out=rows)
        rows *= 255.0
        rows += 0.5
        np.copyto(out[top : top + step], rows, casting="unsafe")
    return out
