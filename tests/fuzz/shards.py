"""WebDataset tar shards from a :class:`random.Random`: a few samples (``hazy.png``, ``clean.png``, ``json``), then
members dropped, renamed or damaged (images as the image generator damages files, JSON broken or odd), odd tar
entries (links, folders), or the tar bytes themselves damaged."""

from __future__ import annotations

import io
import json
import tarfile
from random import Random

from fuzz.images import bomb, encode, make_mode
from fuzz.mutate import mutate_bytes, odd_value


def _pair(rng: Random) -> dict[str, bytes]:
    """One valid sample: hazy and clean images of one size and mode, and its JSON."""
    width, height = rng.randint(1, 40), rng.randint(1, 40)
    mode = rng.choice(("L", "RGB", "RGB", "RGBA", "I;16", "P", "RGB16"))
    image_format = "JPEG" if rng.random() < 0.15 and mode in ("L", "RGB") else "PNG"
    suffix = ".jpg" if image_format == "JPEG" else ".png"
    sample = {
        f"hazy{suffix}": encode(rng, make_mode(rng, mode, width, height), image_format),
        f"clean{suffix}": encode(rng, make_mode(rng, mode, width, height), image_format),
    }
    if rng.random() < 0.9:
        sample["json"] = json.dumps({"kind": rng.choice(("synth", "pairs")), "source": "fuzz"}).encode()
    return sample


def _damage_sample(rng: Random, sample: dict[str, bytes]) -> None:
    """Drop, rename or damage one member of ``sample`` in place (an empty sample gets a JSON member)."""
    if not sample:
        sample["json"] = b"{}"
        return
    name = rng.choice(sorted(sample))
    roll = rng.random()
    if roll < 0.2:
        del sample[name]
    elif roll < 0.35:
        new = rng.choice(("hazy.webp", "HAZY.png", "hazy.png.bak", "hazy", "x.hazy.png", "clean.jpeg", "json.gz"))
        sample[new] = sample.pop(name)
    elif roll < 0.55 and name == "json" or roll < 0.45:
        text = json.dumps(odd_value(rng)) if rng.random() < 0.5 else "[" * rng.choice((10, 100_000))
        sample["json"] = text.encode() if rng.random() < 0.8 else rng.randbytes(20)
    elif roll < 0.6:
        sample[name] = bomb(rng)
    else:
        sample[name] = mutate_bytes(rng, sample[name])


def _tar(rng: Random, samples: list[dict[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=rng.choice((tarfile.GNU_FORMAT, tarfile.PAX_FORMAT))) as tar:
        for number, sample in enumerate(samples):
            for name, content in sample.items():
                info = tarfile.TarInfo(f"{number:08d}.{name}")
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        if rng.random() < 0.1:  # entries that are not files: a folder, a link out of the archive
            kind = rng.choice((tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE))
            info = tarfile.TarInfo(f"{len(samples):08d}.hazy.png")
            info.type, info.linkname = kind, rng.choice(("/etc/passwd", "../x", "00000000.hazy.png"))
            tar.addfile(info)
    return buffer.getvalue()


def damaged_shard(rng: Random) -> bytes:
    """A shard of one to three samples: valid, with damaged samples, or with damaged tar bytes."""
    samples = [_pair(rng) for _ in range(rng.randint(1, 3))]
    roll = rng.random()
    if roll < 0.7:
        for _ in range(rng.randint(0 if roll < 0.1 else 1, 3)):
            _damage_sample(rng, rng.choice(samples))
    data = _tar(rng, samples)
    return mutate_bytes(rng, data) if roll >= 0.7 else data
