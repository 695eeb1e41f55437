"""Spectral detectability (Dzanic et al. 2020): tail power-law fit, CV classifier scores, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from dehaze.metrics.detectability import (
    MIN_SIZE,
    DetectabilityResult,
    FeatureCollector,
    detectability,
    detectability_from_features,
    spectral_features,
)


def _power_law_image(rng: np.random.Generator, height: int, width: int, alpha: float) -> np.ndarray:
    """Image in [0, 1] whose FFT magnitude is exactly ∝ 1/f^alpha, with random (white-noise) phase."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    radius = np.sqrt(fy**2 + fx**2)
    radius[0, 0] = 1.0
    amplitude = radius**-alpha
    amplitude[0, 0] = 0.0
    phase = np.angle(np.fft.fft2(rng.standard_normal((height, width))))  # Hermitian: the inverse FFT is real
    image = np.fft.ifft2(amplitude * np.exp(1j * phase)).real
    return (image - image.min()) / (image.max() - image.min())


def _natural_images(count: int, seed: int = 0) -> list[np.ndarray]:
    """Natural-ish images: 64–96 px sides, 1/f^α spectra with α drawn from [0.8, 1.6]."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        height, width = (int(v) for v in rng.integers(64, 97, size=2))
        images.append(_power_law_image(rng, height, width, rng.uniform(0.8, 1.6)))
    return images


@pytest.mark.parametrize("shape", [(96, 96), (80, 112), (65, 97)])
def test_tail_fit_recovers_the_decay_exponent(shape: tuple[int, int]) -> None:
    image = _power_law_image(np.random.default_rng(1), *shape, alpha=1.5)
    features = spectral_features(image)
    assert features.shape == (3,)
    assert features[0] == pytest.approx(-1.5, abs=0.05)
    assert np.all(np.isfinite(features))


def test_features_ignore_gain_and_take_luminance_of_colour() -> None:
    image = _power_law_image(np.random.default_rng(2), 72, 72, alpha=1.0)
    features = spectral_features(image)
    np.testing.assert_allclose(spectral_features(0.5 * image), features, atol=1e-9)
    np.testing.assert_allclose(spectral_features(np.dstack([image] * 3)), features, atol=1e-4)
    assert np.all(np.isfinite(spectral_features(np.zeros((64, 64)))))  # black image: floored logs, no crash
    with pytest.raises(ValueError, match="too small"):
        spectral_features(np.zeros((8, 8)))


def test_two_halves_of_one_process_are_indistinguishable() -> None:
    images = _natural_images(40)
    result = detectability(images[:20], images[20:])
    assert isinstance(result, DetectabilityResult)
    assert (result.n_real, result.n_fake, result.skipped) == (20, 20, 0)
    assert result.accuracy is not None and 0.3 <= result.accuracy <= 0.7
    assert result.std is not None and result.std >= 0.0
    assert "5-fold" in result.message


@pytest.mark.parametrize("classifier", ["knn", "svm", "mlp"])
def test_blurred_copies_are_detected(classifier: str) -> None:
    clean = _natural_images(20, seed=3)
    blurred = [gaussian_filter(image, sigma=1.0) for image in clean]
    result = detectability(clean, blurred, classifier=classifier)
    assert result.accuracy is not None and result.accuracy >= 0.9


def test_unequal_sets_and_small_images_are_reported() -> None:
    clean = _natural_images(20, seed=4)
    blurred = [gaussian_filter(image, sigma=1.0) for image in clean[:12]]
    tiny = np.full((MIN_SIZE - 1, 200), 0.5)
    result = detectability([*clean, tiny], [*blurred, tiny, tiny[:10]])
    assert (result.n_real, result.n_fake, result.skipped) == (20, 12, 3)
    assert result.accuracy is not None and result.accuracy >= 0.9
    assert "differ in size" in result.message and "3 images" in result.message


def test_feature_collector_skips_and_counts_small_images() -> None:
    collector = FeatureCollector()
    assert collector.result().shape == (0, 3)
    assert collector.add(_natural_images(1)[0]) is True
    assert collector.add(np.zeros((MIN_SIZE - 1, MIN_SIZE, 3))) is False
    assert (len(collector), collector.skipped, collector.result().shape) == (1, 1, (1, 3))


def test_too_few_images_give_none_with_a_message() -> None:
    images = _natural_images(6, seed=5)
    result = detectability(images[:3], images[3:])
    assert result.accuracy is None and result.std is None
    assert (result.n_real, result.n_fake) == (3, 3)
    assert "not computed" in result.message
    empty = detectability_from_features(np.empty((0, 3)), np.empty((0, 3)), skipped=2)
    assert empty.accuracy is None and "2 images" in empty.message


def test_smallest_scorable_sets_and_bad_classifier() -> None:
    rng = np.random.default_rng(6)
    real, fake = rng.normal(0, 1, (4, 3)), rng.normal(5, 1, (4, 3))  # 2 folds × 2 per class: k reduced to 1
    result = detectability_from_features(real, fake)
    assert result.accuracy == pytest.approx(1.0)
    assert "2-fold" in result.message and "k=1" in result.message
    with pytest.raises(ValueError, match="classifier"):
        detectability([], [], classifier="forest")
    with pytest.raises(ValueError, match="feature matrix"):
        detectability_from_features(np.zeros((4, 2)), np.zeros((4, 3)))
