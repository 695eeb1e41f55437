"""Atomic, pickle-free checkpoints: generator weights as safetensors, training state loaded with weights_only."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from dehaze.config import ModelConfig
from dehaze.errors import DehazeError

if TYPE_CHECKING:
    from dehaze.models.unet import UNetGenerator

DEFAULT_CHECKPOINT_NAME = "dehaze-gray-default.safetensors"
FORMAT_TAG = "dehaze-generator-v1"


def default_checkpoint_path() -> Path:
    """The shipped grayscale model: ``$DEHAZE_CHECKPOINT``, else ``checkpoints/`` of the source tree (editable
    installs), else ``<prefix>/share/dehaze/checkpoints/`` (where a wheel install puts it)."""
    env = os.environ.get("DEHAZE_CHECKPOINT")
    if env:
        return Path(env)
    source_tree = Path(__file__).resolve().parent.parent / "checkpoints" / DEFAULT_CHECKPOINT_NAME
    installed = Path(sys.prefix) / "share" / "dehaze" / "checkpoints" / DEFAULT_CHECKPOINT_NAME
    return installed if not source_tree.is_file() and installed.is_file() else source_tree


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` on a temp file in the target folder, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def save_generator(
    model: torch.nn.Module, model_cfg: ModelConfig, path: Path, extra_metadata: dict[str, Any] | None = None
) -> None:
    """Write generator weights and its config (in the safetensors metadata) atomically."""
    model = getattr(model, "module", model)  # unwrap DDP
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT_TAG, "model_config": json.dumps(dataclasses.asdict(model_cfg))}
    for key, value in (extra_metadata or {}).items():
        metadata[key] = value if isinstance(value, str) else json.dumps(value)
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_generator_file(path: Path) -> tuple[dict[str, torch.Tensor], ModelConfig, dict[str, str]]:
    """Read tensors, model config and metadata of a generator file, with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise DehazeError(f"{path}: checkpoint not found")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DehazeError(f"{path}: not a readable .safetensors file ({exc})") from None
    if metadata.get("format") != FORMAT_TAG or "model_config" not in metadata:
        raise DehazeError(f"{path}: not a dehaze generator checkpoint (no '{FORMAT_TAG}' metadata)")
    try:
        fields = json.loads(metadata["model_config"])
        fields.setdefault("head", "image")  # files written before the head option existed
        model_cfg = ModelConfig(**fields)
    except (TypeError, ValueError) as exc:
        raise DehazeError(f"{path}: invalid model config in metadata ({exc})") from None
    return tensors, model_cfg, metadata


def load_generator(path: Path | None = None, device: str | torch.device = "cpu") -> tuple[UNetGenerator, ModelConfig]:
    """Build the generator described by a checkpoint and load its weights (eval mode)."""
    from dehaze.models.build import build_generator

    if path is None:
        path = default_checkpoint_path()
        if not path.is_file():
            raise DehazeError(
                f"{path}: the shipped default model is missing; pass --checkpoint or train one with dehaze-train"
            )
    tensors, model_cfg, _ = read_generator_file(Path(path))
    model = build_generator(model_cfg)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise DehazeError(f"{path}: weights do not match the model config ({exc})") from None
    return model.to(device).eval(), model_cfg


def save_training_state(state: dict[str, Any], path: Path) -> None:
    """Save optimiser/critic/RNG state (tensors and plain Python values only) atomically."""
    atomic_write(Path(path), lambda tmp: torch.save(state, tmp))


def load_training_state(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a training state with ``weights_only=True`` (never unpickles arbitrary objects)."""
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise DehazeError(f"{path}: training state not found") from None
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a corrupt file for the user
        raise DehazeError(f"{path}: cannot load training state ({type(exc).__name__}: {exc})") from None
