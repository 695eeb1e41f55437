"""The one image reader/writer used by training, inference and metrics.

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
  decoded pixels and the float result, not several float copies; :func:`save_image` converts back in strips too.

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

import contextlib
import os
import stat
import sys
import tempfile
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, UnidentifiedImageError

from dehaze.atomic import atomic_write
from dehaze.color import to_channels
from dehaze.defaults import DEFAULT_MAX_PIXELS
from dehaze.errors import DehazeError, ImageReadError

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".avif"}
)
# Image formats we cannot decode: listed as skipped when found in a folder, never silently ignored.
UNSUPPORTED_IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".heic", ".heif", ".jxl", ".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".raf", ".rw2"}
)
_LISTED_SUFFIXES = IMAGE_SUFFIXES | UNSUPPORTED_IMAGE_SUFFIXES
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
# Default pixel limit: above every common camera (50 MP bodies write 8688 × 5792 = 50.3 MP) and inside the
# memory promise (dehaze-infer needs about 35 bytes per colour pixel: ~2.1 GB at the limit). Pillow's own bomb
# check starts at 89 MP (warning) and 179 MP (error); ours is tighter and refuses before any pixel is decoded.
# (DEFAULT_MAX_PIXELS is defined in dehaze.defaults, which the command-line parsers read before torch.)


@dataclass
class ImageLimits:
    """Checked from the file header, before any pixel is decoded (``--max-pixels`` sets ``max_pixels``)."""

    max_pixels: int = DEFAULT_MAX_PIXELS


LIMITS = ImageLimits()


def set_max_pixels(max_pixels: int) -> None:
    """Set the process-wide pixel limit of :func:`read_image` (the ``--max-pixels`` option of the tools)."""
    if max_pixels < 1:
        raise DehazeError(f"--max-pixels must be at least 1, got {max_pixels}")
    LIMITS.max_pixels = int(max_pixels)
    if Image.MAX_IMAGE_PIXELS is not None and 2 * Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own (looser) check must not refuse what the user allowed


class NonFinitePixels(DehazeError):
    """An image (or a model's output) holds NaN or infinite values (only float images can)."""

    def __init__(self, what: str = "image") -> None:
        super().__init__(f"{what} has NaN or infinite pixel values")


# What Pillow's decoders raise for bad data: OSError (most), SyntaxError (PNG chunks), EOFError, ValueError, and
# RuntimeError (the AVIF decoder: "Failed to decode frame 0", found by the fuzz campaign)
DECODER_ERRORS = (OSError, ValueError, SyntaxError, EOFError, RuntimeError)
_EXIF_ORIENTATION_TAG = 0x0112
STRIP_PIXELS = 1 << 20  # full-size conversions go in strips of rows of about this many pixels (bounded temporaries)
RowReader = Callable[[int, int], np.ndarray]  # (top, bottom) → float32 rows top..bottom-1, H'×W×C in (1, 2, 3, 4)


@dataclass
class ImageScan:
    """What :func:`scan_images` found: image files, and entries that look like images but are skipped (reason)."""

    images: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _skip_reason(path: Path) -> str | None:
    """Why an entry with an image suffix (or a linked folder) cannot be read; None for a readable image file."""
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if path.is_dir():
        return "symbolic link to a folder (not followed: it could lead back into an output or loop)"
    if not path.is_file():
        return "not a regular file (a FIFO, socket or device)"
    if path.suffix.lower() in UNSUPPORTED_IMAGE_SUFFIXES:
        return f"unsupported image format {path.suffix} (convert it to PNG, JPEG or TIFF)"
    return None


def scan_images(folder: Path, recursive: bool = True) -> ImageScan:
    """Image files (by suffix, case-insensitive) under ``folder``, sorted, and what was skipped and why.

    Hidden names are ignored. Skipped (listed, never silently): broken links, FIFOs/sockets/devices, links to
    folders (not followed) and files of image formats we cannot decode (e.g. ``.heic``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DehazeError(f"{folder}: not a folder")
    scan = ImageScan()
    for root, dirs, files in os.walk(folder) if recursive else [next(os.walk(folder))]:
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        linked = [name for name in dirs if Path(root, name).is_symlink()]
        dirs[:] = [name for name in dirs if name not in linked]
        for name in [*files, *linked]:
            path = Path(root, name)
            suffix = path.suffix.lower()
            if name.startswith(".") or (suffix not in _LISTED_SUFFIXES and name not in linked):
                continue
            reason = _skip_reason(path)
            if reason:
                scan.skipped.append((path, reason))
            else:
                scan.images.append(path)
    scan.images.sort()
    scan.skipped.sort()
    return scan


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files (by suffix, case-insensitive) under ``folder``, sorted (see :func:`scan_images`)."""
    return scan_images(folder, recursive).images


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


def check_pixel_count(path: str | Path, width: int, height: int) -> None:
    """Refuse, from the header alone, an image with more pixels than :data:`LIMITS` allows."""
    if width * height > LIMITS.max_pixels:
        raise ImageReadError(
            path,
            f"{width}×{height} = {width * height / 1e6:.1f} MP is above the limit of {LIMITS.max_pixels / 1e6:g} MP "
            f"(not decoded; raise it with --max-pixels {width * height})",
        )


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


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # malformed EXIF must not make an otherwise good image unreadable
        return 1


def _pillow_orients(img: Image.Image) -> bool:
    """Pillow's TIFF reader applies the orientation tag itself: its size is the oriented one, and so are its pixels."""
    return img.format == "TIFF"


def read_image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) after EXIF orientation, from the header only (cheap; does not decode the pixels)."""
    path = Path(path)
    with _open(path) as img:
        width, height = img.size
        if not _pillow_orients(img) and _orientation(img) in (5, 6, 7, 8):
            width, height = height, width
    return width, height


def _is_16bit_colour(img: Image.Image) -> bool:
    """Pillow stores 16-bit RGB(A) as 8-bit RGB(A); detect it from the raw decoder mode."""
    if img.mode not in ("RGB", "RGBA"):
        return False
    return any(len(tile) > 3 and "16" in str(tile[3]) for tile in getattr(img, "tile", []) or [])


_ORIENTATION_VIEWS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}  # EXIF orientation (1–8) → a view of an H×W×C array as ``ImageOps.exif_transpose`` shows it
_INVERSE_ORIENTATION = {6: 8, 8: 6}  # the other orientations undo themselves


_NATIVE_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Collect what C libraries (libjpeg, libpng, libtiff) write to file descriptor 2 inside the block.

    The lines go into the yielded list instead of the terminal (they are warnings such as libjpeg's "Corrupt JPEG
    data: premature end of data segment"). Without a usable descriptor 2 nothing is captured.
    """
    lines: list[str] = []
    with _NATIVE_STDERR_LOCK, contextlib.ExitStack() as stack:
        try:
            sink = stack.enter_context(tempfile.TemporaryFile())
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(sink.fileno(), 2)
        except (OSError, ValueError):  # no temp space (full disk) or no descriptor 2: decode without capturing
            yield lines
            return
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read(1 << 16).decode(errors="replace").splitlines())


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


def _pil_rows(img: Image.Image) -> tuple[int, int, RowReader]:
    """Height, width and a reader of float rows of a loaded Pillow image (rows are cropped, then converted)."""
    width, height = img.size
    return height, width, lambda top, bottom: _to_float(img.crop((0, top, width, bottom)))


def _convert_rows(height: int, width: int, read_rows: RowReader, channels: int | None, orientation: int) -> np.ndarray:
    """Float32 H×W×C image in [0, 1], oriented, filled strip by strip: composited on white, ``channels`` channels
    (``None``: 1 for a gray source, else 3). Each strip goes straight into its oriented place: no full-size copies."""
    step = max(1, STRIP_PIXELS // max(1, width))

    def rows_at(top: int) -> np.ndarray:
        rows = _composite_on_white(read_rows(top, min(height, top + step)))
        return to_channels(rows, channels or rows.shape[2])

    first = rows_at(0)
    oriented = (width, height) if orientation in (5, 6, 7, 8) else (height, width)
    out = np.empty((*oriented, first.shape[2]), np.float32)
    undo = _ORIENTATION_VIEWS.get(_INVERSE_ORIENTATION.get(orientation, orientation), lambda array: array)
    target = undo(out)  # a view of ``out`` in the decoded (not yet oriented) shape
    for top in range(0, height, step):
        np.clip(first if top == 0 else rows_at(top), 0.0, 1.0, out=target[top : top + step])
    return out


def pil_to_array(img: Image.Image) -> np.ndarray:
    """An in-memory Pillow image (any mode, 16-bit included) → float32 H×W×C in [0, 1], C = 1 or 3, alpha
    composited onto white (the same conversion :func:`read_image` applies to decoded files)."""
    return _convert_rows(*_pil_rows(img), channels=None, orientation=1)


def read_image(path: str | Path, channels: int | None) -> np.ndarray:
    """Decode ``path`` by content into float32 H×W×``channels`` in [0, 1] (see the module notes).

    ``channels=None`` keeps the source's kind: 1 channel for a gray image, 3 for a colour one.
    """
    if channels not in (1, 3, None):
        raise ValueError(f"channels must be 1, 3 or None, got {channels}")
    path = Path(path)
    with _open(path) as img:
        sixteen_bit_colour = _is_16bit_colour(img)  # before getexif(), which may load (and drop .tile)
        orientation = _orientation(img)
        try:
            if sixteen_bit_colour:
                height, width, read_rows = _decode_16bit_colour(path)
            else:
                if _pillow_orients(img):
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
                height, width, read_rows = _pil_rows(img)
            if height == 0 or width == 0:
                raise ImageReadError(path, "image has no pixels")
            return _convert_rows(height, width, read_rows, channels, orientation)
        except ImageReadError:
            raise
        except NonFinitePixels as exc:
            raise ImageReadError(path, str(exc)) from None
        except Image.DecompressionBombError as exc:
            raise ImageReadError(path, f"image too large: {exc}") from None
        except DECODER_ERRORS as exc:
            raise ImageReadError(path, f"truncated or corrupt image data ({exc})") from None


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


# PNG: zlib level 1 with the run-length strategy writes files about as small as Pillow's default (level 6), 4-5×
# faster (a 4 MP colour PNG took longer to encode than to dehaze); lossless either way
_SAVE_OPTIONS: dict[str, dict[str, int]] = {
    "JPEG": {"quality": 95},
    "WEBP": {"quality": 95},
    "PNG": {"compress_level": 1, "compress_type": zlib.Z_RLE},
}


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


def value_range(tensor: torch.Tensor, what: str = "image") -> tuple[float, float]:
    """(min, max) of a non-empty tensor without copying it; :class:`NonFinitePixels` naming ``what`` for NaN/inf."""
    # reduce over the dimensions in memory order: a full reduction of a channels-last tensor would copy it first
    low, high = torch.aminmax(tensor.permute(sorted(range(tensor.dim()), key=tensor.stride, reverse=True)))
    low_value, high_value = float(low), float(high)
    if not (np.isfinite(low_value) and np.isfinite(high_value)):  # NaN propagates through aminmax
        raise NonFinitePixels(what)
    return low_value, high_value


def clamp_unit(tensor: torch.Tensor, what: str = "image") -> torch.Tensor:
    """``tensor`` clamped to [0, 1]: the tensor itself when already inside (no copy of a large image).

    NaN or infinite values raise :class:`NonFinitePixels` naming ``what`` (they would turn the output black).
    """
    if tensor.numel() == 0:
        return tensor
    low, high = value_range(tensor, what)
    return tensor if low >= 0.0 and high <= 1.0 else tensor.clamp(0.0, 1.0)


def array_to_batch(array: np.ndarray) -> torch.Tensor:
    """H×W×C array → 1×C×H×W float32 tensor sharing its memory (channels-last strides).

    Copied only when it must be: not float32, not C-contiguous or read-only.
    """
    values = np.ascontiguousarray(array, dtype=np.float32)
    if not values.flags.writeable:  # torch.from_numpy wants a writable buffer (the tensor is never written)
        values = values.copy()
    # reshape first, so the batch dimension gets a real stride: torch then sees a channels-last tensor (its
    # kernels would copy a 1×C×H×W tensor whose unused batch stride is out of order)
    return torch.from_numpy(values.reshape(1, *values.shape)).permute(0, 3, 1, 2)


def batch_to_array(batch: torch.Tensor) -> np.ndarray:
    """1×C×H×W CPU tensor → H×W×C float32 array; shares the tensor's memory when it is channels-last."""
    return np.ascontiguousarray(batch[0].permute(1, 2, 0).numpy(), dtype=np.float32)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """H×W×C (or H×W) float array → C×H×W float32 tensor."""
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))


def to_array(tensor: torch.Tensor) -> np.ndarray:
    """C×H×W tensor → H×W×C float32 array."""
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy().transpose(1, 2, 0))
