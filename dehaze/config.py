"""Dataclass configuration for models, losses and training, with YAML and ``key=value`` overrides."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dehaze.atomic import atomic_write_text
from dehaze.defaults import DEPTH_FAMILY_NAMES as DEPTH_FAMILIES
from dehaze.errors import ConfigError, DehazeError


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


def shorten(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line messages about values from untrusted files."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_error(label: str, value: Any, default: Any, choices: tuple | None, bounds: tuple | None) -> str | None:
    """Why ``value`` is not allowed for the option ``label`` (whose default is ``default``), or None.

    The type must be the default's (a path option, default None, takes text); tuples are checked item by item.
    """
    if isinstance(default, tuple):
        if not isinstance(value, tuple) or len(value) != len(default):
            return f"{label}: expected {len(default)} values like [a, b], got {shorten(value)}"
        problems = [_field_error(label, item, base, choices, bounds) for item, base in zip(value, default, strict=True)]
        return next((problem for problem in problems if problem), None)
    expected = str if default is None else type(default)
    if default is None and value is None:
        return None
    kinds = {bool: "true/false", int: "an integer", float: "a number", str: "text"}
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    type_ok = {bool: isinstance(value, bool), int: is_number and isinstance(value, int), float: is_number}
    if not type_ok.get(expected, isinstance(value, expected)):
        return f"{label}: expected {kinds.get(expected, expected.__name__)}, got {shorten(value)}"
    if choices is not None and value not in choices:
        return f"{label}: {shorten(value)} is not one of {', '.join(str(choice) for choice in choices)}"
    if bounds is not None and not bounds[0] <= value <= bounds[1]:  # also False for NaN
        return f"{label}: {shorten(value)} is outside the allowed range [{bounds[0]:g}, {bounds[1]:g}]"
    return None


def check_section(section: str, cfg: Any, choices: dict[str, tuple], ranges: dict[str, tuple]) -> None:
    """Check every field of one config dataclass against its choices/ranges table; ConfigError for the first bad one."""
    defaults = type(cfg)()
    for item in dataclasses.fields(cfg):
        problem = _field_error(
            f"{section}.{item.name}",
            getattr(cfg, item.name),
            getattr(defaults, item.name),
            choices.get(item.name),
            ranges.get(item.name),
        )
        if problem:
            raise ConfigError(problem)


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
    scene_weight: float = 100.0  # L1 on whole scenes (train.scene_batch > 0; dehaze/train/scene_branch.py)


@dataclass
class TrainConfig:
    """Data, optimisation and logging."""

    data: str | None = None
    clean_data: str | None = None
    shards: str | None = None  # WebDataset tar shards: a folder, a brace pattern or URLs
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
    keep_every: int = 0  # also keep the weights of every N-th step as kept/stepNNNNNN.safetensors (0 = off)
    amp: bool = True
    cpu_bf16: bool = False  # bfloat16 autocast on the CPU (AVX-512 BF16 / AMX); off by default
    skip_bad: bool = False
    gan_start_step: int = 0
    fid: bool = True
    save_rank_weights: bool = False
    init_weights: str | None = None
    scene_batch: int = 0  # whole training photos per step, beside the crops (0 = off; dehaze/train/scene_branch.py)
    scene_size: int = 96  # short side of a whole scene (a 4:3 frame); 2 × the 48-px view


ADVERSARIAL_KINDS = ("vanilla", "lsgan", "hinge")
_BIG = 10**9  # "any number of steps"
# Allowed values of every critic, loss and training option (ranges inclusive), checked by validate_config before
# any data is read or model built. Path and device options are checked where they are used (clear messages there).
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
LOSS_CHOICES: dict[str, tuple] = {"adversarial": ADVERSARIAL_KINDS}
LOSS_RANGES: dict[str, tuple] = {
    name: (0.0, 1e6)
    for name in (
        "adversarial_weight",
        "l1_weight",
        "ssim_weight",
        "spectral_weight",
        "focal_frequency_weight",
        "frequency_extra_weight",
        "r1_weight",
        "feature_matching_weight",
        "scene_weight",
    )
}
TRAIN_CHOICES: dict[str, tuple] = {"lr_schedule": ("constant", "cosine")}
TRAIN_RANGES: dict[str, tuple] = {
    "steps": (1, _BIG),
    "batch_size": (1, 1024),
    "patch_size": (16, 2048),
    "lr_generator": (0.0, 1.0),
    "lr_critic": (0.0, 1.0),
    "warmup_steps": (0, _BIG),
    "ema_decay": (0.0, 0.99999),  # 0 disables the average; 1 would never move
    "betas": (0.0, 0.99999),
    "seed": (0, 2**32 - 1),
    "num_workers": (0, 64),
    "val_fraction": (0.0, 0.9),
    "test_fraction": (0.0, 0.9),  # and val_fraction + test_fraction <= 0.9
    "val_max_images": (1, 100_000),
    "log_every": (1, _BIG),
    "sample_every": (1, _BIG),
    "val_every": (1, _BIG),
    "checkpoint_every": (1, _BIG),
    "keep_every": (0, _BIG),
    "gan_start_step": (0, _BIG),
    "scene_batch": (0, 4096),
    "scene_size": (8, 2048),
}


@dataclass
class RealHazeConfig:
    """Semi-supervised branch on real hazy photos with no ground truth (``--real-hazy PHOTOS``).

    Every training step also dehazes ``batch_size`` crops of real hazy photos and updates the generator on: an
    unconditional dual critic's verdict (clean photos are its "real"; ``spatial_weight`` is its λ, 0 weight =
    no critic), ``teacher`` (L1 to the model it started from, so the branch cannot wander off), ``rehaze``
    (the output must be explained by the scattering model with one airlight per photo), ``dark_channel`` (the
    output's dark channel energy, as haze-free photos have), ``transmission_tv`` (smooth transmission),
    ``below_zero`` (output pushed below 0 before the clamp) and ``light_consistency`` (the same light change for a
    photo shifted by a few pixels with sensor noise).
    """

    photos: str | None = None
    batch_size: int = 6
    adversarial_weight: float = 1.0
    spatial_weight: float = 0.5
    teacher_weight: float = 20.0
    rehaze_weight: float = 100.0
    dark_channel_weight: float = 1.0
    transmission_tv_weight: float = 1.0
    below_zero_weight: float = 0.0
    light_consistency_weight: float = 0.0
    max_side: int = 640


REAL_RANGES: dict[str, tuple] = {
    "batch_size": (1, 4096),
    "adversarial_weight": (0.0, 1e6),
    "spatial_weight": (0.0, 1.0),
    "teacher_weight": (0.0, 1e6),
    "rehaze_weight": (0.0, 1e6),
    "dark_channel_weight": (0.0, 1e6),
    "transmission_tv_weight": (0.0, 1e6),
    "below_zero_weight": (0.0, 1e6),
    "light_consistency_weight": (0.0, 1e6),
    "max_side": (16, 1 << 16),
}


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
                expected = "model, critic, loss, train, haze, real"
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


MAX_CONFIG_BYTES = 1 << 20
MAX_YAML_DEPTH = 32  # a config nests 3 levels; PyYAML's composer recurses once per level (1000 → RecursionError)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases (a few hundred bytes of nested aliases expand to gigabytes) and at most
    :data:`MAX_YAML_DEPTH` levels deep."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not allowed in configs", mark)
        if self.depth >= MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` without aliases; DehazeError with a short message for bad YAML."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: no Python objects
    except yaml.YAMLError as exc:
        raise DehazeError(f"invalid YAML: {str(exc).splitlines()[0][:200]}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tag's constructor refusing its text, e.g. "!!int 3.5"
        raise DehazeError(f"invalid YAML value: {str(exc).splitlines()[0][:200]}") from None


def _coerce(raw: Any, current: Any, name: str) -> Any:
    """Convert ``raw`` (YAML value or string) to the type of the current value; ConfigError when it cannot."""
    if isinstance(raw, str) and not isinstance(current, str):
        try:
            raw = parse_yaml(raw)
        except DehazeError:
            raise ConfigError(f"{name}: cannot parse value {shorten(raw)}") from None
    if current is None:
        if raw is not None and not isinstance(raw, str):
            raise ConfigError(f"{name}: expected a path (text), got {shorten(raw)}")
        return raw
    if raw is None:
        raise ConfigError(f"{name}: expected a value, got null")
    if isinstance(current, str) and not isinstance(raw, str):
        raise ConfigError(f"{name}: expected text, got {shorten(raw)}")
    if isinstance(current, bool):
        if not isinstance(raw, bool):
            raise ConfigError(f"{name}: expected true/false, got {shorten(raw)}")
        return raw
    if isinstance(current, tuple):
        if not isinstance(raw, list | tuple) or len(raw) != len(current):
            raise ConfigError(f"{name}: expected {len(current)} values like [a, b], got {shorten(raw)}")
        return tuple(_coerce(r, c, name) for r, c in zip(raw, current, strict=True))
    if isinstance(current, int | float) and isinstance(raw, str):
        try:  # YAML 1.1 reads "1e-5" (no dot) as a string
            raw = float(raw)
        except ValueError:
            pass
    if isinstance(current, int | float) and (not isinstance(raw, int | float) or isinstance(raw, bool)):
        raise ConfigError(f"{name}: expected a number, got {shorten(raw)}")
    if isinstance(current, int) and not (isinstance(raw, int) or (math.isfinite(raw) and raw.is_integer())):
        raise ConfigError(f"{name}: expected an integer, got {shorten(raw)}")
    return type(current)(raw)


def set_option(config: Config, dotted: str, value: Any) -> None:
    """Set ``section.key`` (e.g. ``loss.l1_weight``) with type checking."""
    section_name, _, key = dotted.partition(".")
    section = getattr(config, section_name, None)
    if section is None or not dataclasses.is_dataclass(section) or not key:
        sections = "model, critic, loss, train, haze, real"
        raise DehazeError(f"unknown option {shorten(dotted)} (use section.key, sections: {sections})")
    if key not in {f.name for f in dataclasses.fields(section)}:
        known = ", ".join(f.name for f in dataclasses.fields(section))
        raise DehazeError(f"unknown option {shorten(dotted)}; {section_name} has: {known}")
    setattr(section, key, _coerce(value, getattr(section, key), dotted))


def apply_overrides(config: Config, overrides: list[str]) -> None:
    """Apply ``--set section.key=value`` strings."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise DehazeError(f"--set expects section.key=value, got {shorten(item)}")
        set_option(config, key.strip(), value.strip())
