"""Frequency critic: a small CNN on radially masked, well-scaled log-magnitude spectra (fully differentiable)."""

from __future__ import annotations

import weakref

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
    *where* in the spectrum a pattern is. All on the one-sided spectrum (``rfft2``: a real image's magnitude is
    point-symmetric, so the other half repeats it). Then a 4×4 stride-4 stem (each output sees one 4×4 cell of
    frequencies), a stride-2 and a stride-1 3×3 convolution → global average pool → linear → ``N×1``: about a tenth
    of the multiply-adds of three stride-2 4×4 layers on the full spectrum.

    The hazy input's spectral channels do not depend on the critic's weights: they are computed once per hazy batch
    and reused while the same (unmodified) tensor comes back, e.g. for the critic and the generator step. The
    candidate batch may be a multiple of the hazy batch (real and fake judged in one pass against one condition).
    ``detach_spectrum`` cuts the gradient from the spectrum back to the candidate, as SSD-GAN's published code does:
    the critic still learns, the generator gets nothing from it (kept for the ablation's detached row).
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
        detach_spectrum: bool = False,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.hazy_channels = channels if hazy_channels is None else hazy_channels
        self.cutoffs = (float(cutoffs[0]), float(cutoffs[1]))
        radial_masks(8, 8, self.cutoffs)  # validate the cut-offs early
        self.use_phase = use_phase
        self.use_condition = use_condition
        self.detach_spectrum = detach_spectrum
        per_channel = 4 + (2 if use_phase else 0)
        in_channels = per_channel * channels + (per_channel * self.hazy_channels if use_condition else 0) + 1
        self.blocks = nn.ModuleList(
            [
                critic_block(in_channels, width, 4, 4, 1, spectral_norm),
                critic_block(width, 2 * width, 3, 2, 1, spectral_norm),
                critic_block(2 * width, 4 * width, 3, 1, 1, spectral_norm),
            ]
        )
        self.linear = maybe_spectral_norm(nn.Linear(4 * width, 1), spectral_norm)
        self._condition: tuple[weakref.ref, int, torch.Tensor] | None = None  # (hazy batch, its version, channels)

    def spectral_input(self, image: torch.Tensor) -> torch.Tensor:
        """Spectral channels of one image batch (see the class docstring), float32, one-sided spectrum."""
        height, width = image.shape[-2:]
        log_mag = log_magnitude(image, onesided=True)
        masks = radial_masks(height, width, self.cutoffs, image.device, onesided=True)
        parts = [log_mag, band_channels(log_mag, masks)]
        if self.use_phase:
            parts.append(phase_features(image, onesided=True))
        return torch.cat(parts, dim=1)

    def condition(self, hazy: torch.Tensor) -> torch.Tensor:
        """:meth:`spectral_input` of the hazy batch, remembered for the same tensor while it is not modified
        (never for a tensor that needs gradients or is an inference tensor; never under ``torch.compile``, which
        cannot trace the check and would split the critic's graph there)."""
        if torch.compiler.is_compiling():
            return self.spectral_input(hazy)
        cached = self._condition
        if cached is not None and cached[0]() is hazy and cached[1] == hazy._version:
            return cached[2]
        channels = self.spectral_input(hazy)
        cacheable = not (hazy.requires_grad or hazy.is_inference() or torch.is_inference_mode_enabled())
        self._condition = (weakref.ref(hazy), hazy._version, channels) if cacheable else None
        return channels

    def forward_features(self, hazy: torch.Tensor, candidate: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits ``N×1`` and the activation after every conv block."""
        parts = [self.spectral_input(candidate.detach() if self.detach_spectrum else candidate)]
        if self.use_condition:
            parts.append(self.condition(hazy).repeat(candidate.shape[0] // hazy.shape[0], 1, 1, 1))
        radius = normalized_radius(*candidate.shape[-2:], candidate.device, onesided=True)
        x = torch.cat([*parts, radius.expand(candidate.shape[0], 1, *radius.shape)], dim=1)
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.linear(x.mean(dim=(-2, -1))), features

    def forward(self, hazy: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        return self.forward_features(hazy, candidate)[0]
