"""Generator checkpoints (safetensors) from a :class:`random.Random`: a tiny valid file of each architecture, then
its header JSON mutated (dtypes, shapes, offsets, metadata, model options), re-serialised with a right or wrong
length, or its bytes damaged (truncated, bit flips)."""

from __future__ import annotations

import functools
import json
import struct
from random import Random
from typing import Any

from fuzz.mutate import INTERESTING_SIZES, mutate_bytes, odd_value, truncate

# The smallest models of each architecture (checkpoints of a few kB)
TINY_MODELS: dict[str, dict[str, Any]] = {
    "guided-gray": {"arch": "guided", "width": 2, "view_size": 8},
    "guided-rgb": {"arch": "guided", "in_channels": 3, "out_channels": 3, "width": 2, "view_size": 8},
    "unet": {"arch": "unet", "base_width": 1, "depth": 1, "norm": "instance"},
}
DTYPES = ("F32", "F16", "BF16", "F64", "F8_E5M2", "F8_E4M3", "I64", "I32", "I16", "I8", "U8", "U16", "BOOL", "X", "")


@functools.lru_cache(maxsize=len(TINY_MODELS))
def tiny_generator_file(name: str) -> bytes:
    """The safetensors bytes of a freshly initialised tiny generator (made once per process)."""
    import torch

    from dehaze.checkpoint.generator import generator_bytes
    from dehaze.config import ModelConfig
    from dehaze.models.build import build_generator

    torch.manual_seed(0)
    config = ModelConfig(**TINY_MODELS[name])
    return generator_bytes(build_generator(config), config, {"step": 1})


def split_safetensors(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(header JSON object, tensor data) of a valid safetensors file."""
    length = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def join_safetensors(rng: Random, header: Any, tensor_data: bytes) -> bytes:
    """A file of ``header`` and ``tensor_data``: its length field mostly right, sometimes off or absurd."""
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    length = len(raw)
    if rng.random() < 0.1:
        length = rng.choice((0, 1, length - 1, length + 1, 2**32, 2**63, 2**64 - 1, rng.getrandbits(64)))
    return struct.pack("<Q", length % 2**64) + raw + tensor_data


def _mutate_entry(rng: Random, entry: dict[str, Any]) -> None:
    """Change one tensor entry's dtype, shape or data offsets (or drop one of its keys)."""
    field = rng.choice(("dtype", "shape", "data_offsets", "drop"))
    if field == "drop":
        entry.pop(rng.choice(sorted(entry)), None)
    elif field == "dtype":
        entry["dtype"] = rng.choice(DTYPES) if rng.random() < 0.9 else odd_value(rng)
    elif field == "shape":
        shape = list(entry.get("shape", []))
        action = rng.randrange(4)
        if action == 0 and shape:
            shape[rng.randrange(len(shape))] = rng.choice(INTERESTING_SIZES + (2**40, 2**47, 2**48, -1))
        elif action == 1:
            shape.append(rng.choice((1, 2, 2**20)))
        elif action == 2:
            shape = shape[:-1] if shape else [odd_value(rng)]
        else:
            shape = odd_value(rng)
        entry["shape"] = shape
    else:
        offsets = entry.get("data_offsets")  # an earlier mutation may have made it anything
        numbers = isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(v, int) for v in offsets)
        start, end = offsets if numbers else (0, 0)
        entry["data_offsets"] = rng.choice(
            ([end, start], [start, end + 4], [start - 4, end], [0, 2**48 + 8], [start, 2**47], odd_value(rng))
        )


def _json_object(text: Any) -> dict[str, Any] | None:
    """``text`` parsed when it is a JSON object (an earlier mutation may have broken it), else None."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _mutate_metadata(rng: Random, header: dict[str, Any]) -> None:
    """Change the metadata: a model option's value, an unknown option, the format tag, or its JSON."""
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or rng.random() < 0.1:
        header["__metadata__"] = odd_value(rng)
        return
    roll = rng.random()
    options = _json_object(metadata.get("model_config"))
    if roll < 0.6 and options is not None:
        key = rng.choice(sorted(options)) if options and rng.random() < 0.85 else str(odd_value(rng, 3))
        options[key] = odd_value(rng) if rng.random() < 0.7 else rng.choice((0, 1, 2, 3, 64, 1024, 4096, 10**9))
        if rng.random() < 0.1:
            options.pop(rng.choice(sorted(options)), None)
        metadata["model_config"] = json.dumps(options)
    elif roll < 0.75:
        metadata["model_config"] = str(odd_value(rng)) if rng.random() < 0.5 else odd_value(rng)
    elif roll < 0.85:
        metadata["format"] = rng.choice(("dehaze-generator-v2", "", None, 1))
    elif metadata:
        metadata.pop(rng.choice(sorted(metadata)))


def mutate_header(rng: Random, header: dict[str, Any]) -> Any:
    """One to three changes to a parsed header: tensor entries, metadata, or the whole object."""
    for _ in range(rng.randint(1, 3)):
        names = [name for name in header if name != "__metadata__"]
        roll = rng.random()
        name = rng.choice(names) if names else None
        if roll < 0.45 and name is not None and isinstance(header[name], dict):
            _mutate_entry(rng, header[name])
        elif roll < 0.8:
            _mutate_metadata(rng, header)
        elif roll < 0.9 and name is not None:
            header[rng.choice((name + ".x", "", "__metadata__", name.upper()))] = header.pop(name)
        else:
            return odd_value(rng) if rng.random() < 0.5 else json.dumps(header).encode()[: rng.randrange(64)]
    return header


def damaged_checkpoint(rng: Random) -> bytes:
    """A tiny generator file, valid or with a mutated header, wrong lengths, truncated or with damaged bytes."""
    data = tiny_generator_file(rng.choice(sorted(TINY_MODELS)))
    roll = rng.random()
    if roll < 0.05:
        return data
    if roll < 0.65:
        header, tensor_data = split_safetensors(data)
        if rng.random() < 0.15:
            tensor_data = truncate(rng, tensor_data)
        return join_safetensors(rng, mutate_header(rng, header), tensor_data)
    if roll < 0.7:  # weights poisoned with NaN, infinity or huge values (as float32 or float16 bit patterns)
        header, tensor_data = split_safetensors(data)
        poison = rng.choice((b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\xff\xff\x7f\x7f", b"\x00\x7c\x00\x7c"))
        at = rng.randrange(max(1, len(tensor_data) // 4)) * 4
        return join_safetensors(rng, header, tensor_data[:at] + poison + tensor_data[at + 4 :])
    if roll < 0.8:  # another architecture's tensors under this metadata
        header, tensor_data = split_safetensors(data)
        other, other_data = split_safetensors(tiny_generator_file(rng.choice(sorted(TINY_MODELS))))
        other["__metadata__"] = header.get("__metadata__")
        return join_safetensors(rng, other, other_data)
    return mutate_bytes(rng, data)
