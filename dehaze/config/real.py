"""The ``real`` section: the semi-supervised branch on real hazy photos (``--real-hazy``), and its bounds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RealHazeConfig:
    """Semi-supervised branch on real hazy photos with no ground truth (``--real-hazy PHOTOS``).

    Every training step also dehazes ``batch_size`` crops of real hazy photos and updates the generator on: an
    unconditional dual critic's verdict (clean photos are its "real"; ``spatial_weight`` is its λ, 0 weight =
    no critic), ``teacher`` (L1 to the model it started from, so the branch cannot wander off), ``rehaze``
    (the output must be explained by the scattering model with one airlight per photo), ``dark_channel`` (the
    output's dark channel energy, as haze-free photos have), ``transmission_tv`` (smooth transmission),
    ``below_zero`` (output pushed below 0 before the clamp), ``light_consistency`` (the same light change for a
    photo shifted by a few pixels with sensor noise) and ``flat_detail`` (no more grain in flat regions than the
    teacher's output). ``teacher`` is the teacher's weights file (default: the weights the run starts from).
    """

    photos: str | None = None
    batch_size: int = 6
    adversarial_weight: float = 1.0
    spatial_weight: float = 0.5
    teacher_weight: float = 20.0
    teacher: str | None = None
    rehaze_weight: float = 100.0
    dark_channel_weight: float = 1.0
    transmission_tv_weight: float = 1.0
    below_zero_weight: float = 0.0
    light_consistency_weight: float = 0.0
    flat_detail_weight: float = 0.0
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
    "flat_detail_weight": (0.0, 1e6),
    "max_side": (16, 1 << 16),
}
