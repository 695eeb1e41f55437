"""Depth families of the training haze: ranges, determinism, depth edges on object borders, β fields."""

from __future__ import annotations

import numpy as np
import pytest

from dehaze.config import HazeConfig, validate_haze_config
from dehaze.depth import DEPTH_FAMILIES, beta_map, family_depth, room_depth, segment_depth, street_depth
from dehaze.errors import ConfigError


def _two_regions(height: int = 48, width: int = 64) -> np.ndarray:
    """A dark left half and a bright right half (one object border down the middle)."""
    image = np.full((height, width, 3), 0.2, np.float32)
    image[:, width // 2 :] = 0.9
    return image


@pytest.mark.parametrize("name", sorted(DEPTH_FAMILIES))
@pytest.mark.parametrize("size", [(1, 1), (5, 90), (48, 64)])
def test_every_family_gives_normalised_deterministic_depth(name: str, size: tuple[int, int]) -> None:
    image = np.random.default_rng(0).random((*size, 3)).astype(np.float32)
    depth = family_depth(name, *size, np.random.default_rng(3), image)
    again = family_depth(name, *size, np.random.default_rng(3), image)
    assert depth.shape == size and depth.dtype == np.float32
    assert np.isfinite(depth).all() and depth.min() >= 0.0 and depth.max() <= 1.0
    assert np.array_equal(depth, again)


def test_segment_depth_jumps_on_the_object_border_and_is_flat_inside() -> None:
    image = _two_regions()
    jumps = []
    for seed in range(8):
        depth = segment_depth(48, 64, np.random.default_rng(seed), image)
        border = np.abs(depth[:, 32] - depth[:, 31]).mean()
        inside = np.abs(np.diff(depth[:, :31], axis=1)).mean()
        jumps.append(border > 5 * inside)
    assert sum(jumps) >= 6  # the regions' own jumps dominate the slope inside them (a jump may come out ~0)


@pytest.mark.parametrize("seed", range(5))
def test_room_is_nearest_on_the_frame_and_far_at_its_back_wall(seed: int) -> None:
    image = np.full((64, 64, 3), 0.5, np.float32)  # one region covering the frame: the room itself, no furniture
    depth = room_depth(64, 64, np.random.default_rng(seed), image)
    y, x = np.unravel_index(depth.argmin(), depth.shape)
    assert y in (0, 63) or x in (0, 63)  # walls, floor and ceiling come closest at the frame
    frame = np.concatenate([depth[0], depth[-1], depth[:, 0], depth[:, -1]])
    assert depth.max() > max(2 * frame.min(), np.median(frame))  # the back wall lies far behind the frame


def test_street_sky_is_farther_than_the_road() -> None:
    depth = street_depth(64, 64, np.random.default_rng(0), np.zeros((64, 64, 3), np.float32))
    assert depth[0].mean() > depth[-1].mean()


def test_beta_map_is_one_without_strength_and_smooth_with_it() -> None:
    assert np.array_equal(beta_map(20, 30, np.random.default_rng(0), 0.0), np.ones((20, 30), np.float32))
    field = beta_map(64, 64, np.random.default_rng(0), 0.4)
    assert field.min() > 0 and field.std() > 0.05
    assert field.max() <= np.exp(0.8) + 1e-5 and field.min() >= np.exp(-0.8) - 1e-5
    assert np.abs(np.diff(field, axis=1)).max() < 0.15 * (field.max() - field.min())  # low-frequency: no jumps


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(families="outdoor,cave"), "families"),
        (dict(families=" , "), "families"),
        (dict(near=(0.5, 0.2)), "haze.near"),
        (dict(airlight=(0.2, 1.5)), "haze.airlight"),
        (dict(gamma=(float("nan"), 1.0)), "haze.gamma"),
        (dict(jpeg_probability=2.0), "jpeg_probability"),
    ],
)
def test_haze_config_is_validated(change: dict, message: str) -> None:
    validate_haze_config(HazeConfig())
    with pytest.raises(ConfigError, match=message):
        validate_haze_config(HazeConfig(**change))
