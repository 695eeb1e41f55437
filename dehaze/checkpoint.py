"""Atomic, pickle-free checkpoints: generator weights as safetensors, training state loaded with weights_only."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import pickle
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import safetensors.torch
import torch
from safetensors import SafetensorError

from dehaze.atomic import atomic_write_bytes
from dehaze.config import ModelConfig, validate_model_config
from dehaze.errors import ConfigError, DehazeError

if TYPE_CHECKING:
    from dehaze.models.guided import GuidedGenerator
    from dehaze.models.unet import UNetGenerator

DEFAULT_CHECKPOINT_NAME = "dehaze-gray-default.safetensors"
DEFAULT_RGB_CHECKPOINT_NAME = "dehaze-rgb-default.safetensors"
FORMAT_TAG = "dehaze-generator-v1"
# Refused before parsing: a generator within the bounds of dehaze.config.MODEL_RANGES is far smaller than this.
MAX_CHECKPOINT_BYTES = 1 << 30
MAX_HEADER_BYTES = 4 << 20  # a real header (tensor table + metadata) is a few kB
MAX_TRAINING_STATE_BYTES = 8 << 30
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


def default_checkpoint_path(channels: int = 1) -> Path:
    """The shipped grayscale (``channels=1``) or RGB (``channels=3``) model: ``$DEHAZE_CHECKPOINT`` (gray) or
    ``$DEHAZE_RGB_CHECKPOINT`` (RGB), else ``checkpoints/`` of the source tree (editable installs), else
    ``<prefix>/share/dehaze/checkpoints/`` (where a wheel install puts it)."""
    env = os.environ.get("DEHAZE_RGB_CHECKPOINT" if channels == 3 else "DEHAZE_CHECKPOINT")
    if env:
        return Path(env)
    name = DEFAULT_RGB_CHECKPOINT_NAME if channels == 3 else DEFAULT_CHECKPOINT_NAME
    source_tree = Path(__file__).resolve().parent.parent / "checkpoints" / name
    installed = Path(sys.prefix) / "share" / "dehaze" / "checkpoints" / name
    return installed if not source_tree.is_file() and installed.is_file() else source_tree


def save_generator(
    model: torch.nn.Module, model_cfg: ModelConfig, path: Path, extra_metadata: dict[str, Any] | None = None
) -> None:
    """Write generator weights and its config (in the safetensors metadata) atomically.

    Serialised in memory first (generators are small), so a full disk is a clean :class:`WriteError`.
    """
    model = getattr(model, "module", model)  # unwrap DDP
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT_TAG, "model_config": json.dumps(dataclasses.asdict(model_cfg))}
    for key, value in (extra_metadata or {}).items():
        metadata[key] = value if isinstance(value, str) else json.dumps(value)
    atomic_write_bytes(Path(path), safetensors.torch.save(tensors, metadata=metadata))


# ----------------------------------------------------------------------------- reading untrusted generator files


@dataclass(frozen=True)
class TensorSpec:
    """Dtype (safetensors name, e.g. ``F32``) and shape of one tensor, known without reading its data."""

    dtype: str
    shape: tuple[int, ...]

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorSpec:
        return cls(_TORCH_DTYPE_NAMES.get(tensor.dtype, str(tensor.dtype)), tuple(tensor.shape))

    @property
    def kind(self) -> str:
        """``float``, ``int`` or ``bool``: a file may store weights in another precision of the same kind."""
        return "bool" if self.dtype == "BOOL" else "int" if self.dtype[0] in "IU" else "float"

    def __str__(self) -> str:
        return f"{self.dtype}{list(self.shape)}"


@dataclass(frozen=True)
class GeneratorHeader:
    """What a generator file declares: tensor specs, metadata, and its validated model config."""

    tensors: dict[str, TensorSpec]
    metadata: dict[str, str]
    model_cfg: ModelConfig


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
            dims_ok = isinstance(shape, list) and len(shape) <= 8 and all(_is_count(d) for d in shape)
            if dtype not in _DTYPE_SIZES or not dims_ok or not (_is_count(start) and _is_count(end)):
                raise ValueError
        except (TypeError, KeyError, ValueError):
            shown = json.dumps(entry)[:80]
            raise DehazeError(
                f"{path}: not a readable .safetensors file (bad entry for tensor '{name}': {shown})"
            ) from None
        if end - start != math.prod(shape) * _DTYPE_SIZES[dtype]:
            raise DehazeError(
                f"{path}: tensor '{name}' is {dtype}{shape} but its data spans {end - start} bytes (corrupt file)"
            )
        specs[name] = TensorSpec(dtype, tuple(shape))
        end_of_data = max(end_of_data, end)
    if end_of_data > data_size:
        raise DehazeError(
            f"{path}: the file is truncated (its header promises {end_of_data} bytes of tensor data, "
            f"it holds {data_size})"
        )
    return specs


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 48


def _model_config_from_metadata(path: Path, metadata: Any) -> ModelConfig:
    """The model config stored in a generator file's metadata, type- and range-checked before any model exists."""
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_TAG or "model_config" not in metadata:
        raise DehazeError(f"{path}: not a dehaze generator checkpoint (no '{FORMAT_TAG}' metadata)")
    try:
        fields = json.loads(metadata["model_config"])
    except (TypeError, ValueError, RecursionError):
        raise DehazeError(f"{path}: invalid model config in metadata (not JSON)") from None
    if not isinstance(fields, dict):
        raise DehazeError(f"{path}: invalid model config in metadata (not a JSON object)")
    known = {item.name for item in dataclasses.fields(ModelConfig)}
    unknown = sorted(str(key) for key in fields if key not in known)
    if unknown:
        raise DehazeError(
            f"{path}: invalid model config in metadata (unknown option(s) {', '.join(unknown[:5])[:200]}; "
            "written by a newer dehaze?)"
        )
    fields.setdefault("head", "image")  # files written before the head option existed
    fields.setdefault("arch", "unet")  # files written before the guided generator existed
    fields.setdefault("global_head", False)  # files written before the guided generator's global head existed
    model_cfg = ModelConfig(**fields)
    try:
        validate_model_config(model_cfg)
    except ConfigError as exc:
        raise DehazeError(f"{path}: invalid model config in metadata ({exc})") from None
    return model_cfg


def read_generator_header(path: Path) -> GeneratorHeader:
    """Tensor specs, metadata and validated model config of a generator file, without reading any weights."""
    path = Path(path)
    if not path.is_file():
        raise DehazeError(f"{path}: checkpoint not found")
    tensors, metadata = read_safetensors_header(path)
    model_cfg = _model_config_from_metadata(path, metadata)
    return GeneratorHeader(tensors, metadata, model_cfg)


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
            parts.append(f"{label}: {', '.join(items[:limit])}{more}")
    return "; ".join(parts)


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DehazeError(f"{path}: not a readable .safetensors file ({detail})") from None


def read_generator_file(path: Path) -> tuple[dict[str, torch.Tensor], ModelConfig, dict[str, str]]:
    """Read tensors, model config and metadata of a generator file, with clear one-line errors.

    The header, file size and model config are checked before any tensor data is read; see :func:`load_generator`
    for the check of the tensors against the model.
    """
    header = read_generator_header(Path(path))
    return _load_tensors(Path(path)), header.model_cfg, header.metadata


def load_generator(
    path: Path | None = None, device: str | torch.device = "cpu"
) -> tuple[GuidedGenerator | UNetGenerator, ModelConfig]:
    """Build the generator described by a checkpoint and load its weights (eval mode).

    Every step refuses a malformed or hostile file with a :class:`DehazeError` naming it: header and size first,
    then the model config (bounded before the model is built), then tensor names, shapes and dtypes against the
    built model (before any weights are read), then non-finite weights.
    """
    from dehaze.models.build import build_generator

    if path is None:
        path = default_checkpoint_path()
        if not path.is_file():
            raise DehazeError(
                f"{path}: the shipped default model is missing; pass --checkpoint or train one with dehaze-train"
            )
    path = Path(path)
    header = read_generator_header(path)
    try:
        model = build_generator(header.model_cfg)
    except ValueError as exc:
        raise DehazeError(f"{path}: invalid model config in metadata ({exc})") from None
    expected = {name: TensorSpec.of(tensor) for name, tensor in model.state_dict().items()}
    problems = describe_mismatch(header.tensors, expected)
    if problems:
        raise DehazeError(f"{path}: weights do not match the model config ({problems})")
    tensors = _load_tensors(path)
    bad = [name for name, tensor in tensors.items() if tensor.is_floating_point() and not tensor.isfinite().all()]
    if bad:
        raise DehazeError(f"{path}: weights contain NaN or infinite values ({', '.join(bad[:3])})")
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise DehazeError(f"{path}: weights do not match the model config ({str(exc).splitlines()[0]})") from None
    return model.to(device).eval(), header.model_cfg


# ----------------------------------------------------------------------------- training state


def save_training_state(state: dict[str, Any], path: Path) -> None:
    """Save optimiser/critic/RNG state (tensors and plain Python values only) atomically.

    Serialised in memory first: ``torch.save`` reports a full disk as an obscure ``RuntimeError``, a plain write
    gives a clean :class:`WriteError` naming the file.
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(Path(path), buffer.getbuffer())


def load_training_state(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a training state with ``weights_only=True`` (never unpickles arbitrary objects).

    Missing, empty, oversized, truncated, non-PyTorch and pickled-object files all give a one-line
    :class:`DehazeError` naming the file. Check the content with :func:`validate_training_state`.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(4)
    except FileNotFoundError:
        raise DehazeError(f"{path}: training state not found") from None
    except OSError as exc:
        raise DehazeError(f"{path}: cannot read training state ({exc.strerror or exc})") from None
    if size > MAX_TRAINING_STATE_BYTES:
        raise DehazeError(f"{path}: {size} bytes is too large for a training state (limit {MAX_TRAINING_STATE_BYTES})")
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        what = "the file is empty" if not head else "not a file written by torch.save"
        raise DehazeError(f"{path}: not a dehaze training state ({what})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if "Unsupported" in line or "global" in line.lower()]
        detail = lines[0][:200] if lines else "it holds Python objects other than tensors and plain values"
        raise DehazeError(f"{path}: refused to load training state, not weights-only data ({detail})") from None
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a corrupt file for the user
        detail = str(exc).strip().splitlines()[0].split(". ")[0][:200] if str(exc).strip() else ""
        reason = "truncated or corrupt" if size and head else "unreadable"
        raise DehazeError(f"{path}: cannot load training state, {reason} ({type(exc).__name__}: {detail})") from None
    if not isinstance(state, dict):
        raise DehazeError(f"{path}: not a dehaze training state (holds a {type(state).__name__}, not a dict)")
    return state


TRAINING_STATE_KEYS = ("step", "best_psnr", "rng", "scaler_g", "scaler_d")
_STATE_HINTS = {"ema": "; resume with --set train.ema_decay=0"}


def validate_training_state(
    state: Mapping[str, Any],
    path: Path,
    modules: Mapping[str, torch.nn.Module | None],
    optimizers: Mapping[str, torch.optim.Optimizer | None] | None = None,
) -> None:
    """Check a loaded training state before anything is restored from it; raise one-line :class:`DehazeError`.

    ``modules`` maps state keys to the live modules they restore (``None``: not used in this run, not checked);
    their tensor names, shapes and dtype kinds must match. ``optimizers`` likewise, checked for parameter group
    sizes and per-parameter state shapes. The plain keys of :data:`TRAINING_STATE_KEYS` must be present.
    """
    missing = [key for key in TRAINING_STATE_KEYS if key not in state]
    if missing:
        raise DehazeError(f"{path}: not a complete training state (missing {', '.join(missing)})")
    step = state["step"]
    if not _is_count(step):
        raise DehazeError(f"{path}: invalid training state ('step' is {str(step)[:40]!r}, expected an integer >= 0)")
    if not isinstance(state["best_psnr"], int | float) or not isinstance(state["rng"], dict):
        raise DehazeError(f"{path}: invalid training state ('best_psnr' must be a number, 'rng' a dict)")
    for key, module in modules.items():
        if module is not None:
            _check_module_state(state.get(key), module, f"{path}: saved '{key}' weights", _STATE_HINTS.get(key, ""))
    for key, optimizer in (optimizers or {}).items():
        if optimizer is not None:
            _check_optimizer_state(state.get(key), optimizer, f"{path}: saved '{key}' optimiser state")


def _check_module_state(saved: Any, module: torch.nn.Module, where: str, hint: str) -> None:
    """A non-empty dict of tensors whose names, shapes and dtype kinds match ``module.state_dict()``."""
    if not isinstance(saved, Mapping) or not saved:
        raise DehazeError(f"{where}: missing{hint}")
    not_tensors = [str(name) for name, value in saved.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise DehazeError(f"{where}: not tensors ({', '.join(not_tensors[:3])})")
    found = {name: TensorSpec.of(tensor) for name, tensor in saved.items()}
    problems = describe_mismatch(found, {name: TensorSpec.of(t) for name, t in module.state_dict().items()})
    if problems:
        raise DehazeError(f"{where} do not match this run's model ({problems})")


def _check_optimizer_state(saved: Any, optimizer: torch.optim.Optimizer, where: str) -> None:
    """Parameter groups of the same sizes, and per-parameter state tensors shaped like their parameters."""
    try:
        saved_groups = saved["param_groups"]
        saved_sizes = [len(group["params"]) for group in saved_groups]
        ids = [index for group in saved_groups for index in group["params"]]
        per_param = saved.get("state", {})
        entries = [per_param.get(index, {}) for index in ids]
        tensors = [
            (index, name, value) for index, entry in zip(ids, entries, strict=True) for name, value in entry.items()
        ]
    except (TypeError, KeyError, AttributeError):
        raise DehazeError(f"{where}: missing or not an optimiser state") from None
    sizes = [len(group["params"]) for group in optimizer.param_groups]
    if saved_sizes != sizes:
        raise DehazeError(f"{where}: parameter groups of sizes {saved_sizes[:5]}, this run has {sizes[:5]}")
    params = [param for group in optimizer.param_groups for param in group["params"]]
    shapes = {index: param.shape for index, param in zip(ids, params, strict=True)}
    for index, name, value in tensors:
        if isinstance(value, torch.Tensor) and value.ndim and value.shape != shapes[index]:
            raise DehazeError(
                f"{where}: '{name}' of parameter {index} is {list(value.shape)}, expected {list(shapes[index])}"
            )
