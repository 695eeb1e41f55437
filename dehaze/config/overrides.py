"""The tools' ``--set section.key=value`` strings, applied to a :class:`~dehaze.config.loader.Config` one by one
(each through :func:`~dehaze.config.loader.set_option`, with the type of the option's current value)."""

from __future__ import annotations

from dehaze.config.checks import shorten
from dehaze.config.loader import Config, set_option
from dehaze.errors import DehazeError


def apply_overrides(config: Config, overrides: list[str]) -> None:
    """Apply ``--set section.key=value`` strings."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise DehazeError(f"--set expects section.key=value, got {shorten(item)}")
        set_option(config, key.strip(), value.strip())
