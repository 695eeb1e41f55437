"""The whole configuration (:class:`Config`, one dataclass per section), its YAML file form, setting one option by
name (:func:`set_option`, for the file and for ``--set``), and the check of every option before any data is read or
model built."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dehaze.atomic import atomic_write_text
from dehaze.config.checks import check_section, shorten
from dehaze.config.coerce import coerce
from dehaze.config.critic import CRITIC_CHOICES, CRITIC_RANGES, CriticConfig
from dehaze.config.haze import HazeConfig, validate_haze_config
from dehaze.config.loss import LOSS_CHOICES, LOSS_RANGES, LossConfig
from dehaze.config.model import ModelConfig, validate_model_config
from dehaze.config.real import REAL_RANGES, RealHazeConfig
from dehaze.config.training import TRAIN_CHOICES, TRAIN_RANGES, TrainConfig
from dehaze.config.yaml_reader import parse_yaml
from dehaze.errors import ConfigError, DehazeError

MAX_CONFIG_BYTES = 1 << 20


@dataclass
class Config:
    """Everything a training run needs; saved as ``config.yaml`` in the run dir."""

    model: ModelConfig = field(default_factory=ModelConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    haze: HazeConfig = field(default_factory=HazeConfig)
    real: RealHazeConfig = field(default_factory=RealHazeConfig)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        config = cls()
        for section, values in (data or {}).items():
            if not isinstance(section, str) or not hasattr(config, section):
                expected = ", ".join(item.name for item in dataclasses.fields(config))
                raise DehazeError(f"unknown config section {shorten(section)} (expected {expected})")
            if values is not None and not isinstance(values, dict):
                raise DehazeError(f"config section '{section}' must be a mapping of options, got {shorten(values)}")
            for key, value in (values or {}).items():
                set_option(config, f"{section}.{key}", value)
        return config

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> Config:
        """Read a YAML config (at most :data:`MAX_CONFIG_BYTES`, UTF-8, no aliases); one-line errors name the file."""
        try:
            if Path(path).stat().st_size > MAX_CONFIG_BYTES:
                raise DehazeError(f"larger than {MAX_CONFIG_BYTES} bytes")
            data = parse_yaml(Path(path).read_bytes().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DehazeError(f"{path}: cannot read config: not UTF-8 text (byte {exc.start})") from None
        except (OSError, DehazeError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DehazeError(f"{path}: cannot read config: {detail}"[:300]) from None
        if data is not None and not isinstance(data, dict):
            raise DehazeError(f"{path}: config must be a mapping of sections")
        try:
            return cls.from_dict(data or {})
        except DehazeError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def set_option(config: Config, dotted: str, value: Any) -> None:
    """Set ``section.key`` (e.g. ``loss.l1_weight``) with type checking."""
    section_name, _, key = dotted.partition(".")
    section = getattr(config, section_name, None)
    if section is None or not dataclasses.is_dataclass(section) or not key:
        sections = ", ".join(item.name for item in dataclasses.fields(config))
        raise DehazeError(f"unknown option {shorten(dotted)} (use section.key, sections: {sections})")
    if key not in {f.name for f in dataclasses.fields(section)}:
        known = ", ".join(f.name for f in dataclasses.fields(section))
        raise DehazeError(f"unknown option {shorten(dotted)}; {section_name} has: {known}")
    setattr(section, key, coerce(value, getattr(section, key), dotted))


def validate_config(config: Config) -> None:
    """Every option of every section against its bounds table, and the cross-option rules; raises ConfigError.

    One line naming the option and what is allowed, before any data is read or model built.
    """
    validate_model_config(config.model)
    check_section("critic", config.critic, CRITIC_CHOICES, CRITIC_RANGES)
    check_section("loss", config.loss, LOSS_CHOICES, LOSS_RANGES)
    check_section("train", config.train, TRAIN_CHOICES, TRAIN_RANGES)
    validate_haze_config(config.haze)
    check_section("real", config.real, {}, REAL_RANGES)
    if config.real.photos and config.model.arch != "guided":
        raise ConfigError("real.photos (--real-hazy) needs the guided generator (model.arch=guided)")
    low, high = config.critic.cutoffs
    if not low < high:
        raise ConfigError(f"critic.cutoffs: [{low}, {high}] must be increasing (low-pass < high-pass cut-off)")
    if config.train.val_fraction + config.train.test_fraction > 0.9:
        raise ConfigError("train.val_fraction + train.test_fraction must be at most 0.9 (something must be trained on)")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
