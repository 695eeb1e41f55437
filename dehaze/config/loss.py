"""The ``loss`` section: the weight of every generator and critic loss term, and their bounds."""

from __future__ import annotations

from dataclasses import dataclass


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


ADVERSARIAL_KINDS = ("vanilla", "lsgan", "hinge")
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
