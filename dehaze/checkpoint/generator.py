"""Generator files: where the shipped models are, saving, and loading an untrusted file checked step by step."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import safetensors.torch
import torch
from safetensors import SafetensorError

from dehaze.atomic import atomic_write_bytes
from dehaze.checkpoint.safetensors_header import TensorSpec, describe_mismatch, read_safetensors_header, shown_name
from dehaze.config import ModelConfig, validate_model_config
from dehaze.errors import ConfigError, DehazeError

# Trained weights and BatchNorm statistics of [0, 1] images stay far below this (the shipped models: under 0.2);
# a file with larger values (e.g. weights × 1e30, finite yet overflowing) is refused before it is used.
MAX_ABS_WEIGHT = 1e4

if TYPE_CHECKING:
    from dehaze.models.guided import GuidedGenerator
    from dehaze.models.unet import UNetGenerator

DEFAULT_CHECKPOINT_NAME = "dehaze-gray-default.safetensors"
DEFAULT_RGB_CHECKPOINT_NAME = "dehaze-rgb-default.safetensors"
FORMAT_TAG = "dehaze-generator-v1"


def default_checkpoint_path(channels: int = 1) -> Path:
    """The shipped grayscale (``channels=1``) or RGB (``channels=3``) model: ``$DEHAZE_CHECKPOINT`` (gray) or
    ``$DEHAZE_RGB_CHECKPOINT`` (RGB), else ``checkpoints/`` of the source tree (editable installs), else
    ``<prefix>/share/dehaze/checkpoints/`` (where a wheel install puts it)."""
    env = os.environ.get("DEHAZE_RGB_CHECKPOINT" if channels == 3 else "DEHAZE_CHECKPOINT")
    if env:
        return Path(env)
    name = DEFAULT_RGB_CHECKPOINT_NAME if channels == 3 else DEFAULT_CHECKPOINT_NAME
    source_tree = Path(__file__).resolve().parents[2] / "checkpoints" / name
    installed = Path(sys.prefix) / "share" / "dehaze" / "checkpoints" / name
    return installed if not source_tree.is_file() and installed.is_file() else source_tree


def shipped_default_path() -> Path:
    """The model loaded when none is named: the shipped gray model, or the RGB model when it ships alone (an RGB
    model trained on gray samples serves gray photos too: gray in three channels, luminance out)."""
    gray, rgb = default_checkpoint_path(1), default_checkpoint_path(3)
    if os.environ.get("DEHAZE_CHECKPOINT"):  # a gray model named explicitly is used as it is (or refused)
        return gray
    return gray if gray.is_file() or not rgb.is_file() else rgb


def shipped_checkpoint_files() -> tuple[Path, ...]:
    """The shipped checkpoints that exist, gray first (a lone RGB model serves gray photos too)."""
    return tuple(path for path in (default_checkpoint_path(1), default_checkpoint_path(3)) if path.is_file())


def save_generator(
    model: torch.nn.Module, model_cfg: ModelConfig, path: Path, extra_metadata: dict[str, Any] | None = None
) -> None:
    """Write generator weights and its config (in the safetensors metadata) atomically.

    Serialised in memory first (generators are small), so a full disk is a clean :class:`WriteError`.
    """
    atomic_write_bytes(Path(path), generator_bytes(model, model_cfg, extra_metadata))


def generator_bytes(
    model: torch.nn.Module, model_cfg: ModelConfig, extra_metadata: dict[str, Any] | None = None
) -> bytes:
    """The safetensors file :func:`save_generator` writes, in memory (to write it together with another file)."""
    model = getattr(model, "module", model)  # unwrap DDP
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT_TAG, "model_config": json.dumps(dataclasses.asdict(model_cfg))}
    for key, value in (extra_metadata or {}).items():
        metadata[key] = value if isinstance(value, str) else json.dumps(value)
    return safetensors.torch.save(tensors, metadata=metadata)


# ----------------------------------------------------------------------------- reading untrusted generator files


@dataclass(frozen=True)
class GeneratorHeader:
    """What a generator file declares: tensor specs, metadata, and its validated model config."""

    tensors: dict[str, TensorSpec]
    metadata: dict[str, str]
    model_cfg: ModelConfig


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
    unknown = sorted(shown_name(key, 40) for key in fields if key not in known)
    if unknown:
        raise DehazeError(
            f"{path}: invalid model config in metadata (unknown option(s) {', '.join(unknown[:5])[:200]}; "
            "written by a newer dehaze?)"
        )
    fields.setdefault("head", "image")  # files written before the head option existed
    fields.setdefault("arch", "unet")  # files written before the guided generator existed
    fields.setdefault("global_head", False)  # files written before the guided generator's global head existed
    fields.setdefault("global_stats", False)  # files written before image statistics were fed to the head
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
    built model (before any weights are read), then non-finite weights and weights above :data:`MAX_ABS_WEIGHT`.
    """
    from dehaze.models.build import build_generator

    if path is None:
        path = shipped_default_path()
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
    huge = [
        name for name, tensor in tensors.items() if tensor.is_floating_point() and tensor.abs().max() > MAX_ABS_WEIGHT
    ]
    if huge:
        raise DehazeError(
            f"{path}: weights above {MAX_ABS_WEIGHT:g} in magnitude ({', '.join(huge[:3])}); not a trained model"
        )
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise DehazeError(f"{path}: weights do not match the model config ({str(exc).splitlines()[0]})") from None
    return model.to(device).eval(), header.model_cfg


def load_generator_weights(model: torch.nn.Module, path: Path, device: str | torch.device = "cpu") -> None:
    """Load the weights of a checkpoint (checked as :func:`load_generator` checks them) into ``model``, whose
    architecture must match; inference-time options in the file's config (e.g. ``detail_eps``) are ignored."""
    loaded, _ = load_generator(Path(path))
    try:
        model.load_state_dict(loaded.state_dict())
    except RuntimeError as exc:
        detail = str(exc).splitlines()[0][:200]
        raise DehazeError(f"{path}: weights do not fit this run's model ({detail})") from None
    model.to(device)
