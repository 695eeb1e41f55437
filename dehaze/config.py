"""Dataclass configuration for models, losses and training, with YAML and ``key=value`` overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dehaze.atomic import atomic_write_text
from dehaze.depth import DEPTH_FAMILIES
from dehaze.errors import ConfigError, DehazeError


@dataclass
class ModelConfig:
    """Generator: ``arch="guided"`` (whole-scene, low-resolution view, default) or ``"unet"`` (the ablation's U-Net).

    ``base_width``, ``depth``, ``residual``, ``norm``, ``head`` are U-Net options; ``width``, ``view_size``,
    ``prior_patch``, ``guide_radius``, ``guide_eps``, ``detail_radius``, ``detail_eps``, ``global_head`` are options of
    the guided generator (``in_channels`` is its channel count).
    """

    arch: str = "guided"
    in_channels: int = 1
    out_channels: int = 1
    base_width: int = 8
    depth: int = 4
    residual: bool = True
    norm: str = "batch"
    head: str = "image"
    width: int = 32
    view_size: int = 48
    prior_patch: int = 5
    guide_radius: int = 1
    guide_eps: float = 1e-3
    detail_radius: int = 2
    detail_eps: float = 1e-4
    global_head: bool = True


# Allowed values of every ModelConfig field, checked by validate_model_config before a generator is allocated, so a
# config or checkpoint from elsewhere cannot ask for an absurd model. Ranges are inclusive and far above any useful
# size, yet keep the largest model allowed below about 200 MB of weights.
MODEL_CHOICES: dict[str, tuple[Any, ...]] = {
    "arch": ("guided", "unet"),
    "in_channels": (1, 3),
    "out_channels": (1, 3),
    "residual": (True, False),
    "norm": ("batch", "instance", "none"),
    "head": ("image", "asm"),
    "global_head": (True, False),
}
MODEL_RANGES: dict[str, tuple[float, float]] = {
    "base_width": (1, 64),
    "depth": (1, 6),
    "width": (1, 128),
    "view_size": (4, 1024),
    "prior_patch": (1, 63),  # and odd
    "guide_radius": (0, 64),
    "guide_eps": (1e-9, 1.0),
    "detail_radius": (0, 16),
    "detail_eps": (0.0, 1.0),
}


def _model_field_error(name: str, value: Any, expected: type) -> str | None:
    """Why ``value`` is not allowed for ``ModelConfig.<name>`` (whose default has type ``expected``), or None."""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    kinds = {bool: "true/false", int: "an integer", float: "a number", str: "a string"}
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    type_ok = {bool: isinstance(value, bool), int: is_number and isinstance(value, int), float: is_number}
    if not type_ok.get(expected, isinstance(value, expected)):
        return f"model.{name}: expected {kinds.get(expected, expected.__name__)}, got {shown}"
    if name in MODEL_CHOICES and value not in MODEL_CHOICES[name]:
        allowed = ", ".join(str(choice) for choice in MODEL_CHOICES[name])
        return f"model.{name}: {shown} is not one of {allowed}"
    if name in MODEL_RANGES:
        low, high = MODEL_RANGES[name]
        if not low <= value <= high:  # also False for NaN
            return f"model.{name}: {shown} is outside the allowed range [{low:g}, {high:g}]"
    return None


def validate_model_config(cfg: ModelConfig) -> None:
    """Check types, ranges (``MODEL_CHOICES``, ``MODEL_RANGES``) and cross-field rules of a generator config.

    Raises :class:`~dehaze.errors.ConfigError` (a ``DehazeError`` and a ``ValueError``) naming the field and what
    is allowed; cheap, and meant to run before any model is allocated.
    """
    defaults = ModelConfig()
    for item in dataclasses.fields(ModelConfig):
        problem = _model_field_error(item.name, getattr(cfg, item.name), type(getattr(defaults, item.name)))
        if problem:
            raise ConfigError(problem)
    if cfg.prior_patch % 2 == 0:
        raise ConfigError(f"model.prior_patch: must be odd, got {cfg.prior_patch}")
    if cfg.in_channels != cfg.out_channels and (cfg.arch == "guided" or cfg.head == "asm"):
        raise ConfigError(
            f"model.in_channels ({cfg.in_channels}) must equal model.out_channels ({cfg.out_channels}) for "
            + ("the guided generator" if cfg.arch == "guided" else "the U-Net's asm head")
        )


@dataclass
class HazeConfig:
    """Training haze made on the fly from clean photos (``--clean``): every sample draws a depth layout from
    ``families`` (comma-separated names of :data:`dehaze.depth.DEPTH_FAMILIES`) and each value uniformly from its
    range. ``near`` is the depth of the nearest point as a fraction of the farthest (haze in front of everything);
    ``nonhomogeneous`` the strength of a smooth β field; ``brightness``/``gamma`` darken the scene itself
    (``J' = brightness · J^gamma``, also the target); noise is added to the hazy image, then JPEG (4:2:0 chroma)."""

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
        raise ConfigError(f"haze.families: {cfg.families!r} must name one or more of {', '.join(DEPTH_FAMILIES)}")
    for name, (low, high) in HAZE_RANGES.items():
        lo, hi = getattr(cfg, name)
        if not low <= lo <= hi <= high:  # also False for NaN
            raise ConfigError(f"haze.{name}: [{lo}, {hi}] must be ordered and inside [{low:g}, {high:g}]")
    if not 0.0 <= cfg.jpeg_probability <= 1.0:
        raise ConfigError(f"haze.jpeg_probability: {cfg.jpeg_probability} is outside [0, 1]")


@dataclass
class CriticConfig:
    """Spatial PatchGAN + frequency critic, averaged with ``spatial_weight`` (λ)."""

    spatial_weight: float = 0.5
    spatial_width: int = 32
    spatial_layers: int = 3
    frequency_width: int = 12
    cutoffs: tuple[float, float] = (0.1, 0.4)
    use_phase: bool = False
    use_condition: bool = True
    spectral_norm: bool = True


@dataclass
class LossConfig:
    """Weights of every generator and critic loss term (0 disables a term)."""

    adversarial: str = "lsgan"
    adversarial_weight: float = 1.0
    l1_weight: float = 100.0
    ssim_weight: float = 0.0
    spectral_weight: float = 0.0
    focal_frequency_weight: float = 0.0
    frequency_extra_weight: float = 0.5
    r1_weight: float = 0.0
    feature_matching_weight: float = 0.0


@dataclass
class TrainConfig:
    """Data, optimisation and logging."""

    data: str | None = None
    clean_data: str | None = None
    val_data: str | None = None
    test_data: str | None = None
    device: str = "auto"
    steps: int = 2000
    batch_size: int = 12
    patch_size: int = 128
    lr_generator: float = 3e-4
    lr_critic: float = 2e-4
    lr_schedule: str = "cosine"
    warmup_steps: int = 100
    ema_decay: float = 0.999
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    num_workers: int = 2
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    val_max_images: int = 32
    log_every: int = 10
    sample_every: int = 200
    val_every: int = 200
    checkpoint_every: int = 100
    amp: bool = True
    skip_bad: bool = False
    gan_start_step: int = 0
    fid: bool = True
    save_rank_weights: bool = False


@dataclass
class Config:
    """Everything a training run needs; saved as ``config.yaml`` in the run dir."""

    model: ModelConfig = field(default_factory=ModelConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    haze: HazeConfig = field(default_factory=HazeConfig)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        config = cls()
        for section, values in (data or {}).items():
            if not hasattr(config, section):
                raise DehazeError(f"unknown config section '{section}' (expected model, critic, loss, train, haze)")
            for key, value in (values or {}).items():
                set_option(config, f"{section}.{key}", value)
        return config

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> Config:
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise DehazeError(f"{path}: cannot read config: {exc}") from None
        if data is not None and not isinstance(data, dict):
            raise DehazeError(f"{path}: config must be a mapping of sections")
        return cls.from_dict(data or {})


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _coerce(raw: Any, current: Any, name: str) -> Any:
    """Convert ``raw`` (YAML value or string) to the type of the current value."""
    if isinstance(raw, str) and not isinstance(current, str):
        try:
            raw = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise DehazeError(f"{name}: cannot parse value '{raw}'") from None
    if current is None or raw is None:
        return raw
    if isinstance(current, bool):
        if not isinstance(raw, bool):
            raise DehazeError(f"{name}: expected true/false, got '{raw}'")
        return raw
    if isinstance(current, tuple):
        if not isinstance(raw, list | tuple) or len(raw) != len(current):
            raise DehazeError(f"{name}: expected {len(current)} values like [a, b], got '{raw}'")
        return tuple(_coerce(r, c, name) for r, c in zip(raw, current, strict=True))
    if isinstance(current, int | float) and isinstance(raw, str):
        try:  # YAML 1.1 reads "1e-5" (no dot) as a string
            raw = float(raw)
        except ValueError:
            pass
    if isinstance(current, int | float) and not isinstance(raw, int | float):
        raise DehazeError(f"{name}: expected a number, got '{raw}'")
    return type(current)(raw)


def set_option(config: Config, dotted: str, value: Any) -> None:
    """Set ``section.key`` (e.g. ``loss.l1_weight``) with type checking."""
    section_name, _, key = dotted.partition(".")
    section = getattr(config, section_name, None)
    if section is None or not dataclasses.is_dataclass(section) or not key:
        raise DehazeError(f"unknown option '{dotted}' (use section.key, sections: model, critic, loss, train, haze)")
    if key not in {f.name for f in dataclasses.fields(section)}:
        known = ", ".join(f.name for f in dataclasses.fields(section))
        raise DehazeError(f"unknown option '{dotted}'; {section_name} has: {known}")
    setattr(section, key, _coerce(value, getattr(section, key), dotted))


def apply_overrides(config: Config, overrides: list[str]) -> None:
    """Apply ``--set section.key=value`` strings."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise DehazeError(f"--set expects section.key=value, got '{item}'")
        set_option(config, key.strip(), value.strip())
