"""Conditional PatchGAN critic on ``concat(hazy, candidate)``."""

from __future__ import annotations

import torch
from torch import nn

from dehaze.models.layers import critic_block, maybe_spectral_norm


class PatchCritic(nn.Module):
    """PatchGAN: ``layers`` strided 4×4 convolutions (widths doubling, capped at 8×), then two 3×3 convolutions.

    No normalisation layers (they would couple real and fake samples and disturb R1); ``spectral_norm`` on every
    convolution instead. A 64×64 input with ``layers=3`` gives an 8×8 map of patch logits.
    """

    def __init__(self, in_channels: int, width: int = 32, layers: int = 3, spectral_norm: bool = True) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        self.in_channels = in_channels
        blocks: list[nn.Module] = []
        channels = in_channels
        for layer in range(layers):
            out = width * min(2**layer, 8)
            blocks.append(critic_block(channels, out, 4, 2, 1, spectral_norm))
            channels = out
        blocks.append(critic_block(channels, channels, 3, 1, 1, spectral_norm))
        self.blocks = nn.ModuleList(blocks)
        self.head = maybe_spectral_norm(nn.Conv2d(channels, 1, 3, padding=1), spectral_norm)

    def forward_features(self, hazy: torch.Tensor, candidate: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Patch logits ``N×1×h×w`` and the activation after every block (for feature matching)."""
        x = torch.cat([hazy, candidate], dim=1)
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.head(x), features

    def forward(self, hazy: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        return self.forward_features(hazy, candidate)[0]
