"""The bounds check every config section goes through: an option's type, its allowed choices or its range, with a
one-line message naming the option."""

from __future__ import annotations

import dataclasses
from typing import Any

from dehaze.errors import ConfigError


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
