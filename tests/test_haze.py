"""dehaze.haze: the atmospheric scattering model, its exact inverse and the synthetic depth model."""

from __future__ import annotations

import numpy as np
import pytest

from dehaze.errors import DehazeError
from dehaze.haze import HazeRanges, add_haze, normalise_depth, remove_haze, synthetic_depth, transmission


def test_transmission() -> None:
    depth = np.array([[0.0, 0.5, 1.0]], np.float32)
    np.testing.assert_allclose(transmission(depth, 1.2), np.exp(-1.2 * depth), rtol=1e-6)


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_asm_round_trip(channels: int | None) -> None:
    rng = np.random.default_rng(0)
    shape = (20, 30) if channels is None else (20, 30, channels)
    clean = rng.random(shape).astype(np.float32)
    depth = synthetic_depth(20, 30, rng)
    beta, airlight = 1.5, 0.85
    hazy = add_haze(clean, depth, beta, airlight)
    assert hazy.shape == clean.shape and hazy.dtype == np.float32
    t = transmission(depth, beta)
    t_pixel = t if channels is None else t[..., None]
    expected = clean * t_pixel + airlight * (1 - t_pixel)
    np.testing.assert_allclose(hazy, expected, atol=1e-6)
    np.testing.assert_allclose(remove_haze(hazy, t, airlight), clean, atol=1e-5)


def test_haze_physics() -> None:
    clean = np.zeros((8, 8), np.float32)
    far = np.ones((8, 8), np.float32)
    assert np.allclose(add_haze(clean, np.zeros((8, 8)), 1.0, 0.9), 0.0)  # depth 0: no haze
    assert np.allclose(add_haze(clean, far * 50, 1.0, 0.9), 0.9, atol=1e-6)  # very far: airlight
    assert add_haze(clean, far, 1.8, 0.9).mean() > add_haze(clean, far, 0.6, 0.9).mean()


def test_synthetic_depth_properties_and_determinism() -> None:
    image = np.random.default_rng(5).random((64, 48)).astype(np.float32)
    depth = synthetic_depth(64, 48, np.random.default_rng(3), image=image)
    assert depth.shape == (64, 48) and depth.dtype == np.float32
    assert depth.min() == 0.0 and depth.max() == 1.0
    assert depth[:8].mean() > depth[-8:].mean() + 0.3  # far at the top
    assert np.abs(np.diff(depth, axis=0)).max() < 0.2 and np.abs(np.diff(depth, axis=1)).max() < 0.2  # smooth
    again = synthetic_depth(64, 48, np.random.default_rng(3), image=image)
    np.testing.assert_array_equal(depth, again)
    other = synthetic_depth(64, 48, np.random.default_rng(4), image=image)
    assert not np.array_equal(depth, other)


def test_synthetic_depth_follows_scene_structure() -> None:
    image = np.zeros((64, 64), np.float32)
    image[:, 32:] = 1.0  # bright right half → pushed farther
    rng_state = 11
    plain = synthetic_depth(64, 64, np.random.default_rng(rng_state))
    structured = synthetic_depth(64, 64, np.random.default_rng(rng_state), image=image)
    assert (structured[:, 40:] - plain[:, 40:]).mean() > (structured[:, :24] - plain[:, :24]).mean()


def test_normalise_depth_constant() -> None:
    assert np.all(normalise_depth(np.full((3, 3), 7.0)) == 0)


def test_haze_ranges() -> None:
    ranges = HazeRanges()
    assert ranges.beta == (0.6, 1.8) and ranges.airlight == (0.7, 1.0)
    beta, airlight = ranges.sample(np.random.default_rng(0))
    assert 0.6 <= beta <= 1.8 and 0.7 <= airlight <= 1.0
    assert HazeRanges(beta=(1.0, 1.0)).sample(np.random.default_rng(0))[0] == 1.0
    with pytest.raises(DehazeError):
        HazeRanges(beta=(2.0, 1.0))
    with pytest.raises(DehazeError):
        HazeRanges(airlight=(0.5, 1.5))
