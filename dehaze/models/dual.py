"""Dual critic: one adversarial signal ``λ·spatial + (1−λ)·frequency`` (SSD-GAN style)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dehaze.models.frequency_critic import FrequencyCritic
from dehaze.models.spatial_critic import PatchCritic


@dataclass
class CriticOutput:
    """``logits``: combined map ``N×1×h×w`` (``N×1×1×1`` when frequency-only); ``spatial`` (``N×1×h×w``) and
    ``frequency`` (``N×1``) are the individual critics' logits (None when not built); ``features`` are the
    intermediate activations of the spatial critic followed by those of the frequency critic."""

    logits: torch.Tensor
    spatial: torch.Tensor | None = None
    frequency: torch.Tensor | None = None
    features: list[torch.Tensor] = field(default_factory=list)

    def split(self, n: int) -> tuple[CriticOutput, CriticOutput]:
        """Split a batch judged in one pass into its first ``n`` items and the rest (features are not kept)."""

        def cut(t: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
            return (None, None) if t is None else (t[:n], t[n:])

        (logits_a, logits_b), (spatial_a, spatial_b), (freq_a, freq_b) = map(
            cut, (self.logits, self.spatial, self.frequency)
        )
        return CriticOutput(logits_a, spatial_a, freq_a), CriticOutput(logits_b, spatial_b, freq_b)


class DualCritic(nn.Module):
    """Averages a spatial PatchGAN and a frequency critic into one logit map with weight ``spatial_weight`` (λ).

    λ = 1 needs no frequency critic (and never runs one), λ = 0 no spatial critic. The candidate batch may be a
    multiple of the hazy batch: real and fake candidates judged in one pass against the hazy batch given once.
    """

    def __init__(self, spatial: PatchCritic | None, frequency: FrequencyCritic | None, spatial_weight: float) -> None:
        super().__init__()
        if not 0.0 <= spatial_weight <= 1.0:
            raise ValueError(f"spatial_weight must be in [0, 1], got {spatial_weight}")
        if spatial_weight > 0.0 and spatial is None:
            raise ValueError(f"spatial_weight={spatial_weight} needs a spatial critic")
        if spatial_weight < 1.0 and frequency is None:
            raise ValueError(f"spatial_weight={spatial_weight} needs a frequency critic")
        self.spatial_weight = float(spatial_weight)
        self.spatial = spatial if spatial_weight > 0.0 else None
        self.frequency = frequency if spatial_weight < 1.0 else None

    def forward(self, hazy: torch.Tensor, candidate: torch.Tensor) -> CriticOutput:
        weight = self.spatial_weight
        spatial_logits = frequency_logits = None
        features: list[torch.Tensor] = []
        if self.spatial is not None:
            spatial_logits, spatial_features = self.spatial.forward_features(hazy, candidate)
            features.extend(spatial_features)
        if self.frequency is not None:
            frequency_logits, frequency_features = self.frequency.forward_features(hazy, candidate)
            features.extend(frequency_features)
        if spatial_logits is None:
            assert frequency_logits is not None
            logits = frequency_logits[:, :, None, None]
        elif frequency_logits is None:
            logits = spatial_logits
        else:
            logits = weight * spatial_logits + (1.0 - weight) * frequency_logits[:, :, None, None]
        return CriticOutput(logits=logits, spatial=spatial_logits, frequency=frequency_logits, features=features)
