"""The ``model`` section: the generator's options (guided generator or U-Net) and their bounds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dehaze.config.checks import check_section
from dehaze.errors import ConfigError


@dataclass
class GuidedConfig:
    """Options of the whole-scene guided generator (:class:`dehaze.models.guided.GuidedGenerator`), with the
    defaults a ``ModelConfig`` gives it (the shipped models' settings); ``channels`` is in and out."""

    channels: int = 1
    width: int = 32
    view_size: int = 48
    prior_patch: int = 5
    guide_radius: int = 1
    guide_eps: float = 1e-3
    detail_radius: int = 2
    detail_eps: float = 1e-4
    global_head: bool = True
    global_stats: bool = False
    removal: float = 1.0  # the haze-removal strength applied by default (an inference option; --strength multiplies it)
    shadow_floor: float = 0.0  # no map takes a view window's darkest pixel below this (an inference option; 0 = off)


@dataclass
class UNetConfig:
    """Options of the U-Net (:class:`dehaze.models.unet.UNetGenerator`, whose defaults are these)."""

    in_channels: int = 1
    out_channels: int = 1
    base_width: int = 8
    depth: int = 4
    residual: bool = True
    norm: str = "batch"
    head: str = "image"


_GUIDED, _UNET = GuidedConfig(), UNetConfig()


@dataclass
class ModelConfig:
    """Generator: ``arch="guided"`` (whole-scene, low-resolution view, default) or ``"unet"`` (the ablation's U-Net).

    One flat section, so configs, checkpoints and ``--set model.*`` name every option the same way whatever the
    architecture: ``base_width``, ``depth``, ``residual``, ``norm``, ``head`` are U-Net options; ``width``,
    ``view_size``, ``prior_patch``, ``guide_radius``, ``guide_eps``, ``detail_radius``, ``detail_eps``,
    ``global_head``, ``global_stats``, ``removal``, ``shadow_floor`` are options of the guided generator
    (``in_channels`` is its channel count).
    :meth:`guided` and :meth:`unet` give the architecture's own config; the defaults here are theirs.
    """

    arch: str = "guided"
    in_channels: int = _UNET.in_channels
    out_channels: int = _UNET.out_channels
    base_width: int = _UNET.base_width
    depth: int = _UNET.depth
    residual: bool = _UNET.residual
    norm: str = _UNET.norm
    head: str = _UNET.head
    width: int = _GUIDED.width
    view_size: int = _GUIDED.view_size
    prior_patch: int = _GUIDED.prior_patch
    guide_radius: int = _GUIDED.guide_radius
    guide_eps: float = _GUIDED.guide_eps
    detail_radius: int = _GUIDED.detail_radius
    detail_eps: float = _GUIDED.detail_eps
    global_head: bool = _GUIDED.global_head
    global_stats: bool = _GUIDED.global_stats
    removal: float = _GUIDED.removal
    shadow_floor: float = _GUIDED.shadow_floor

    def guided(self) -> GuidedConfig:
        """The guided generator's options (``channels`` = ``in_channels``)."""
        values = {item.name: getattr(self, item.name, None) for item in dataclasses.fields(GuidedConfig)}
        return GuidedConfig(**{**values, "channels": self.in_channels})

    def unet(self) -> UNetConfig:
        """The U-Net's options."""
        return UNetConfig(**{item.name: getattr(self, item.name) for item in dataclasses.fields(UNetConfig)})


# Allowed values of every ModelConfig field, checked by validate_model_config before a generator is allocated, so a
# config or checkpoint from elsewhere cannot ask for an absurd model. Ranges are inclusive and above any useful size.
# The U-Net's width goes up to pix2pix's 64: its weights stay far below the checkpoint size limit, and its
# activations are bounded by the inference tile, which shrinks with the model (dehaze.models.memory).
MODEL_CHOICES: dict[str, tuple[Any, ...]] = {
    "arch": ("guided", "unet"),
    "in_channels": (1, 3),
    "out_channels": (1, 3),
    "residual": (True, False),
    "norm": ("batch", "instance", "none"),
    "head": ("image", "asm"),
    "global_head": (True, False),
    "global_stats": (True, False),
}
MODEL_RANGES: dict[str, tuple[float, float]] = {
    "base_width": (1, 64),  # pix2pix's width; memory is bounded by the tile (dehaze.models.memory), not by a cap
    "depth": (1, 6),
    "width": (1, 128),
    "view_size": (4, 1024),
    "prior_patch": (1, 63),  # and odd
    "guide_radius": (0, 64),
    "guide_eps": (1e-9, 1.0),
    "detail_radius": (0, 16),
    "detail_eps": (0.0, 1.0),
    "removal": (0.25, 2.0),
    "shadow_floor": (0.0, 0.5),
}


def validate_model_config(cfg: ModelConfig) -> None:
    """Check types, ranges (``MODEL_CHOICES``, ``MODEL_RANGES``) and cross-field rules of a generator config.

    Raises :class:`~dehaze.errors.ConfigError` (a ``DehazeError`` and a ``ValueError``) naming the field and what
    is allowed; cheap, and meant to run before any model is allocated.
    """
    check_section("model", cfg, MODEL_CHOICES, MODEL_RANGES)
    if cfg.prior_patch % 2 == 0:
        raise ConfigError(f"model.prior_patch: must be odd, got {cfg.prior_patch}")
    if cfg.in_channels != cfg.out_channels and (cfg.arch == "guided" or cfg.head == "asm"):
        raise ConfigError(
            f"model.in_channels ({cfg.in_channels}) must equal model.out_channels ({cfg.out_channels}) for "
            + ("the guided generator" if cfg.arch == "guided" else "the U-Net's asm head")
        )
