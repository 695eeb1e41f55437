"""The generator contract: what inference, training and checkpoints rely on in any generator."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Generator(Protocol):
    """A hazy N×C×H×W batch in [0, 1] → the dehazed batch, same shape (C = ``in_channels`` → ``out_channels``).

    ``whole_image``: True when the model must see the whole image at once (the guided generator: never tiled);
    False when it is fully convolutional and may be tiled (the U-Net). ``multiple``: tile starts and sizes are
    multiples of this (the U-Net's down-sampling factor, 2**depth; 1 when any size is fine). Both generators are
    ``nn.Module`` s built by :func:`dehaze.models.build.build_generator` from a :class:`~dehaze.config.ModelConfig`.
    """

    in_channels: int
    out_channels: int
    whole_image: bool

    @property
    def multiple(self) -> int: ...

    def __call__(self, hazy: torch.Tensor) -> torch.Tensor: ...
