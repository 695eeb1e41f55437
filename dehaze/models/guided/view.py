"""The network's view of a photo: its size (a fixed short side, the aspect kept) and the resize that makes it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_ASPECT = 4.0  # the low-resolution view's long side is at most this many times its short side


def view_size_for(height: int, width: int, short_side: int) -> tuple[int, int]:
    """Size of the low-resolution view: short side ``short_side``, aspect kept (capped at ``MAX_ASPECT``)."""
    scale = short_side / min(height, width)
    view_h = min(round(short_side * MAX_ASPECT), max(short_side, round(height * scale)))
    view_w = min(round(short_side * MAX_ASPECT), max(short_side, round(width * scale)))
    return view_h, view_w


def resize_to(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area averaging when shrinking both sides (exact box means, no aliasing), bilinear otherwise."""
    height, width = image.shape[-2:]
    if (height, width) == size:
        return image
    if height >= size[0] and width >= size[1]:
        if image.shape[1] == 1 and not image.is_contiguous() and _is_channels_last(image.transpose(0, 1)):
            # the channels of one channels-last image as a batch (per-channel dehazing): pool them as channels,
            # without the copy that pooling a non-contiguous batch would make
            return F.interpolate(image.transpose(0, 1), size=size, mode="area").transpose(0, 1)
        if image.shape[1] == 1 and image.is_contiguous():  # plain N×1×H×W strides: the planar kernel, ~8× faster
            image = image.flatten(0, 1).unsqueeze(1)
        return F.interpolate(image, size=size, mode="area")
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def _is_channels_last(image: torch.Tensor) -> bool:
    """Strides exactly those of a channels-last N×C×H×W tensor (what pooling kernels accept without a copy)."""
    n, c, h, w = image.shape
    return image.stride() == (h * w * c, 1, w * c, c)
