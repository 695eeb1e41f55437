"""The whole-scene guided generator (:class:`GuidedGenerator`), one module a job:

- :mod:`.view`: the network's low-resolution view of the photo (its size, the resize);
- :mod:`.heads`: the network that reads the view (correction maps, global branch and head, image statistics);
- :mod:`.upsampling`: the view's affine maps applied at full resolution (bilinear coefficients, structure split);
- :mod:`.generator`: the model itself, from the dark channel prior's estimates to the dehazed photo.
"""

from dehaze.models.guided.generator import AIRLIGHT_FLOOR, LOG_A_RANGE, GuidedGenerator
from dehaze.models.guided.heads import (
    DARK_QUANTILES,
    HEAD_INIT_STD,
    CoefficientNet,
    image_statistics,
    image_statistics_count,
)
from dehaze.models.guided.upsampling import apply_coefficients, structure
from dehaze.models.guided.view import MAX_ASPECT, resize_to, view_size_for

__all__ = [
    "AIRLIGHT_FLOOR",
    "DARK_QUANTILES",
    "HEAD_INIT_STD",
    "LOG_A_RANGE",
    "MAX_ASPECT",
    "CoefficientNet",
    "GuidedGenerator",
    "apply_coefficients",
    "image_statistics",
    "image_statistics_count",
    "resize_to",
    "structure",
    "view_size_for",
]
