"""The ``critic`` section: the spatial PatchGAN and the frequency critic, and their bounds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CriticConfig:
    """Spatial PatchGAN + frequency critic, averaged with ``spatial_weight`` (λ)."""

    spatial_weight: float = 0.5
    spatial_width: int = 32
    spatial_layers: int = 3
    spatial_downsample: int = 2  # the spatial critic judges the pair area-averaged by this factor
    frequency_width: int = 12
    cutoffs: tuple[float, float] = (0.1, 0.4)
    use_phase: bool = False
    use_condition: bool = True
    spectral_norm: bool = True
    detach_spectrum: bool = False  # SSD-GAN's published code: no generator gradient through the FFT (ablation only)


# Allowed values of every critic option (ranges inclusive), checked by validate_config before any model is built.
CRITIC_CHOICES: dict[str, tuple] = {
    "use_phase": (True, False),
    "use_condition": (True, False),
    "detach_spectrum": (True, False),
}
CRITIC_RANGES: dict[str, tuple] = {
    "spatial_weight": (0.0, 1.0),
    "spatial_width": (1, 256),
    "spatial_layers": (1, 4),  # the smallest patch (16 px) still gives a 1×1 logit map
    "spatial_downsample": (1, 8),  # capped in the critic so at least 2**layers px remain
    "frequency_width": (1, 256),
    "cutoffs": (0.0, 1.0),  # and low < high
}
