"""The ``haze`` section: how training haze is made on the fly from clean photos, and the bounds of its ranges."""

from __future__ import annotations

from dataclasses import dataclass

from dehaze.config.checks import shorten
from dehaze.defaults import DEPTH_FAMILY_NAMES as DEPTH_FAMILIES
from dehaze.errors import ConfigError


@dataclass
class HazeConfig:
    """Training haze made on the fly from clean photos (``--clean``): every sample draws a depth layout from
    ``families`` (comma-separated names of :data:`dehaze.depth.DEPTH_FAMILIES`) and each value uniformly from its
    range. ``near`` is the depth of the nearest point as a fraction of the farthest (haze in front of everything);
    ``nonhomogeneous`` the strength of a smooth β field; ``brightness``/``gamma`` darken the scene itself
    (``J' = brightness · J^gamma``, also the target); noise is added to the hazy image, then JPEG (4:2:0 chroma).
    ``gray_probability``: the share of colour samples turned into gray photos (luminance in all three channels, hazy
    and target alike), so one RGB model also learns the gray photos it will be given."""

    families: str = "outdoor,segments,room,street"
    near: tuple[float, float] = (0.0, 0.5)
    beta: tuple[float, float] = (0.2, 2.6)
    nonhomogeneous: tuple[float, float] = (0.0, 0.4)
    airlight: tuple[float, float] = (0.25, 1.0)
    tint: tuple[float, float] = (-0.08, 0.08)
    brightness: tuple[float, float] = (0.5, 1.0)
    gamma: tuple[float, float] = (0.8, 1.5)
    noise_std: tuple[float, float] = (0.0, 0.02)
    jpeg_probability: float = 0.5
    jpeg_quality: tuple[int, int] = (40, 95)
    gray_probability: float = 0.0


# Allowed interval of every HazeConfig range (both ends inclusive).
HAZE_RANGES: dict[str, tuple[float, float]] = {
    "near": (0.0, 0.95),
    "beta": (0.0, 10.0),
    "nonhomogeneous": (0.0, 2.0),
    "airlight": (0.0, 1.0),
    "tint": (-1.0, 1.0),
    "brightness": (0.05, 1.0),
    "gamma": (0.2, 5.0),
    "noise_std": (0.0, 0.5),
    "jpeg_quality": (1, 100),
}


def validate_haze_config(cfg: HazeConfig) -> None:
    """Known depth families, every range ordered and inside :data:`HAZE_RANGES`; raises ConfigError."""
    names = [name.strip() for name in cfg.families.split(",") if name.strip()]
    unknown = [name for name in names if name not in DEPTH_FAMILIES]
    if not names or unknown:
        choices = ", ".join(DEPTH_FAMILIES)
        raise ConfigError(f"haze.families: {shorten(cfg.families, 80)} must name one or more of {choices}")
    for name, (low, high) in HAZE_RANGES.items():
        lo, hi = getattr(cfg, name)
        if not low <= lo <= hi <= high:  # also False for NaN
            raise ConfigError(f"haze.{name}: [{lo}, {hi}] must be ordered and inside [{low:g}, {high:g}]")
    for name in ("jpeg_probability", "gray_probability"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise ConfigError(f"haze.{name}: {getattr(cfg, name)} is outside [0, 1]")
