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

Every failure (missing, directory, empty, not an image, truncated or corrupt data) raises
:class:`~dehaze.errors.ImageReadError` naming the file and the reason. Truncated files are never silently padded:
pixel data are loaded eagerly and ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is left off.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, UnidentifiedImageError

from dehaze.atomic import atomic_write
from dehaze.color import to_channels
from dehaze.errors import DehazeError, ImageReadError

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm"}
)
_EXIF_ORIENTATION_TAG = 0x0112
STRIP_PIXELS = 1 << 20  # full-size conversions go in strips of rows of about this many pixels (bounded temporaries)
RowReader = Callable[[int, int], np.ndarray]  # (top, bottom) → float32 rows top..bottom-1, H'×W×C in (1, 2, 3, 4)


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files (by suffix, case-insensitive) under ``folder``, sorted; hidden files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DehazeError(f"{folder}: not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        path
        for path in candidates
        if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageReadError(path, "no such file")
    if path.is_dir():
        raise ImageReadError(path, "is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")


def _open(path: Path) -> Image.Image:
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image (unrecognised or unsupported format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"image too large: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(path, f"cannot open image: {exc}") from None


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # malformed EXIF must not make an otherwise good image unreadable
        return 1


def read_image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) after EXIF orientation, from the header only (cheap; does not decode the pixels)."""
    path = Path(path)
    with _open(path) as img:
        width, height = img.size
        if _orientation(img) in (5, 6, 7, 8):
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


def _decode_16bit_colour(path: Path) -> tuple[int, int, RowReader]:
    import cv2  # albumentations' dependency; only needed for 16-bit colour files

    data = np.fromfile(path, dtype=np.uint8)
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
        return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)[..., None]
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
                img.load()  # decode now: truncated or corrupt data must fail here, not later
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
        except Image.DecompressionBombError as exc:
            raise ImageReadError(path, f"image too large: {exc}") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
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


def save_image(image: np.ndarray | torch.Tensor, path: str | Path) -> None:
    """Write an H×W(×C) array or C×H×W tensor in [0, 1] as an 8-bit image (format from the suffix), atomically."""
    path = Path(path)
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None:
        raise DehazeError(f"{path}: unknown image file suffix {path.suffix!r} (use e.g. .png or .jpg)")
    pil = Image.fromarray(_as_uint8(image))
    if image_format == "JPEG" and pil.mode == "RGBA":
        pil = pil.convert("RGB")
    options = {"quality": 95} if image_format in ("JPEG", "WEBP") else {}
    atomic_write(path, lambda tmp: pil.save(tmp, format=image_format, **options))


def clamp_unit(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` clamped to [0, 1]: the tensor itself when already inside (no copy of a large image)."""
    if tensor.numel() == 0:
        return tensor
    # reduce over the dimensions in memory order: a full reduction of a channels-last tensor would copy it first
    low, high = torch.aminmax(tensor.permute(sorted(range(tensor.dim()), key=tensor.stride, reverse=True)))
    return tensor if bool(low >= 0.0) and bool(high <= 1.0) else tensor.clamp(0.0, 1.0)


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
