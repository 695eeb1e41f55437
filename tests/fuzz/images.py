"""Valid tiny images of every kind the reader accepts (format × pixel mode × EXIF orientation), made from a
:class:`random.Random`, and compressed "pixel bombs": small files that declare and hold many pixels."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from random import Random

import numpy as np
from PIL import Image

# Pillow format → pixel modes we write in it (all decoded by content, whatever the suffix)
FORMAT_MODES: dict[str, tuple[str, ...]] = {
    "PNG": ("L", "LA", "RGB", "RGBA", "P", "PA", "1", "I;16", "I", "RGB16"),
    "JPEG": ("L", "RGB", "CMYK"),
    "BMP": ("1", "L", "P", "RGB", "RGBA"),
    "TIFF": ("1", "L", "LA", "RGB", "RGBA", "CMYK", "I;16", "I", "F", "P", "RGB16"),
    "WEBP": ("RGB", "RGBA"),
    "GIF": ("P", "L"),
    "PPM": ("1", "L", "RGB", "I;16"),
    "AVIF": ("RGB", "RGBA"),
    "TGA": ("L", "RGB", "RGBA"),
    "PCX": ("L", "RGB", "P"),
    "ICO": ("RGB", "RGBA"),
    "SGI": ("L", "RGB"),
}
SUFFIXES: dict[str, str] = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "BMP": ".bmp",
    "TIFF": ".tif",
    "WEBP": ".webp",
    "GIF": ".gif",
    "PPM": ".ppm",
    "AVIF": ".avif",
    "TGA": ".tga",
    "PCX": ".pcx",
    "ICO": ".ico",
    "SGI": ".sgi",
}
_SAVE_OPTIONS: dict[str, list[dict]] = {
    "JPEG": [{"quality": 90}, {"quality": 50, "progressive": True}, {"quality": 75, "subsampling": 0}],
    "TIFF": [{}, {"compression": "tiff_lzw"}, {"compression": "tiff_deflate"}, {"compression": "packbits"}],
    "WEBP": [{"lossless": True}, {"quality": 60}],
    "AVIF": [{"speed": 10, "quality": 50}],
    "PNG": [{}, {"optimize": True}, {"compress_level": 0}],
}


def _pixels(rng: Random, height: int, width: int, channels: int, dtype: type = np.uint8) -> np.ndarray:
    """Random pixels (sometimes flat, sometimes a ramp): seeded by one draw, so shrinking stays cheap."""
    generator = np.random.default_rng(rng.getrandbits(32))
    high = 65536 if dtype == np.uint16 else 256
    style = rng.randrange(3)
    if style == 0:
        values = generator.integers(0, high, (height, width, channels))
    elif style == 1:
        values = np.full((height, width, channels), rng.randrange(high))
    else:
        values = np.linspace(0, high - 1, height * width * channels).reshape(height, width, channels)
    return values.astype(dtype)


def make_mode(rng: Random, mode: str, width: int, height: int) -> Image.Image | np.ndarray:
    """A Pillow image in ``mode`` (``RGB16``: a 16-bit colour array, written by OpenCV)."""
    if mode == "RGB16":
        return _pixels(rng, height, width, rng.choice((3, 4)), np.uint16)
    if mode == "I;16":
        return Image.fromarray(_pixels(rng, height, width, 1, np.uint16)[..., 0])
    if mode in ("I", "F"):
        values = _pixels(rng, height, width, 1, np.uint16)[..., 0].astype(np.float32) / 65535.0
        if mode == "F" and rng.random() < 0.3:
            values.flat[rng.randrange(values.size)] = rng.choice((np.nan, np.inf, -np.inf, 1e30, -5.0))
        return Image.fromarray(values if mode == "F" else (values * 65535).astype(np.int32))
    channels = {"LA": 2, "RGB": 3, "RGBA": 4, "PA": 4}.get(mode, 1)
    array = _pixels(rng, height, width, channels)
    img = Image.fromarray(array[..., 0] if channels == 1 else array)
    if mode == "P":
        img = img.convert("RGB").quantize(rng.randint(2, 16))
        if rng.random() < 0.5:
            img.info["transparency"] = rng.randrange(2)
    elif mode == "PA":
        img = img.convert("PA")
    elif mode in ("1", "CMYK"):
        img = img.convert(mode)
    return img


def _exif(rng: Random) -> bytes:
    """EXIF with an orientation in 0..9 (1..8 are valid), sometimes damaged."""
    exif = Image.Exif()
    exif[0x0112] = rng.randrange(10)
    data = exif.tobytes()
    if rng.random() < 0.2:
        at = rng.randrange(len(data))
        data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
    return data


def encode(rng: Random, image: Image.Image | np.ndarray, image_format: str) -> bytes:
    """``image`` in ``image_format`` (with save options and, where the format has it, EXIF orientation)."""
    if isinstance(image, np.ndarray):  # 16-bit colour: OpenCV writes it (Pillow cannot)
        import cv2

        ok, data = cv2.imencode(SUFFIXES[image_format], image)
        return bytes(data) if ok else b""
    options = dict(rng.choice(_SAVE_OPTIONS.get(image_format, [{}])))
    if image_format in ("JPEG", "PNG", "WEBP", "TIFF") and rng.random() < 0.3:
        options["exif"] = _exif(rng)
    buffer = io.BytesIO()
    try:
        image.save(buffer, image_format, **options)
    except Exception:  # noqa: BLE001 - an option or mode this encoder refuses (the generator's problem): plain RGB
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, image_format)
    return buffer.getvalue()


def base_image(rng: Random, formats: tuple[str, ...] = tuple(FORMAT_MODES)) -> tuple[bytes, str]:
    """A valid tiny image (1–24 px a side, sometimes 1×N) in a drawn format and mode; (bytes, Pillow format)."""
    image_format = rng.choice(formats)
    mode = rng.choice(FORMAT_MODES[image_format])
    if mode == "RGB16" and image_format not in ("PNG", "TIFF"):
        mode = "RGB"
    width, height = rng.randint(1, 24), rng.randint(1, 24)
    if image_format == "ICO":
        width = height = rng.choice((16, 24))
    return encode(rng, make_mode(rng, mode, width, height), image_format), image_format


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@functools.lru_cache(maxsize=8)
def png_bomb(width: int, height: int, colour_type: int = 0) -> bytes:
    """A complete, valid PNG of ``width``×``height`` zero pixels (8-bit; colour type 0 gray, 2 RGB, 6 RGBA), whose
    compressed rows take about 1/1000 of their size: a small file that really decodes to that many pixels."""
    row = 1 + width * {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    compressor, chunk, parts = zlib.compressobj(9), bytes(min(row * height, 1 << 22)), []
    left = row * height
    while left:
        parts.append(compressor.compress(chunk[: min(left, len(chunk))]))
        left -= min(left, len(chunk))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


# Bombs drawn by the generators: under the default 60 MP limit (small enough to dehaze in the suite's time) and
# over it (refused from the header); every one under 1 MB on disk
BOMB_SIZES: tuple[tuple[int, int, int], ...] = ((1500, 1500, 0), (1000, 1000, 6), (8000, 8000, 0), (2, 40_000_000, 0))


def bomb(rng: Random) -> bytes:
    """One of the :data:`BOMB_SIZES` pixel bombs (made once per process)."""
    return png_bomb(*rng.choice(BOMB_SIZES))


def damaged_image(rng: Random, bombs: bool = True) -> tuple[bytes, str]:
    """An image file as users hand them over: valid, or with bit flips, a cut, spliced chunks, garbage after the
    magic, an absurd declared size, or (``bombs``) a pixel bomb; (bytes, the Pillow format it started as)."""
    from fuzz.headers import declare_size, splice_chunks
    from fuzz.mutate import mutate_bytes

    data, image_format = base_image(rng)
    kind = rng.random()
    if kind < 0.1:
        return data, image_format
    if kind < 0.13 and bombs:
        return bomb(rng), "PNG"
    if kind < 0.3:
        data = declare_size(rng, data, image_format)
        return (mutate_bytes(rng, data) if rng.random() < 0.3 else data), image_format
    donor = base_image(rng, (image_format,) if rng.random() < 0.7 else tuple(FORMAT_MODES))[0]
    if kind < 0.45:
        return splice_chunks(rng, data, donor), image_format
    return mutate_bytes(rng, data, donors=[donor]), image_format


def image_suffix(rng: Random, image_format: str) -> str:
    """The file's suffix: mostly its format's own, sometimes another image suffix or none (we decode by content)."""
    roll = rng.random()
    if roll < 0.75:
        return SUFFIXES[image_format]
    return rng.choice((".png", ".jpg", ".JPEG", ".tiff", ".webp", ".gif", ".pgm", ".bmp", ".avif", ".jfif", ""))
