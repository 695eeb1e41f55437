"""One raw option value (YAML, or the text of ``--set``) converted to the type of the option's current value."""

from __future__ import annotations

import math
from typing import Any

from dehaze.config.checks import shorten
from dehaze.config.yaml_reader import parse_yaml
from dehaze.errors import ConfigError, DehazeError


def coerce(raw: Any, current: Any, name: str) -> Any:
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
        return tuple(coerce(r, c, name) for r, c in zip(raw, current, strict=True))
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
