"""Spectrum helpers: values against numpy, masks, azimuthal binning, differentiability."""

import math

import numpy as np
import pytest
import torch

from dehaze.spectrum import (
    azimuthal_power_spectrum,
    default_bins,
    log_magnitude,
    normalized_radius,
    phase_features,
    radial_masks,
)


def _numpy_log_magnitude(x: np.ndarray) -> np.ndarray:
    spectrum = np.fft.fftshift(np.fft.fft2(x, norm="ortho"), axes=(-2, -1))
    mag = np.log1p(np.abs(spectrum))
    mean = mag.mean(axis=(-2, -1), keepdims=True)
    std = mag.std(axis=(-2, -1), keepdims=True)
    return (mag - mean) / std


@pytest.mark.parametrize("size", [(16, 16), (15, 9), (7, 12)])
def test_log_magnitude_matches_numpy_and_is_standardised(size: tuple[int, int]) -> None:
    x = torch.rand(3, 2, *size, generator=torch.Generator().manual_seed(0))
    out = log_magnitude(x)
    assert out.shape == x.shape and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), _numpy_log_magnitude(x.double().numpy()), atol=5e-4)
    assert torch.allclose(out.mean(dim=(-2, -1)), torch.zeros(3, 2), atol=1e-5)
    assert torch.allclose(out.std(dim=(-2, -1), correction=0), torch.ones(3, 2), atol=1e-4)


def test_log_magnitude_dc_is_at_centre() -> None:
    x = torch.rand(1, 1, 9, 10) + 1.0  # large mean → DC dominates
    out = log_magnitude(x)[0, 0]
    assert out.argmax().item() == (9 // 2) * 10 + 10 // 2


def test_phase_features_are_unit_cos_sin_of_numpy_angle() -> None:
    x = torch.rand(2, 3, 11, 8, generator=torch.Generator().manual_seed(1))
    out = phase_features(x)
    assert out.shape == (2, 6, 11, 8)
    cos, sin = out[:, :3], out[:, 3:]
    spectrum = np.fft.fftshift(np.fft.fft2(x.double().numpy(), norm="ortho"), axes=(-2, -1))
    angle, visible = np.angle(spectrum), np.abs(spectrum) > 1e-2  # |F| ≈ 0 is smoothed by an epsilon
    np.testing.assert_allclose(cos.numpy()[visible], np.cos(angle)[visible], atol=1e-4)
    np.testing.assert_allclose(sin.numpy()[visible], np.sin(angle)[visible], atol=1e-4)
    assert torch.all((cos.square() + sin.square()) <= 1.0 + 1e-5)


@pytest.mark.parametrize("size", [(32, 32), (37, 23), (5, 4)])
def test_radial_masks_partition_the_spectrum(size: tuple[int, int]) -> None:
    masks = radial_masks(*size, cutoffs=(0.1, 0.4))
    assert masks.shape == (3, *size)
    assert torch.equal(masks.sum(0), torch.ones(size))
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    h, w = size
    assert masks[0, h // 2, w // 2] == 1  # DC is low-pass
    assert masks[2, 0, 0] == 1  # the corner (highest frequency) is high-pass


def test_radial_mask_cutoffs_are_fractions_of_nyquist() -> None:
    radius = normalized_radius(32, 32)
    assert radius[16, 16] == 0 and radius[16, 0] == pytest.approx(1.0)  # horizontal Nyquist
    masks = radial_masks(32, 32, cutoffs=(0.25, 0.5))
    assert torch.equal(masks[0].bool(), radius < 0.25)
    assert torch.equal(masks[2].bool(), radius >= 0.5)
    assert masks[1].sum() > 0


@pytest.mark.parametrize("cutoffs", [(0.4, 0.1), (0.0, 0.5), (-0.1, 0.2)])
def test_radial_masks_reject_bad_cutoffs(cutoffs: tuple[float, float]) -> None:
    with pytest.raises(ValueError):
        radial_masks(8, 8, cutoffs)


def test_azimuthal_spectrum_of_constant_image_is_dc_only() -> None:
    x = torch.full((2, 1, 16, 16), 0.7)
    spectrum = azimuthal_power_spectrum(x)
    assert spectrum.shape == (2, default_bins(16, 16))
    assert spectrum[:, 0] == pytest.approx(0.7**2 * 16 * 16)  # orthonormal FFT: |F(0)|² = (sum x)² / HW
    assert torch.all(spectrum[:, 1:].abs() < 1e-6)


def test_azimuthal_spectrum_puts_a_cosine_in_its_radius_bin() -> None:
    rows = torch.arange(32.0)[:, None].expand(32, 32)
    x = torch.cos(2 * math.pi * 4 * rows / 32)[None, None]  # 4 cycles → radius 4 px = 0.25 Nyquist
    spectrum = azimuthal_power_spectrum(x, bins=23)
    expected_bin = round(0.25 / math.sqrt(2) * 22)
    assert spectrum[0].argmax().item() == expected_bin
    others = torch.cat([spectrum[0, :expected_bin], spectrum[0, expected_bin + 1 :]])
    assert torch.all(others < 1e-6)


def test_azimuthal_spectrum_keeps_parseval_energy() -> None:
    x = torch.rand(3, 2, 13, 10, dtype=torch.float64)
    from dehaze.spectrum import _bin_index

    bins = default_bins(13, 10)
    _, counts = _bin_index(13, 10, bins, torch.device("cpu"))
    total = (azimuthal_power_spectrum(x) * counts).sum(1)
    assert torch.allclose(total, x.square().sum(dim=(-2, -1)).mean(1))


def test_spectrum_functions_are_differentiable() -> None:
    x = torch.rand(1, 1, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: log_magnitude(t), (x,))
    assert torch.autograd.gradcheck(lambda t: phase_features(t), (x,))
    assert torch.autograd.gradcheck(lambda t: azimuthal_power_spectrum(t, bins=4), (x,))


def test_cached_constants_built_under_inference_mode_still_allow_training() -> None:
    with torch.inference_mode():  # first use of this size happens during evaluation
        azimuthal_power_spectrum(torch.rand(1, 1, 19, 17))
        radial_masks(19, 17, (0.2, 0.3))
    x = torch.rand(2, 1, 19, 17, requires_grad=True)
    (azimuthal_power_spectrum(x).sum() + (log_magnitude(x) * radial_masks(19, 17, (0.2, 0.3))).sum()).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
