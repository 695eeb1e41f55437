"""Real-photo measures that darkening cannot win, and the one place that scores an output against its hazy input.

- **NIQE** (lower = more natural): :mod:`dehaze.metrics.niqe`, the published algorithm and pristine model, checked
  against BasicSR 1.4.2's implementation. None (left out of the means) for a photo with fewer than two whole
  96×96 blocks that have texture: a small or a wholly black one; the crushed share still counts the black.
- **BRISQUE** (lower = better, about 0–100): the ``brisque`` 0.2.0 package with its LIVE-trained model (the
  ``metrics`` extra, which ``dev`` includes). Without it the score is None.
- **Luminance change**: mean BT.601 luminance of the output minus that of the input, on a 0–1 scale. Dehazing
  removes airlight, so it is usually negative (DCP darkens); it is reported, not a target.
- **Crushed change**: the share of the output's pixels crushed to black minus the input's, in percentage points. A
  pixel is *crushed* when **every** channel of the 8-bit image is below 4 (of 255); for gray, its one value. A
  colour pixel with one channel left (a deep red) still carries detail and is not counted.

NIQE, BRISQUE and the crushed share are computed on the 8-bit image (rounded), as a saved output would be.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import numpy as np

from dehaze.color import luminance_array
from dehaze.metrics.niqe import niqe
from dehaze.metrics.no_reference import artefact_gain, fade_score

CRUSHED_BELOW = 4  # 8-bit level: a pixel is crushed when all its channels are below it
REAL_PHOTO_METRICS = ("fade", "artefact_gain", "niqe", "brisque", "luminance_change", "crushed_change")
BRISQUE_HINT = "pip install -e '.[metrics]' (brisque 0.2.0; builds libsvm-official, needs g++)"


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """An H×W, H×W×1 or H×W×3 image in [0, 1] as 8-bit H×W×3 RGB (rounded; gray repeated)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def niqe_score(image: np.ndarray) -> float | None:
    """NIQE of an image in [0, 1]; None when fewer than two 96×96 blocks have texture."""
    return niqe(to_uint8_rgb(image))


@cache
def _brisque_model() -> Any:
    """The ``brisque`` package's scorer with its bundled LIVE model, loaded once; None without the package."""
    try:
        with warnings.catch_warnings():  # it imports the deprecated scipy.ndimage.filters namespace
            warnings.simplefilter("ignore", DeprecationWarning)
            from brisque import BRISQUE
    except ImportError:
        return None

    class _Brisque(BRISQUE):
        """brisque 0.2.0 whose features reach ``scale_features`` as plain floats: some are one-element arrays,
        which numpy ≥ 2.4 no longer turns into floats there."""

        def scale_features(self, features):
            return super().scale_features([np.asarray(f, dtype=np.float64).item() for f in features])

    return _Brisque(url=False)


def brisque_available() -> bool:
    return _brisque_model() is not None


def brisque_score(image: np.ndarray) -> float | None:
    """BRISQUE of an image in [0, 1] (scored as 8-bit RGB, as the package expects); None without ``brisque``."""
    model = _brisque_model()
    return None if model is None else float(model.score(to_uint8_rgb(image)))


def luminance_change(output: np.ndarray, hazy: np.ndarray) -> float:
    """Mean luminance of ``output`` minus that of ``hazy`` (0–1 scale; negative = darker)."""
    return float(luminance_array(output).mean() - luminance_array(hazy).mean())


def crushed_share(image: np.ndarray) -> float:
    """Percentage of pixels whose every 8-bit channel is below ``CRUSHED_BELOW``."""
    return float(100.0 * np.mean(to_uint8_rgb(image).max(axis=2) < CRUSHED_BELOW))


def crushed_change(output: np.ndarray, hazy: np.ndarray) -> float:
    """Crushed share of ``output`` minus that of ``hazy``, in percentage points."""
    return crushed_share(output) - crushed_share(hazy)


def real_photo_scores(output: np.ndarray, hazy: np.ndarray) -> dict[str, float | None]:
    """Every no-reference score of one output against its hazy input (keys: ``REAL_PHOTO_METRICS``)."""
    return {
        "fade": fade_score(output),
        "artefact_gain": artefact_gain(output, hazy),
        "niqe": niqe_score(output),
        "brisque": brisque_score(output),
        "luminance_change": luminance_change(output, hazy),
        "crushed_change": crushed_change(output, hazy),
    }
