"""EXIF orientation: read from the file, and applied to decoded rows as a view (no copy of the pixels)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

_EXIF_ORIENTATION_TAG = 0x0112
_ORIENTATION_VIEWS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}  # EXIF orientation (1–8) → a view of an H×W×C array as ``ImageOps.exif_transpose`` shows it
_INVERSE_ORIENTATION = {6: 8, 8: 6}  # the other orientations undo themselves
TRANSPOSING = (5, 6, 7, 8)  # the orientations that swap width and height


def exif_orientation(img: Image.Image) -> int:
    """The image's EXIF orientation (1–8), 1 when it has none or its EXIF is malformed."""
    try:
        return int(img.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # malformed EXIF must not make an otherwise good image unreadable
        return 1


def pillow_orients(img: Image.Image) -> bool:
    """Pillow's TIFF reader applies the orientation tag itself: its size is the oriented one, and so are its pixels."""
    return img.format == "TIFF"


def unoriented_view(oriented: np.ndarray, orientation: int) -> np.ndarray:
    """A view of the ``oriented`` array in the decoded (not yet oriented) shape: writing decoded rows into it
    orients them."""
    undo = _ORIENTATION_VIEWS.get(_INVERSE_ORIENTATION.get(orientation, orientation), lambda array: array)
    return undo(oriented)
