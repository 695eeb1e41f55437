"""Format-aware damage to image files: absurd declared sizes in the header each format reads them from, and PNG
chunks or JPEG segments dropped, repeated, reordered or spliced in from another file."""

from __future__ import annotations

import re
import struct
import zlib
from random import Random

from fuzz.mutate import INTERESTING_SIZES


def absurd_size(rng: Random) -> int:
    """A width or height a hostile header may claim."""
    return rng.choice(INTERESTING_SIZES) if rng.random() < 0.8 else rng.getrandbits(rng.choice((8, 16, 24, 32)))


def _patch(data: bytes, at: int, fmt: str, *values: int) -> bytes:
    size = struct.calcsize(fmt)
    if at < 0 or at + size > len(data):
        return data
    limit = 1 << (8 * size // len(values))
    return data[:at] + struct.pack(fmt, *(value % limit for value in values)) + data[at + size :]


def _png_size(rng: Random, data: bytes, width: int, height: int) -> bytes:
    patched = _patch(data, 16, ">II", width, height)
    if rng.random() < 0.85 and len(patched) >= 33:  # a fixed CRC gets past libpng's check to the size check
        patched = patched[:29] + struct.pack(">I", zlib.crc32(patched[12:29])) + patched[33:]
    return patched


def _jpeg_size(data: bytes, width: int, height: int) -> bytes:
    frame = re.search(rb"\xff[\xc0-\xc3\xc5-\xc7\xc9-\xcb\xcd-\xcf]", data)
    return _patch(data, frame.start() + 5, ">HH", height, width) if frame else data


def _tiff_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the ImageWidth (256) and ImageLength (257) entries of the first IFD in place."""
    if data[:4] not in (b"II*\x00", b"MM\x00*") or len(data) < 8:
        return data
    order = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", data[4:8])[0]
    if offset + 2 > len(data):
        return data
    for entry in range(struct.unpack(order + "H", data[offset : offset + 2])[0]):
        at = offset + 2 + 12 * entry
        if at + 12 > len(data):
            break
        tag, kind = struct.unpack(order + "HH", data[at : at + 4])
        if tag in (256, 257):
            value = width if tag == 256 else height
            data = _patch(data, at + 8, order + ("H" if kind == 3 else "I"), value)
    return data


def _webp_size(data: bytes, width: int, height: int) -> bytes:
    chunk = data[12:16]
    if chunk == b"VP8X":  # canvas width-1 and height-1, 24 bits each
        return (
            data[:24]
            + ((width - 1) % (1 << 24)).to_bytes(3, "little")
            + ((height - 1) % (1 << 24)).to_bytes(3, "little")
            + data[30:]
        )
    if chunk == b"VP8L":  # after the 0x2f signature: 14 bits width-1, 14 bits height-1
        bits = ((width - 1) % (1 << 14)) | (((height - 1) % (1 << 14)) << 14)
        return _patch(data, 21, "<I", bits | (struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1)))
    return _patch(data, 26, "<HH", width, height) if chunk == b"VP8 " else data


def _pnm_size(data: bytes, width: int, height: int) -> bytes:
    return re.sub(rb"^(P\d\s+)\d+(\s+)\d+", rb"\g<1>%d\g<2>%d" % (width, height), data, count=1)


def declare_size(rng: Random, data: bytes, image_format: str) -> bytes:
    """``data`` with a header that claims another width and height (the pixel data stay what they are)."""
    width, height = absurd_size(rng), absurd_size(rng)
    if image_format == "PNG":
        return _png_size(rng, data, width, height)
    if image_format == "JPEG":
        return _jpeg_size(data, width, height)
    if image_format == "TIFF":
        return _tiff_size(data, width, height)
    if image_format == "WEBP":
        return _webp_size(data, width, height)
    if image_format == "PPM":
        return _pnm_size(data, width, height)
    if image_format == "BMP":
        return _patch(data, 18, "<II", width, height)  # read back as signed: a negative height is top-down
    if image_format == "GIF":
        return _patch(data, 6, "<HH", width, height)
    at = rng.randrange(min(len(data), 32) + 1)  # any other format: a 16- or 32-bit field near the start
    return _patch(data, at, rng.choice(("<HH", ">HH", "<II", ">II")), width, height)


def png_chunks(data: bytes) -> list[bytes] | None:
    """The chunks of a PNG (each with length, type and CRC), or None when ``data`` is not a PNG."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    chunks, at = [], 8
    while at + 12 <= len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        chunks.append(data[at : at + 12 + length])
        at += 12 + length
    return chunks


def jpeg_segments(data: bytes) -> list[bytes]:
    """A JPEG cut before every marker that starts a segment (FF followed by a non-zero, non-FF byte)."""
    starts = [match.start() for match in re.finditer(rb"\xff[^\x00\xff]", data)]
    bounds = [0, *starts[1:], len(data)] if starts and starts[0] == 0 else [0, *starts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _shuffle_parts(rng: Random, parts: list[bytes], donor_parts: list[bytes]) -> list[bytes]:
    """One of: drop, repeat, swap, or insert a donor's part (the first part, the signature, stays first)."""
    parts = list(parts)
    if len(parts) < 2:
        return parts
    at = rng.randrange(1, len(parts))
    action = rng.randrange(4)
    if action == 0:
        del parts[at]
    elif action == 1:
        parts.insert(at, parts[at])
    elif action == 2:
        other = rng.randrange(1, len(parts))
        parts[at], parts[other] = parts[other], parts[at]
    elif donor_parts:
        parts.insert(at, rng.choice(donor_parts))
    return parts


def splice_chunks(rng: Random, data: bytes, donor: bytes) -> bytes:
    """PNG chunks or JPEG segments of ``data`` dropped, repeated, swapped, or spliced in from ``donor``."""
    chunks, donor_chunks = png_chunks(data), png_chunks(donor)
    if chunks is not None:
        return b"\x89PNG\r\n\x1a\n" + b"".join(_shuffle_parts(rng, [b"", *chunks], donor_chunks or [])[1:])
    return b"".join(_shuffle_parts(rng, jpeg_segments(data), jpeg_segments(donor)))
