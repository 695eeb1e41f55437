"""Where dehaze keeps files it builds once and reuses (default data, mapped FID weights)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$DEHAZE_CACHE``, else ``$XDG_CACHE_HOME/dehaze``, else ``~/.cache/dehaze``."""
    if os.environ.get("DEHAZE_CACHE"):
        return Path(os.environ["DEHAZE_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dehaze"
