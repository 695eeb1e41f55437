"""Dataclass configuration for models, losses and training, with YAML and ``key=value`` overrides.

One module a section, each with its bounds: :mod:`.model`, :mod:`.critic`, :mod:`.loss`, :mod:`.training`,
:mod:`.haze`, :mod:`.real`; :mod:`.loader` holds :class:`Config` (the sections together, its YAML file,
:func:`set_option` and :func:`validate_config`), :mod:`.coerce` the conversion of one raw value to its option's
type, :mod:`.overrides` the ``--set`` parsing, :mod:`.yaml_reader` the safe YAML reader and :mod:`.checks` the
bounds check every section goes through. Every public name is importable from here.
"""

from dehaze.config.checks import check_section, shorten
from dehaze.config.critic import CRITIC_CHOICES, CRITIC_RANGES, CriticConfig
from dehaze.config.haze import HAZE_RANGES, HazeConfig, validate_haze_config
from dehaze.config.loader import MAX_CONFIG_BYTES, Config, set_option, validate_config
from dehaze.config.loss import ADVERSARIAL_KINDS, LOSS_CHOICES, LOSS_RANGES, LossConfig
from dehaze.config.model import (
    MODEL_CHOICES,
    MODEL_RANGES,
    GuidedConfig,
    ModelConfig,
    UNetConfig,
    validate_model_config,
)
from dehaze.config.overrides import apply_overrides
from dehaze.config.real import REAL_RANGES, RealHazeConfig
from dehaze.config.training import TRAIN_CHOICES, TRAIN_RANGES, TrainConfig
from dehaze.config.yaml_reader import MAX_YAML_DEPTH, parse_yaml

__all__ = [
    "ADVERSARIAL_KINDS",
    "CRITIC_CHOICES",
    "CRITIC_RANGES",
    "HAZE_RANGES",
    "LOSS_CHOICES",
    "LOSS_RANGES",
    "MAX_CONFIG_BYTES",
    "MAX_YAML_DEPTH",
    "MODEL_CHOICES",
    "MODEL_RANGES",
    "REAL_RANGES",
    "TRAIN_CHOICES",
    "TRAIN_RANGES",
    "Config",
    "CriticConfig",
    "GuidedConfig",
    "HazeConfig",
    "LossConfig",
    "ModelConfig",
    "RealHazeConfig",
    "TrainConfig",
    "UNetConfig",
    "apply_overrides",
    "check_section",
    "parse_yaml",
    "set_option",
    "shorten",
    "validate_config",
    "validate_haze_config",
    "validate_model_config",
]
