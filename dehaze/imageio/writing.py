"""Writing float images and tensors as 8-bit image files, atomically, in the formats that keep every size."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dehaze.atomic import atomic_write
from dehaze.errors import DehazeError
from dehaze.imageio.pixels import to_uint8
from dehaze.imageio.tensors import to_array

_NO_LIMIT = (1 << 31) - 1
OUTPUT_FORMATS: dict[str, tuple[str, int]] = {  # output suffix → (Pillow format, largest side it encodes)
    ".png": ("PNG", _NO_LIMIT),
    ".jpg": ("JPEG", 65500),
    ".jpeg": ("JPEG", 65500),
    ".tif": ("TIFF", _NO_LIMIT),
    ".tiff": ("TIFF", _NO_LIMIT),
    ".bmp": ("BMP", _NO_LIMIT),
    ".webp": ("WEBP", 16383),
}
# PNG: zlib level 1 with the run-length strategy writes files about as small as Pillow's default (level 6), 4-5×
# faster (a 4 MP colour PNG took longer to encode than to dehaze); lossless either way
_SAVE_OPTIONS: dict[str, dict[str, int]] = {
    "JPEG": {"quality": 95},
    "WEBP": {"quality": 95},
    "PNG": {"compress_level": 1, "compress_type": zlib.Z_RLE},
}


def output_format(suffix: str) -> tuple[str, int]:
    """(Pillow format, largest side it can encode) for an output suffix; DehazeError for any other suffix.

    Only formats that keep every output's width and height and write 8-bit gray and RGB (ICO/ICNS resize, QOI
    has no gray, BLP and GIF reduce colours) are offered.
    """
    suffix = "." + suffix.lower().lstrip(".")
    if suffix not in OUTPUT_FORMATS:
        choices = ", ".join(sorted(name.lstrip(".") for name in OUTPUT_FORMATS))
        raise DehazeError(f"{suffix}: not an image file suffix we write (use one of {choices})")
    return OUTPUT_FORMATS[suffix]


def _as_uint8(image: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        tensor = image.detach().to("cpu", torch.float32)
        if tensor.ndim == 4 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.ndim != 3:
            raise ValueError(f"expected a C×H×W tensor, got shape {tuple(tensor.shape)}")
        array = to_array(tensor)
    else:
        array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"expected an H×W or H×W×C (C in 1, 3, 4) image, got shape {array.shape}")
    return to_uint8(array)


def save_image(image: np.ndarray | torch.Tensor, path: str | Path) -> None:
    """Write an H×W(×C) array or C×H×W tensor in [0, 1] as an 8-bit image (format from the suffix), atomically.

    An image too large for the format, or any encoder failure, is a :class:`DehazeError` naming the file; nothing
    is left behind. A failed write (full disk) is a :class:`~dehaze.errors.WriteError`.
    """
    path = Path(path)
    image_format, max_side = output_format(path.suffix)
    pixels = _as_uint8(image)
    if max(pixels.shape[:2]) > max_side:
        height, width = pixels.shape[:2]
        raise DehazeError(f"{path}: {width}×{height} px is too large for {image_format} (at most {max_side} a side)")
    pil = Image.fromarray(pixels)
    if image_format == "JPEG" and pil.mode == "RGBA":
        pil = pil.convert("RGB")
    options = _SAVE_OPTIONS.get(image_format, {})
    try:
        atomic_write(path, lambda tmp: pil.save(tmp, format=image_format, **options))
    except (ValueError, KeyError, TypeError) as exc:  # encoder refusals; OSErrors are WriteErrors already
        raise DehazeError(f"{path}: cannot encode as {image_format} ({exc})") from None
