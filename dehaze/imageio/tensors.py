"""Float images ↔ torch tensors (C×H×W, or 1×C×H×W batches sharing the array's memory), and value checks."""

from __future__ import annotations

import numpy as np
import torch

from dehaze.imageio.limits import NonFinitePixels


def value_range(tensor: torch.Tensor, what: str = "image") -> tuple[float, float]:
    """(min, max) of a non-empty tensor without copying it; :class:`NonFinitePixels` naming ``what`` for NaN/inf."""
    # reduce over the dimensions in memory order: a full reduction of a channels-last tensor would copy it first
    low, high = torch.aminmax(tensor.permute(sorted(range(tensor.dim()), key=tensor.stride, reverse=True)))
    low_value, high_value = float(low), float(high)
    if not (np.isfinite(low_value) and np.isfinite(high_value)):  # NaN propagates through aminmax
        raise NonFinitePixels(what)
    return low_value, high_value


def clamp_unit(tensor: torch.Tensor, what: str = "image") -> torch.Tensor:
    """``tensor`` clamped to [0, 1]: the tensor itself when already inside (no copy of a large image).

    NaN or infinite values raise :class:`NonFinitePixels` naming ``what`` (they would turn the output black).
    """
    if tensor.numel() == 0:
        return tensor
    low, high = value_range(tensor, what)
    return tensor if low >= 0.0 and high <= 1.0 else tensor.clamp(0.0, 1.0)


def array_to_batch(array: np.ndarray) -> torch.Tensor:
    """H×W×C array → 1×C×H×W float32 tensor sharing its memory (channels-last strides).

    Copied only when it must be: not float32, not C-contiguous or read-only.
    """
    values = np.ascontiguousarray(array, dtype=np.float32)
    if not values.flags.writeable:  # torch.from_numpy wants a writable buffer (the tensor is never written)
        values = values.copy()
    # reshape first, so the batch dimension gets a real stride: torch then sees a channels-last tensor (its
    # kernels would copy a 1×C×H×W tensor whose unused batch stride is out of order)
    return torch.from_numpy(values.reshape(1, *values.shape)).permute(0, 3, 1, 2)


def batch_to_array(batch: torch.Tensor) -> np.ndarray:
    """1×C×H×W CPU tensor → H×W×C float32 array; shares the tensor's memory when it is channels-last."""
    return np.ascontiguousarray(batch[0].permute(1, 2, 0).numpy(), dtype=np.float32)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """H×W×C (or H×W) float array → C×H×W float32 tensor."""
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))


def to_array(tensor: torch.Tensor) -> np.ndarray:
    """C×H×W tensor → H×W×C float32 array."""
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy().transpose(1, 2, 0))
