"""The one home of colour conversion: ITU-R BT.601 luminance for tensors and arrays, and channel-count changes."""

from __future__ import annotations

import kornia
import numpy as np
import torch

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601, as Pillow's "L" and kornia use
GRAY_CHECK_PIXELS = 1 << 20  # is_gray compares strips of rows of about this many pixels


def luminance(image: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of an N×3×H×W tensor via kornia; N×1×H×W tensors are returned as they are."""
    return image if image.shape[1] == 1 else kornia.color.rgb_to_grayscale(image)


def luminance_array(image: np.ndarray) -> np.ndarray:
    """H×W luminance of an H×W, H×W×1 or H×W×3 float array (other channel counts: the channel mean)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        return image
    if image.shape[2] == 3:
        return image @ LUMA_WEIGHTS
    return image.mean(axis=2)


def to_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """H×W×C (C = 1 or 3) → H×W×``channels``: luminance for 1, gray repeated for 3."""
    if channels == 1:
        return array if array.shape[2] == 1 else luminance_array(array)[..., None]
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def is_gray(image: np.ndarray, tolerance: float = 1.0 / 512.0) -> bool:
    """True for an H×W or H×W×1 array, or an RGB array whose three channels are equal (within ``tolerance``).

    Compared in strips of rows (small temporaries, and a colour photo is told apart in its first strip).
    """
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    step = max(1, GRAY_CHECK_PIXELS // max(1, image.shape[1]))
    for top in range(0, image.shape[0], step):
        rows = image[top : top + step]
        for a, b in ((0, 1), (1, 2)):
            if not np.abs(rows[..., a] - rows[..., b]).max(initial=0.0) <= tolerance:  # NaN: not gray
                return False
    return True
