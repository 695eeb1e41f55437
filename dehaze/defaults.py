"""Option choices and defaults that the command-line parsers show, free of heavy imports.

The tools read their arguments before torch, kornia or scipy are imported, so ``--help``, ``--version`` and
argument errors answer at once; the library modules take these values from here.
"""

from __future__ import annotations

from dehaze.errors import DehazeError

COLOR_MODES: tuple[str, ...] = ("auto", "gray", "luminance", "per-channel")
# 60 MP: photos up to 60 MP; dehaze-infer needs about 35 bytes per colour pixel (~2.1 GB at the limit).
DEFAULT_MAX_PIXELS = 60_000_000
RESIDE_BETA = (0.6, 1.8)  # scattering coefficient range of RESIDE-like synthetic haze (depth in [0, 1])
RESIDE_AIRLIGHT = (0.7, 1.0)  # atmospheric light range of RESIDE
# --strength: 0 = input unchanged, 1 = the model's output, above 1 more haze removed (the model's maps iterated)
STRENGTH_RANGE = (0.0, 2.0)
BOOTSTRAP_DRAWS = 200  # resamples for the ± next to every FID
# Names of the depth layouts of dehaze.depth.DEPTH_FAMILIES (haze.families), so a config is checked without scipy.
DEPTH_FAMILY_NAMES: tuple[str, ...] = ("outdoor", "segments", "room", "street")


def check_strength_range(strength: float) -> None:
    """``strength`` inside :data:`STRENGTH_RANGE` (NaN is not), else a one-line DehazeError."""
    low, high = STRENGTH_RANGE
    if not low <= strength <= high:
        raise DehazeError(f"--strength must be in [{low:g}, {high:g}] (1 = the model's output), got {strength}")
