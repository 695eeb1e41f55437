"""Reading image files: the one reader used by training, inference and metrics.

Images are decoded by content (Pillow), never by file extension, and returned as float32 H×W×C arrays in [0, 1]:

* EXIF orientation is applied, so the array is the image as a viewer shows it.
* 16-bit images keep their precision (grayscale via Pillow's ``I;16``/``I`` modes, colour 16-bit PNG/TIFF via
  OpenCV, which Pillow would truncate to 8 bits). ``I`` (32-bit int) images are read as 16-bit values;
  ``F`` (float) images are assumed to be in [0, 1] and clipped.
* Palette, 1-bit, CMYK, YCbCr, LAB and HSV images are converted to RGB (or luminance).
* Transparency (RGBA, LA, palette with a transparent colour) is composited onto a **white** background, the way
  a viewer shows a transparent image on a page; the alpha channel is never returned.
* ``channels=1`` gives the ITU-R 601 luminance (0.299 R + 0.587 G + 0.114 B, like Pillow's "L" but computed
  from full precision); ``channels=3`` gives RGB (grayscale is repeated); ``channels=None`` keeps the source's kind.
* Pixels are converted in strips of rows straight into the (oriented) result, so a 50-megapixel photo needs its
  decoded pixels and the float result, not several float copies (:mod:`dehaze.imageio.pixels`).

Every failure (missing, directory, not a regular file, empty, not an image, too many pixels, truncated or corrupt
data, NaN or infinite pixels) raises :class:`~dehaze.errors.ImageReadError` naming the file and the reason; this
is the one validation layer every tool reads through. Checked in this order, before any work on the pixels:

* the header's width × height against :data:`LIMITS` (``max_pixels``, default :data:`DEFAULT_MAX_PIXELS`; the
  ``--max-pixels`` option of every tool), before a single pixel is decoded;
* the whole file is decoded: truncated files are never silently padded (``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is
  left off, and a JPEG whose scan data stop early, which libjpeg pads with grey, is refused);
* every pixel is finite (a float TIFF may hold NaN or infinity).

Messages that the C decoders (libjpeg, libpng, libtiff) print on stderr are captured while decoding, not shown.
"""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from dehaze.errors import ImageReadError
from dehaze.imageio.limits import NonFinitePixels, check_pixel_count
from dehaze.imageio.native_stderr import captured_native_stderr
from dehaze.imageio.orientation import TRANSPOSING, exif_orientation, pillow_orients
from dehaze.imageio.pixels import RowReader, convert_rows, pil_rows

# What Pillow's decoders raise for bad data: OSError (most), SyntaxError (PNG chunks), EOFError, ValueError, and
# RuntimeError (the AVIF decoder: "Failed to decode frame 0", found by the fuzz campaign)
DECODER_ERRORS = (OSError, ValueError, SyntaxError, EOFError, RuntimeError)


def _check_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ImageReadError(path, "broken symbolic link" if path.is_symlink() else "no such file") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ImageReadError(path, "is a directory, not an image file")
    if not stat.S_ISREG(mode):
        raise ImageReadError(path, "not a regular file (a FIFO, socket or device)")
    if path.stat().st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")


def _unidentified_reason(path: Path) -> str:
    """Why Pillow could not identify ``path``, from its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head in (b"II*\x00", b"MM\x00*"):
        return "a TIFF layout we cannot decode (e.g. floating-point colour); save it as 8- or 16-bit integer TIFF"
    return "not an image (unrecognised or unsupported format)"


def _open(path: Path) -> Image.Image:
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except UnidentifiedImageError:
        raise ImageReadError(path, _unidentified_reason(path)) from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"image too large (not decoded): {exc}") from None
    except DECODER_ERRORS as exc:
        raise ImageReadError(path, f"cannot open image: {exc}") from None
    try:
        check_pixel_count(path, *img.size)
    except ImageReadError:
        img.close()
        raise
    return img


def read_image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) after EXIF orientation, from the header only (cheap; does not decode the pixels)."""
    path = Path(path)
    with _open(path) as img:
        width, height = img.size
        if not pillow_orients(img) and exif_orientation(img) in TRANSPOSING:
            width, height = height, width
    return width, height


def _is_16bit_colour(img: Image.Image) -> bool:
    """Pillow stores 16-bit RGB(A) as 8-bit RGB(A); detect it from the raw decoder mode."""
    if img.mode not in ("RGB", "RGBA"):
        return False
    return any(len(tile) > 3 and "16" in str(tile[3]) for tile in getattr(img, "tile", []) or [])


def _jpeg_truncation(path: Path) -> str | None:
    """libjpeg's warning when a JPEG's scan data end early (it pads the rest with grey), else None.

    Pillow's decoder keeps libjpeg's warnings to itself, so the scan is entropy-decoded once more by OpenCV at 1/8
    scale (DC only, no full-size pixels) with its stderr captured.
    """
    import cv2

    with captured_native_stderr() as lines:
        cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8 | cv2.IMREAD_IGNORE_ORIENTATION)
    premature = [line for line in lines if "premature end" in line.lower()]
    return f"truncated JPEG data, would be padded with grey (libjpeg: {premature[0][:100]})" if premature else None


def _decode_16bit_colour(path: Path) -> tuple[int, int, RowReader]:
    import cv2  # albumentations' dependency; only needed for 16-bit colour files

    data = np.fromfile(path, dtype=np.uint8)
    with captured_native_stderr():  # libpng warnings (e.g. about an iCCP profile) are not for the user
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_IGNORE_ORIENTATION)
    if decoded is None or decoded.ndim != 3 or decoded.shape[2] not in (3, 4):
        raise ImageReadError(path, "truncated or corrupt 16-bit colour image data")
    scale = 65535.0 if decoded.dtype == np.uint16 else 255.0
    order = [2, 1, 0] + ([3] if decoded.shape[2] == 4 else [])  # BGR(A) → RGB(A)
    return *decoded.shape[:2], lambda top, bottom: decoded[top:bottom, :, order].astype(np.float32) / scale


def read_image(path: str | Path, channels: int | None) -> np.ndarray:
    """Decode ``path`` by content into float32 H×W×``channels`` in [0, 1] (see the module notes).

    ``channels=None`` keeps the source's kind: 1 channel for a gray image, 3 for a colour one.
    """
    if channels not in (1, 3, None):
        raise ValueError(f"channels must be 1, 3 or None, got {channels}")
    path = Path(path)
    with _open(path) as img:
        sixteen_bit_colour = _is_16bit_colour(img)  # before getexif(), which may load (and drop .tile)
        orientation = exif_orientation(img)
        try:
            if sixteen_bit_colour:
                height, width, read_rows = _decode_16bit_colour(path)
            else:
                if pillow_orients(img):
                    orientation = 1
                    img.filename = ""  # Pillow's mmap path maps rows at the oriented width: garbled pixels
                with captured_native_stderr():
                    img.load()  # decode now: truncated or corrupt data must fail here, not later
                truncation = _jpeg_truncation(path) if img.format in ("JPEG", "MPO") else None
                if truncation:
                    raise ImageReadError(path, truncation)
                if ImageFile.LOAD_TRUNCATED_IMAGES:
                    warnings.warn(
                        "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set: truncated images are padded", stacklevel=2
                    )
                height, width, read_rows = pil_rows(img)
            if height == 0 or width == 0:
                raise ImageReadError(path, "image has no pixels")
            return convert_rows(height, width, read_rows, channels, orientation)
        except ImageReadError:
            raise
        except NonFinitePixels as exc:
            raise ImageReadError(path, str(exc)) from None
        except Image.DecompressionBombError as exc:
            raise ImageReadError(path, f"image too large: {exc}") from None
        except DECODER_ERRORS as exc:
            raise ImageReadError(path, f"truncated or corrupt image data ({exc})") from None
