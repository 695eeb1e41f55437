"""Conditional PatchGAN critic on ``concat(hazy, candidate)``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dehaze.models.layers import critic_block, maybe_spectral_norm


class PatchCritic(nn.Module):
    """PatchGAN: ``layers`` strided 4×4 convolutions (widths doubling, capped at 8×), then two 3×3 convolutions.

    No normalisation layers (they would couple real and fake samples and disturb R1); ``spectral_norm`` on every
    convolution instead. A 64×64 input with ``layers=3`` gives an 8×8 map of patch logits.

    ``downsample`` > 1 judges the pair area-averaged by that factor (capped so at least ``2**layers`` pixels remain):
    the spatial critic then looks at contrast, colour and structure (what the gain maps change) at a fraction of
    the cost, and leaves the finest scales to the frequency critic. The candidate batch may be a multiple of the
    hazy batch (real and fake judged in one pass against one condition).
    """

    def __init__(
        self, in_channels: int, width: int = 32, layers: int = 3, spectral_norm: bool = True, downsample: int = 1
    ) -> None:
        super().__init__()
        if layers < 1 or downsample < 1:
            raise ValueError(f"layers and downsample must be >= 1, got {layers} and {downsample}")
        self.in_channels = in_channels
        self.layers = layers
        self.downsample = downsample
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
        x = torch.cat([hazy.repeat(candidate.shape[0] // hazy.shape[0], 1, 1, 1), candidate], dim=1)
        factor = min(self.downsample, max(1, min(x.shape[-2:]) >> self.layers))
        if factor > 1:
            x = F.avg_pool2d(x, factor, ceil_mode=True)
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.head(x), features

    def forward(self, hazy: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        return self.forward_features(hazy, candidate)[0]
