"""Reading a safetensors header from an untrusted file: sizes and bounds checked before anything is parsed."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dehaze.errors import DehazeError

# Refused before parsing: a generator within the bounds of dehaze.config.MODEL_RANGES is far smaller than this.
MAX_CHECKPOINT_BYTES = 1 << 30
MAX_HEADER_BYTES = 4 << 20  # a real header (tensor table + metadata) is a few kB
_DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2}
_DTYPE_SIZES |= {"I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_TORCH_DTYPE_NAMES = {
    torch.bool: "BOOL",
    torch.uint8: "U8",
    torch.int8: "I8",
    torch.int16: "I16",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int32: "I32",
    torch.float32: "F32",
    torch.int64: "I64",
    torch.float64: "F64",
}


@dataclass(frozen=True)
class TensorSpec:
    """Dtype (safetensors name, e.g. ``F32``) and shape of one tensor, known without reading its data."""

    dtype: str
    shape: tuple[int, ...]

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorSpec:
        """The spec of a live tensor."""
        return cls(_TORCH_DTYPE_NAMES.get(tensor.dtype, str(tensor.dtype)), tuple(tensor.shape))

    @property
    def kind(self) -> str:
        """``float``, ``int`` or ``bool``: a file may store weights in another precision of the same kind."""
        return "bool" if self.dtype == "BOOL" else "int" if self.dtype[0] in "IU" else "float"

    def __str__(self) -> str:
        return f"{self.dtype}{list(self.shape)}"


def is_count(value: Any) -> bool:
    """A plain non-negative integer below 2**48 (bools excluded)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 48


def shown_name(name: Any, limit: int = 80) -> str:
    """A tensor or key name from an untrusted file as it goes into a one-line message (repr when odd or long)."""
    if isinstance(name, str) and name.isprintable() and len(name) <= limit:
        return name
    text = repr(name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_mismatch(found: Mapping[str, TensorSpec], expected: Mapping[str, TensorSpec], limit: int = 3) -> str:
    """Missing, unexpected and mismatched (shape or dtype kind) tensors, the first ``limit`` of each; '' if none."""
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected]
    wrong = [
        f"{name} is {found[name]}, expected {spec}"
        for name, spec in expected.items()
        if name in found and (found[name].shape != spec.shape or found[name].kind != spec.kind)
    ]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("mismatched", wrong)):
        if items:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            parts.append(f"{label}: {', '.join(shown_name(item) for item in items[:limit])}{more}")
    return "; ".join(parts)


def _file_kind_hint(head: bytes, length: int) -> str:
    """A guess at what a file that is not safetensors is, from its first bytes (``length``: what they say)."""
    if not head:
        return "the file is empty"
    if len(head) < 8:
        return f"the file is only {len(head)} bytes long"
    if head.startswith(b"PK\x03\x04"):
        return "it is a zip archive, e.g. a PyTorch .pt/.pth file; dehaze loads only .safetensors generators"
    if head[:1] == b"\x80":
        return "it is a Python pickle, e.g. an old PyTorch .pt file; dehaze loads only .safetensors generators"
    if all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
        return "it is a text file"
    return f"its first 8 bytes give a header length of {length} bytes, over the limit of {MAX_HEADER_BYTES}"


def read_safetensors_header(path: Path, max_bytes: int | None = None) -> tuple[dict[str, TensorSpec], Any]:
    """Tensor specs and raw metadata of a safetensors file, read from its header only (never the tensor data).

    The first 8 bytes are the header length (little-endian u64). Refused before parsing: files larger than
    ``max_bytes`` (default ``MAX_CHECKPOINT_BYTES``), header lengths above ``MAX_HEADER_BYTES`` or beyond the end
    of the file; after parsing: bad tensor entries and tensor data cut short (truncated). Raises
    :class:`DehazeError` naming the file.
    """
    path = Path(path)
    max_bytes = MAX_CHECKPOINT_BYTES if max_bytes is None else max_bytes
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DehazeError(f"{path}: {size} bytes is too large for a generator checkpoint (limit {max_bytes})")
        with open(path, "rb") as handle:
            head = handle.read(8)
            length = int.from_bytes(head, "little")
            reason = _header_length_problem(head, length, size)
            if reason:
                raise DehazeError(f"{path}: not a readable .safetensors file ({reason})")
            raw = handle.read(length)
    except OSError as exc:
        raise DehazeError(f"{path}: cannot read checkpoint ({exc.strerror or exc})") from None
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise DehazeError(f"{path}: not a readable .safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise DehazeError(f"{path}: not a readable .safetensors file (its header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    tensors = _tensor_specs(path, header, data_size=size - 8 - length)
    return tensors, metadata


def _header_length_problem(head: bytes, length: int, size: int) -> str | None:
    """Why the first 8 bytes of a file of ``size`` bytes are not a usable safetensors header length, or None."""
    if len(head) < 8 or length > MAX_HEADER_BYTES:
        return _file_kind_hint(head, length)
    if length > size - 8:
        return f"the file is truncated: its {length}-byte header does not fit in {size} bytes"
    if length < 2:
        return "its header is empty"
    return None


def _tensor_specs(path: Path, header: dict[str, Any], data_size: int) -> dict[str, TensorSpec]:
    """Validate the header's tensor entries (dtype, shape, offsets within the data) and return their specs."""
    specs: dict[str, TensorSpec] = {}
    end_of_data = 0
    for name, entry in header.items():
        try:
            dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            dims_ok = isinstance(shape, list) and len(shape) <= 8 and all(is_count(d) for d in shape)
            if dtype not in _DTYPE_SIZES or not dims_ok or not (is_count(start) and is_count(end)):
                raise ValueError
        except (TypeError, KeyError, ValueError):
            shown = json.dumps(entry)[:80]
            raise DehazeError(
                f"{path}: not a readable .safetensors file (bad entry for tensor {name!r:.80}: {shown})"
            ) from None
        if end - start != math.prod(shape) * _DTYPE_SIZES[dtype]:
            raise DehazeError(
                f"{path}: tensor {name!r:.80} is {dtype}{shape} but its data spans {end - start} bytes (corrupt file)"
            )
        specs[name] = TensorSpec(dtype, tuple(shape))
        end_of_data = max(end_of_data, end)
    if end_of_data > data_size:
        raise DehazeError(
            f"{path}: the file is truncated (its header promises {end_of_data} bytes of tensor data, "
            f"it holds {data_size})"
        )
    return specs
