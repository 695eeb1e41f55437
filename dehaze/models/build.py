"""Build the generator and the dual critic from their config dataclasses."""

from __future__ import annotations

import dataclasses

from dehaze.config import CriticConfig, ModelConfig, validate_model_config
from dehaze.models.dual import DualCritic
from dehaze.models.frequency_critic import FrequencyCritic
from dehaze.models.guided import GuidedGenerator
from dehaze.models.spatial_critic import PatchCritic
from dehaze.models.unet import UNetGenerator


def build_generator(cfg: ModelConfig) -> GuidedGenerator | UNetGenerator:
    """The generator named by ``cfg.arch``: the whole-scene guided generator (default) or the U-Net; both are
    :class:`~dehaze.models.generator.Generator` s."""
    validate_model_config(cfg)  # arch, channel rules and bounds first: never allocate an absurd model
    if cfg.arch == "guided":
        return GuidedGenerator(**dataclasses.asdict(cfg.guided()))
    return UNetGenerator(**dataclasses.asdict(cfg.unet()))


def build_critic(cfg: CriticConfig, channels: int, hazy_channels: int | None = None) -> DualCritic:
    """Critic for ``channels``-channel candidates conditioned on ``hazy_channels`` (default: same) hazy inputs.

    Only the critics with a non-zero weight are built: λ = 1 builds no frequency critic, λ = 0 no spatial one.
    """
    hazy_channels = channels if hazy_channels is None else hazy_channels
    weight = float(cfg.spatial_weight)
    spatial = (
        PatchCritic(
            hazy_channels + channels, cfg.spatial_width, cfg.spatial_layers, cfg.spectral_norm, cfg.spatial_downsample
        )
        if weight > 0.0
        else None
    )
    frequency = (
        FrequencyCritic(
            channels,
            width=cfg.frequency_width,
            cutoffs=tuple(cfg.cutoffs),
            use_phase=cfg.use_phase,
            use_condition=cfg.use_condition,
            spectral_norm=cfg.spectral_norm,
            hazy_channels=hazy_channels,
            detach_spectrum=cfg.detach_spectrum,
        )
        if weight < 1.0
        else None
    )
    return DualCritic(spatial, frequency, weight)
