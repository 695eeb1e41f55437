"""The one device resolver: ``auto``/``None`` → CUDA when PyTorch sees a GPU, else the CPU."""

from __future__ import annotations

import torch

from dehaze.errors import DehazeError


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``auto`` or ``None`` → CUDA when available, else CPU; ``cpu``, ``cuda``, ``cuda:N`` as given.

    Asking for CUDA without a GPU, or for an unknown device, is a :class:`DehazeError` with a clear message.
    """
    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise DehazeError(f"unknown device '{name}' (use auto, cpu or cuda)") from None
    if device.type not in ("cpu", "cuda"):
        raise DehazeError(f"unknown device '{name}' (use auto, cpu or cuda)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DehazeError(f"device '{name}' was asked for, but PyTorch sees no CUDA GPU (use --device cpu)")
    return device
