"""Dark channel prior: filters against brute force, shapes, and real dehazing of a synthetic hazy photo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data
from skimage.transform import resize

from dehaze import dcp
from dehaze.color import luminance
from dehaze.dcp import (
    atmospheric_light,
    box_mean,
    dark_channel,
    dark_channel_prior,
    dark_channel_prior_tensor,
    guided_filter,
    min_filter,
)
from dehaze.errors import DehazeError
from dehaze.haze import add_haze

AIRLIGHT = 0.9


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def hazy_photo(gray: bool) -> tuple[np.ndarray, np.ndarray]:
    """Astronaut (160×160) with haze growing left → right and top → bottom, constant airlight."""
    clean = resize(data.astronaut(), (160, 160), anti_aliasing=True).astype(np.float32)
    if gray:
        clean = clean @ np.array([0.299, 0.587, 0.114], np.float32)
    ys, xs = np.mgrid[0:160, 0:160] / 159.0
    depth = (0.6 * xs + 0.4 * ys).astype(np.float32)
    return clean, add_haze(clean, depth, beta=1.5, airlight=AIRLIGHT)


@pytest.mark.parametrize("size", [1, 3, 7, 15])
def test_min_filter_matches_max_pool(size: int) -> None:
    x = torch.rand(2, 1, 23, 37)
    expected = -F.max_pool2d(-x, size, stride=1, padding=size // 2)
    assert torch.equal(min_filter(x, size), expected)


def test_dark_channel_is_min_over_channels_and_patch() -> None:
    x = torch.rand(1, 3, 12, 10)
    dark = dark_channel(x, patch=3)
    for i, j in [(0, 0), (5, 4), (11, 9)]:
        window = x[0, :, max(0, i - 1) : i + 2, max(0, j - 1) : j + 2]
        assert dark[0, 0, i, j] == window.min()
    with pytest.raises(DehazeError):
        dark_channel(x, patch=4)


@pytest.mark.parametrize("radius", [0, 2, 60])  # 60 > image size: window clipped to the image
def test_box_mean_matches_brute_force(radius: int) -> None:
    x = torch.rand(1, 1, 17, 23)
    expected = torch.empty_like(x)
    for i in range(17):
        for j in range(23):
            window = x[0, 0, max(0, i - radius) : i + radius + 1, max(0, j - radius) : j + radius + 1]
            expected[0, 0, i, j] = window.mean()
    assert torch.allclose(box_mean(x, radius), expected, atol=1e-5)


def test_atmospheric_light_found_in_dense_haze() -> None:
    clean, hazy = hazy_photo(gray=False)
    tensor = torch.from_numpy(hazy.transpose(2, 0, 1))[None]
    light = atmospheric_light(tensor, dark_channel(tensor))
    assert torch.allclose(light.flatten(), torch.full((3,), AIRLIGHT), atol=0.08)


@pytest.mark.parametrize("gray", [False, True])
def test_dcp_recovers_clean_image_better_than_hazy_input(gray: bool) -> None:
    clean, hazy = hazy_photo(gray)
    dehazed = dark_channel_prior(hazy)
    assert dehazed.shape == hazy.shape and dehazed.dtype == np.float32
    assert dehazed.min() >= 0.0 and dehazed.max() <= 1.0
    assert psnr(dehazed, clean) > psnr(hazy, clean) + 3.0


@pytest.mark.parametrize("shape", [(23, 37), (23, 37, 1), (23, 37, 3), (1, 1, 3), (5, 200)])
def test_dcp_keeps_shape_for_any_size(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    result = dark_channel_prior(image)
    assert result.shape == shape
    assert np.isfinite(result).all()


def test_dcp_rejects_bad_shapes() -> None:
    with pytest.raises(DehazeError):
        dark_channel_prior(np.zeros((8, 8, 4), np.float32))


def whole_image_dcp(hazy: torch.Tensor, patch: int, radius: int, omega: float = 0.95, t0: float = 0.1) -> torch.Tensor:
    """The reference: every step of the prior on the whole image at once."""
    light = atmospheric_light(hazy, dark_channel(hazy, patch)).clamp(min=1e-3)
    transmission = 1.0 - omega * dark_channel(hazy / light, patch)
    if radius > 0:
        transmission = guided_filter(luminance(hazy), transmission, radius, 1e-3)
    return ((hazy - light) / transmission.clamp(min=t0) + light).clamp(0.0, 1.0)


@pytest.mark.parametrize("gray", [True, False])
@pytest.mark.parametrize("rows,patch,radius", [(1, 3, 8), (3, 5, 6), (40, 15, 60), (16, 7, 0)])
def test_strip_wise_prior_equals_whole_image(monkeypatch, gray: bool, rows: int, patch: int, radius: int) -> None:
    """Large images go in strips of rows with halos (2 × guided radius + patch // 2); strips thinner than the halo
    included, the result is the whole-image one, and the airlight is still the whole image's. (Float32 box sums
    differ in rounding: the whole-image result is itself only this close to a float64 computation.)"""
    _, hazy = hazy_photo(gray)
    hazy = hazy[:, :150]  # 160 rows × 150 columns: strips of ``rows`` rows
    tensor = torch.from_numpy(np.ascontiguousarray(hazy.reshape(160, 150, -1).transpose(2, 0, 1)))[None]
    expected = whole_image_dcp(tensor, patch, radius)
    monkeypatch.setattr(dcp, "STRIP_PIXELS", rows * 150)
    strips = dark_channel_prior(hazy, patch=patch, guided_radius=radius)  # the NumPy entry point, H×W×C strides
    assert strips.shape == hazy.shape
    result = torch.from_numpy(strips.reshape(160, 150, -1)).permute(2, 0, 1)[None]
    assert torch.allclose(result, expected, atol=2e-5)
    batch = torch.cat([tensor, tensor.flip(-1)])  # a batch of two, contiguous N×C×H×W
    assert torch.allclose(dark_channel_prior_tensor(batch, patch, guided_radius=radius)[:1], expected, atol=2e-5)


def test_prior_leaves_its_input_alone_and_clamps_out_of_range_values() -> None:
    image = np.random.default_rng(1).random((40, 30, 3), dtype=np.float32) * 1.4 - 0.2
    before = image.copy()
    result = dark_channel_prior(image)
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(result, dark_channel_prior(np.clip(image, 0.0, 1.0)))
