"""Format-blind byte mutations, every choice drawn from a :class:`random.Random` (Hypothesis' ``st.randoms()`` in
the tests, a seeded ``random.Random`` in the campaign), so both shrink and replay the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from random import Random
from typing import Any

INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
# Sizes a header may claim: zero, one, 8/16/32-bit edges, around the 60 MP pixel limit (7745² < 60e6 < 7746²)
INTERESTING_SIZES = (0, 1, 2, 255, 256, 7745, 7746, 16383, 16384, 32767, 65535, 65536, 100_000, 2**31 - 1, 2**32 - 1)


def position(rng: Random, length: int) -> int:
    """An offset in ``[0, length]``, most often near the start (where headers are)."""
    if length <= 0:
        return 0
    return rng.randrange(min(length, 64) + 1) if rng.random() < 0.5 else rng.randrange(length + 1)


def flip_bits(rng: Random, data: bytes) -> bytes:
    """One to eight bits flipped."""
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = min(position(rng, len(out)), len(out) - 1)
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def set_bytes(rng: Random, data: bytes) -> bytes:
    """One to four bytes (or a 2- or 4-byte run) overwritten with edge values (0, 0x7f, 0x80, 0xff, ...)."""
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = min(position(rng, len(out)), len(out) - 1)
        run = rng.choice((1, 2, 4))
        out[at : at + run] = bytes([rng.choice(INTERESTING_BYTES)]) * len(out[at : at + run])
    return bytes(out)


def truncate(rng: Random, data: bytes) -> bytes:
    """Cut anywhere, most often near the end (a download or copy that stopped)."""
    if rng.random() < 0.5:
        return data[: max(0, len(data) - rng.randint(1, 64))]
    return data[: rng.randrange(len(data) + 1)]


def splice(rng: Random, data: bytes, donor: bytes) -> bytes:
    """A slice of ``donor`` inserted into (or written over part of) ``data``."""
    start = rng.randrange(len(donor) + 1)
    piece = donor[start : start + rng.randint(1, 512)]
    at = rng.randrange(len(data) + 1)
    end = at if rng.random() < 0.5 else at + rng.randint(0, 64)
    return data[:at] + piece + data[end:]


def cut_range(rng: Random, data: bytes) -> bytes:
    """A range of 1 to 64 bytes removed (or duplicated in place)."""
    at = rng.randrange(len(data) + 1)
    piece = data[at : at + rng.randint(1, 64)]
    return data[:at] + data[at + len(piece) :] if rng.random() < 0.5 else data[:at] + piece + data[at:]


def random_bytes(rng: Random, low: int = 0, high: int = 256) -> bytes:
    """``low`` to ``high`` random bytes, sometimes one repeated byte."""
    count = rng.randint(low, high)
    return bytes([rng.choice(INTERESTING_BYTES)]) * count if rng.random() < 0.2 else rng.randbytes(count)


def garbage_after_magic(rng: Random, data: bytes) -> bytes:
    """The first 2 to 24 bytes (a format's magic number) kept, the rest random."""
    return data[: rng.randint(2, 24)] + random_bytes(rng, 0, 2048)


def garbage_after_end(rng: Random, data: bytes) -> bytes:
    """A complete file with random bytes appended."""
    return data + random_bytes(rng, 1, 512)


Mutation = Callable[[Random, bytes], bytes]
BYTE_MUTATIONS: tuple[Mutation, ...] = (
    flip_bits,
    set_bytes,
    truncate,
    cut_range,
    garbage_after_magic,
    garbage_after_end,
)


def mutate_bytes(rng: Random, data: bytes, donors: Sequence[bytes] = (), rounds: int | None = None) -> bytes:
    """``data`` after one to three byte mutations (splices take a slice of one of ``donors``)."""
    for _ in range(rng.randint(1, 3) if rounds is None else rounds):
        if donors and rng.random() < 0.2:
            data = splice(rng, data, rng.choice(list(donors)))
        else:
            data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return data


def odd_value(rng: Random, depth: int = 0) -> Any:
    """A JSON value of a drawn type: edge integers, floats (NaN and infinity too), text, lists, objects."""
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice((0, -1, 1, 2**31, 2**63, -(2**63), 10**30)) if rng.random() < 0.5 else rng.randint(-9, 99)
    if kind == 1:
        return rng.choice((0.5, -0.0, 1e-12, 1e308, float("nan"), float("inf"), -float("inf"), 3.0))
    if kind == 2:
        return rng.choice(("", "guided", "unet", "batch", "asm", "x" * rng.randint(1, 300), "\n\t\x00", "é"))
    if kind == 3:
        return rng.choice((True, False, None))
    if kind == 4:
        return rng.choice(INTERESTING_SIZES)
    if kind == 5:
        return [odd_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == 6:
        return {str(odd_value(rng, 3)): odd_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return [[[[[[[[]]]]]]]] if rng.random() < 0.5 else "[" * rng.randint(1, 5000)
