"""Dataclass configuration for models, losses and training, with YAML and ``key=value`` overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dehaze.errors import DehazeError


@dataclass
class ModelConfig:
    """U-Net generator."""

    in_channels: int = 1
    out_channels: int = 1
    base_width: int = 8
    depth: int = 4
    residual: bool = True
    norm: str = "batch"
    head: str = "image"


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
    val_data: str | None = None
    test_data: str | None = None
    device: str = "auto"
    steps: int = 2000
    batch_size: int = 16
    patch_size: int = 64
    lr_generator: float = 2e-4
    lr_critic: float = 2e-4
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

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        config = cls()
        for section, values in (data or {}).items():
            if not hasattr(config, section):
                raise DehazeError(f"unknown config section '{section}' (expected model, critic, loss, train)")
            for key, value in (values or {}).items():
                set_option(config, f"{section}.{key}", value)
        return config

    def save(self, path: Path) -> None:
        from dehaze.checkpoint import atomic_write_text

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
        raise DehazeError(f"unknown option '{dotted}' (use section.key, sections: model, critic, loss, train)")
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
