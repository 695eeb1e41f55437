"""The training state of a run (``last.state.pt``): its one layout, how it is written, read back and checked.

Everything that is not the generator's averaged weights lives here: raw generator and critic weights, the EMA,
both optimisers and grad scalers, the step, the best validation PSNR and every RNG. It is written with
``torch.save`` and read with ``weights_only=True`` after a size and magic-byte check, so nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from dehaze.atomic import atomic_write_bytes
from dehaze.checkpoint.safetensors_header import TensorSpec, describe_mismatch, is_count, shown_name
from dehaze.errors import DehazeError

MAX_TRAINING_STATE_BYTES = 8 << 30
TRAINING_STATE_KEYS = ("step", "best_psnr", "rng", "scaler_g", "scaler_d")
MODULE_FIELDS = ("generator", "ema", "critic", "real_critic")  # checked against the live modules before restoring
OPTIMIZER_FIELDS = ("opt_g", "opt_d", "opt_real")
_STATE_HINTS = {"ema": "; resume with --set train.ema_decay=0"}
# What torch's and Python's load_state_dict/setstate raise for values of the wrong type, shape or layout
_RESTORE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError)


class Stateful(Protocol):
    """Anything with ``state_dict``/``load_state_dict``: modules, optimisers, grad scalers."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@dataclass
class TrainingState:
    """What ``--resume`` needs. Module, optimiser and scaler fields hold ``state_dict()`` s (empty: not used)."""

    step: int
    best_psnr: float
    rng: dict[str, Any]
    scaler_g: dict[str, Any]
    scaler_d: dict[str, Any]
    generator: dict[str, torch.Tensor] = field(default_factory=dict)
    ema: dict[str, torch.Tensor] = field(default_factory=dict)
    critic: dict[str, torch.Tensor] = field(default_factory=dict)
    opt_g: dict[str, Any] = field(default_factory=dict)
    opt_d: dict[str, Any] = field(default_factory=dict)
    real_critic: dict[str, torch.Tensor] = field(default_factory=dict)  # the real-photo branch (--real-hazy)
    opt_real: dict[str, Any] = field(default_factory=dict)
    stream: dict[str, Any] = field(default_factory=dict)  # where the shard readers stand (training from shards)

    @classmethod
    def capture(cls, step: int, best_psnr: float, parts: Mapping[str, Stateful | None]) -> TrainingState:
        """The state of a live run: ``parts`` maps field names to their objects (``None``: not used) plus the RNGs."""
        dicts = {name: part.state_dict() if part is not None else {} for name, part in parts.items()}
        return cls(step=step, best_psnr=best_psnr, rng=capture_rng(), **dicts)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of tensors and Python values, what ``torch.save`` writes."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], path: Path) -> TrainingState:
        """Check the plain keys and types of a loaded dict (``path`` names the file in errors)."""
        missing = [key for key in TRAINING_STATE_KEYS if key not in state]
        if missing:
            raise DehazeError(f"{path}: not a complete training state (missing {', '.join(missing)})")
        step = state["step"]
        if not is_count(step):
            shown = str(step)[:40]
            raise DehazeError(f"{path}: invalid training state ('step' is {shown!r}, expected an integer >= 0)")
        if not isinstance(state["best_psnr"], int | float) or not isinstance(state["rng"], dict):
            raise DehazeError(f"{path}: invalid training state ('best_psnr' must be a number, 'rng' a dict)")
        known = {item.name for item in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in state.items() if key in known})

    def validate(
        self,
        path: Path,
        modules: Mapping[str, torch.nn.Module | None],
        optimizers: Mapping[str, torch.optim.Optimizer | None] | None = None,
    ) -> None:
        """Check the saved weights against the live ``modules`` (names, shapes, dtype kinds) and the optimiser
        states against ``optimizers`` (group sizes, per-parameter shapes); ``None`` entries are not checked."""
        for key, module in modules.items():
            if module is not None:
                where = f"{path}: saved '{key}' weights"
                _check_module_state(getattr(self, key, None), module, where, _STATE_HINTS.get(key, ""))
        for key, optimizer in (optimizers or {}).items():
            if optimizer is not None:
                _check_optimizer_state(getattr(self, key, None), optimizer, f"{path}: saved '{key}' optimiser state")

    def restore(self, parts: Mapping[str, Stateful | None], path: Path | str = "training state") -> None:
        """Load each used part (not ``None``) from its field, then the RNGs. Call :meth:`validate` first.

        A saved value that the part refuses (the optimiser's, scaler's, stream's or RNG's own layout) is a one-line
        :class:`DehazeError` naming ``path`` and the part.
        """
        for name, part in [*parts.items(), ("rng", None)]:
            try:
                if part is not None:
                    part.load_state_dict(getattr(self, name))
                elif name == "rng":
                    restore_rng(self.rng)
            except _RESTORE_ERRORS as exc:
                detail = str(exc).strip().splitlines()[0][:150] if str(exc).strip() else ""
                reason = f"{type(exc).__name__}: {detail}"
                raise DehazeError(f"{path}: saved '{name}' state cannot be restored ({reason})") from None

    def save(self, path: Path) -> None:
        """Write atomically (see :func:`save_training_state`)."""
        save_training_state(self.to_dict(), path)

    @classmethod
    def load(cls, path: Path, map_location: str | torch.device = "cpu") -> TrainingState:
        """Read a file safely (see :func:`load_training_state`) and check its plain keys."""
        return cls.from_dict(load_training_state(path, map_location), Path(path))

    @classmethod
    def resume(
        cls, path: Path, parts: Mapping[str, Stateful | None], map_location: str | torch.device = "cpu"
    ) -> TrainingState:
        """What ``--resume`` does: load, check against the live ``parts`` (every field of this class but the plain
        ones, ``None`` = not in this run), restore them; a bad file is a one-line :class:`DehazeError`."""
        state = cls.load(Path(path), map_location)
        modules = {name: parts.get(name) for name in MODULE_FIELDS}
        optimizers = {name: parts.get(name) for name in OPTIMIZER_FIELDS}
        state.validate(Path(path), modules, optimizers=optimizers)
        state.restore(parts, path)
        return state


def capture_rng() -> dict[str, Any]:
    """torch, Python, NumPy (and CUDA) RNG states as tensors and plain values (loadable with weights_only)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    np_state = np.random.get_state()
    state["numpy"] = (np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:])
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    random.setstate(tuple(v if not isinstance(v, list) else tuple(v) for v in state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy(), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(state: dict[str, Any], path: Path) -> None:
    """Save optimiser/critic/RNG state (tensors and plain Python values only) atomically.

    Serialised in memory first: ``torch.save`` reports a full disk as an obscure ``RuntimeError``, a plain write
    gives a clean :class:`WriteError` naming the file.
    """
    atomic_write_bytes(Path(path), training_state_bytes(state))


def training_state_bytes(state: dict[str, Any]) -> memoryview:
    """What :func:`save_training_state` writes, serialised in memory."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer()


def load_training_state(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a training state with ``weights_only=True`` (never unpickles arbitrary objects).

    Missing, empty, oversized, truncated, non-PyTorch and pickled-object files all give a one-line
    :class:`DehazeError` naming the file. Check the content with :meth:`TrainingState.from_dict`.
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


def validate_training_state(
    state: Mapping[str, Any],
    path: Path,
    modules: Mapping[str, torch.nn.Module | None],
    optimizers: Mapping[str, torch.optim.Optimizer | None] | None = None,
) -> None:
    """Check a loaded state dict before anything is restored from it; raise one-line :class:`DehazeError`.

    The plain keys of :data:`TRAINING_STATE_KEYS` must be present; see :meth:`TrainingState.validate`.
    """
    TrainingState.from_dict(state, Path(path)).validate(Path(path), modules, optimizers)


def _check_module_state(saved: Any, module: torch.nn.Module, where: str, hint: str) -> None:
    """A non-empty dict of tensors whose names, shapes and dtype kinds match ``module.state_dict()``."""
    if not isinstance(saved, Mapping) or not saved:
        raise DehazeError(f"{where}: missing{hint}")
    not_tensors = [shown_name(name) for name, value in saved.items() if not isinstance(value, torch.Tensor)]
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
    except (TypeError, KeyError, AttributeError, IndexError, ValueError, RuntimeError):
        raise DehazeError(f"{where}: missing or not an optimiser state") from None
    sizes = [len(group["params"]) for group in optimizer.param_groups]
    if saved_sizes != sizes:
        raise DehazeError(f"{where}: parameter groups of sizes {saved_sizes[:5]}, this run has {sizes[:5]}")
    params = [param for group in optimizer.param_groups for param in group["params"]]
    shapes = {index: param.shape for index, param in zip(ids, params, strict=True)}
    for index, name, value in tensors:
        if isinstance(value, torch.Tensor) and value.ndim and value.shape != shapes[index]:
            raise DehazeError(
                f"{where}: {name!r:.40} of parameter {index} is {list(value.shape)}, expected {list(shapes[index])}"
            )
