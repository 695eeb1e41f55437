"""NIQE and BRISQUE against their reference packages on fixed images, and the luminance and crushed-share rows."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import skimage
from PIL import Image

from dehaze.metrics.niqe import half_size, niqe
from dehaze.metrics.perceptual import (
    brisque_available,
    brisque_score,
    crushed_change,
    crushed_share,
    luminance_change,
    niqe_score,
)

# The reference packages' values for the images of fixed_images(): NIQE from BasicSR 1.4.2,
# basicsr.metrics.niqe.calculate_niqe(image[..., ::-1], 0) (BGR, as it expects); BRISQUE from the unpatched brisque
# 0.2.0 package, BRISQUE(url=False).score(image), on numpy 2.3.5 (on numpy >= 2.4 its score() raises). Each is
# computed live instead when the package can do it here.
RECORDED_NIQE = {"astronaut": 4.527086819054257, "foggy_coffee": 8.435913392922055, "black_fog": 12.41024868957708}
RECORDED_BRISQUE = {
    "astronaut": 7.2435471683167805,
    "foggy_coffee": 14.543568589625096,
    "black_fog": 48.022659368679314,
}


def fixed_images() -> dict[str, np.ndarray]:
    """Three 8-bit 192×288 RGB images from the photos inside scikit-image: a clear one, a foggy one and the foggy one
    with its dark channel subtracted and a corner crushed to black (flat blocks, whose NIQE features are NaN)."""
    folder = Path(skimage.__file__).resolve().parent / "data"
    astronaut = np.asarray(Image.open(folder / "astronaut.png").convert("RGB"))[96:288, 160:448]
    coffee = np.asarray(Image.open(folder / "coffee.png").convert("RGB"))[100:292, 150:438].astype(np.float32) / 255
    foggy = 0.45 * coffee + 0.55 * 0.85
    black_fog = np.clip(foggy - 0.95 * foggy.min(axis=2, keepdims=True), 0, 1)
    black_fog[:100, :120] = 0.0
    return {
        "astronaut": astronaut,
        "foggy_coffee": np.round(foggy * 255).astype(np.uint8),
        "black_fog": np.round(black_fog * 255).astype(np.uint8),
    }


def _basicsr_niqe(monkeypatch):
    """BasicSR's NIQE, or None where BasicSR is not installed (it is no dependency: see docs/evaluation_real.md)."""
    try:  # BasicSR 1.4.2 imports a torchvision module that is private now
        import torchvision.transforms._functional_tensor as functional_tensor
    except ImportError:
        functional_tensor = None
    if functional_tensor is not None and "torchvision.transforms.functional_tensor" not in sys.modules:
        monkeypatch.setitem(sys.modules, "torchvision.transforms.functional_tensor", functional_tensor)
    try:
        from basicsr.metrics.niqe import calculate_niqe
    except ImportError:
        return None
    return lambda rgb: calculate_niqe(rgb[..., ::-1], 0)


def _package_brisque():
    """The brisque package's own score() where it runs unpatched here (numpy < 2.4), else None."""
    from brisque import BRISQUE

    model = BRISQUE(url=False)
    try:
        model.score(fixed_images()["astronaut"])
    except TypeError:
        return None
    return model.score


@pytest.mark.parametrize("name", list(RECORDED_NIQE))
def test_niqe_matches_basicsr_on_fixed_images(name: str, monkeypatch) -> None:
    image = fixed_images()[name]
    reference = _basicsr_niqe(monkeypatch)
    expected = RECORDED_NIQE[name] if reference is None else reference(image)
    assert niqe(image) == pytest.approx(expected, abs=1e-3)  # float32 rounding of the half-size image
    assert niqe_score(image.astype(np.float32) / 255) == pytest.approx(niqe(image), abs=1e-12)


@pytest.mark.skipif(not brisque_available(), reason="brisque is not installed (pip install -e '.[metrics]')")
@pytest.mark.parametrize("name", list(RECORDED_BRISQUE))
def test_brisque_matches_the_brisque_package_on_fixed_images(name: str) -> None:
    image = fixed_images()[name]
    reference = _package_brisque()
    expected = RECORDED_BRISQUE[name] if reference is None else reference(image)
    assert brisque_score(image.astype(np.float32) / 255) == pytest.approx(expected, abs=1e-6)


def test_half_size_is_matlab_imresize_of_a_ramp_and_niqe_needs_two_textured_blocks() -> None:
    ramp = np.tile(np.arange(16, dtype=np.float32), (4, 1))
    half = half_size(ramp)
    assert half.shape == (2, 8) and half[0] == pytest.approx(np.arange(0.5, 16, 2), abs=0.1)
    assert half[0, 2:6] == pytest.approx([4.5, 6.5, 8.5, 10.5], abs=1e-5)  # away from the mirrored edges: exact
    assert niqe(np.zeros((96, 150, 3), np.uint8)) is None  # one block: no covariance
    assert niqe(np.zeros((192, 288, 3), np.uint8)) is None  # black: no shape to fit, NIQE is undefined


def test_crushed_share_counts_pixels_black_in_every_channel() -> None:
    image = np.full((4, 5, 3), 0.5, np.float32)
    image[0, :4] = 3 / 255  # four pixels black in every channel
    image[1, 0] = (3 / 255, 3 / 255, 0.8)  # one channel left: not crushed
    image[1, 1] = 4 / 255  # at the threshold: not crushed
    assert crushed_share(image) == pytest.approx(20.0)
    assert crushed_share(image[..., 0]) == pytest.approx(25.0)  # gray: its one value (the mixed pixel's is 3/255)
    brighter = np.full_like(image, 0.5)
    assert crushed_change(image, brighter) == pytest.approx(20.0) and crushed_change(brighter, image) == -20.0


def test_luminance_change_is_output_minus_input() -> None:
    hazy = np.random.default_rng(0).uniform(0.4, 0.9, (12, 10, 3)).astype(np.float32)
    mean_luminance = float((hazy @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
    assert luminance_change(hazy * 0.5, hazy) == pytest.approx(-0.5 * mean_luminance, rel=1e-5)
    assert luminance_change(hazy, hazy) == 0.0
