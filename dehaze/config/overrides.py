"""Setting one option by name (``section.key``) from YAML or a ``--set section.key=value`` string, with the type of
the option's current value."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from dehaze.config.checks import shorten
from dehaze.config.yaml_reader import parse_yaml
from dehaze.errors import ConfigError, DehazeError

if TYPE_CHECKING:
    from dehaze.config.loader import Config


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
        sections = ", ".join(item.name for item in dataclasses.fields(config))
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
