"""Frequency critic: a small CNN on radially masked, well-scaled log-magnitude spectra (fully differentiable)."""

from __future__ import annotations

import torch
from torch import nn

from dehaze.models.layers import critic_block, maybe_spectral_norm
from dehaze.spectrum import STD_EPS, log_magnitude, normalized_radius, phase_features, radial_masks


def band_channels(log_mag: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Split ``N×C×H×W`` log-magnitudes into ``N×3C×H×W`` band channels, each standardised inside its own mask.

    Inside a band the values have zero mean and unit std; outside they are exactly 0. Raw masked spectra (mostly
    zeros next to a few huge DC values) are what made the prototype's critic useless.
    """
    m = masks[None, None]  # 1×1×3×H×W
    x = log_mag[:, :, None]  # N×C×1×H×W
    count = m.sum(dim=(-2, -1), keepdim=True).clamp(min=1.0)
    mean = (x * m).sum(dim=(-2, -1), keepdim=True) / count
    var = ((x - mean).square() * m).sum(dim=(-2, -1), keepdim=True) / count
    bands = (x - mean) / torch.sqrt(var + STD_EPS) * m
    return bands.flatten(1, 2)


class FrequencyCritic(nn.Module):
    """Critic on the Fourier spectrum of the candidate (and of the hazy input when ``use_condition``).

    Input channels per image: the per-image standardised log-magnitude (keeps the relative energy of the bands),
    its low/band/high parts each standardised within its mask (:func:`band_channels`), optionally cos/sin of the
    phase; plus one channel with the normalised frequency radius, because global pooling is otherwise blind to
    *where* in the spectrum a pattern is. Then strided 4×4 convolutions → global average pool → linear → ``N×1``.
    """

    def __init__(
        self,
        channels: int,
        width: int = 32,
        cutoffs: tuple[float, float] = (0.1, 0.4),
        use_phase: bool = False,
        use_condition: bool = True,
        spectral_norm: bool = True,
        hazy_channels: int | None = None,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.hazy_channels = channels if hazy_channels is None else hazy_channels
        self.cutoffs = (float(cutoffs[0]), float(cutoffs[1]))
        radial_masks(8, 8, self.cutoffs)  # validate the cut-offs early
        self.use_phase = use_phase
        self.use_condition = use_condition
        per_channel = 4 + (2 if use_phase else 0)
        in_channels = per_channel * channels + (per_channel * self.hazy_channels if use_condition else 0) + 1
        widths = [width, 2 * width, 4 * width]
        blocks: list[nn.Module] = []
        cin = in_channels
        for cout in widths:
            blocks.append(critic_block(cin, cout, 4, 2, 1, spectral_norm))
            cin = cout
        blocks.append(critic_block(cin, cin, 3, 1, 1, spectral_norm))
        self.blocks = nn.ModuleList(blocks)
        self.linear = maybe_spectral_norm(nn.Linear(cin, 1), spectral_norm)

    def spectral_input(self, image: torch.Tensor) -> torch.Tensor:
        """Spectral channels of one image batch (see the class docstring), float32."""
        height, width = image.shape[-2:]
        log_mag = log_magnitude(image)
        parts = [log_mag, band_channels(log_mag, radial_masks(height, width, self.cutoffs, image.device))]
        if self.use_phase:
            parts.append(phase_features(image))
        return torch.cat(parts, dim=1)

    def forward_features(self, hazy: torch.Tensor, candidate: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits ``N×1`` and the activation after every conv block."""
        height, width = candidate.shape[-2:]
        parts = [self.spectral_input(candidate)]
        if self.use_condition:
            parts.append(self.spectral_input(hazy))
        radius = normalized_radius(height, width, candidate.device).expand(candidate.shape[0], 1, height, width)
        x = torch.cat([*parts, radius], dim=1)
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.linear(x.mean(dim=(-2, -1))), features

    def forward(self, hazy: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        return self.forward_features(hazy, candidate)[0]
