"""A family of synthetic depth layouts, so training haze covers indoor rooms, streets, objects and open views.

Every generator maps ``(height, width, rng, image)`` to an H×W float32 depth map in [0, 1] (0 = nearest point,
1 = farthest), deterministic given ``rng``'s state:

- ``outdoor``: far at the top, smooth terrain and blurred luminance (:func:`dehaze.haze.synthetic_depth`);
- ``segments``: piecewise-smooth depth that follows the photo's own regions (Felzenszwalb segments of the clean
  photo, each on its own plane), so depth jumps fall on object borders;
- ``room``: a perspective box (floor, ceiling, side walls, back wall) around a random vanishing point, with some
  of the photo's segments pulled forward as furniture;
- ``street``: the same box with no ceiling (open sky, far) and a distant end: a street receding to a vanishing
  point between façades.

:func:`beta_map` gives non-homogeneous haze (a smooth multiplicative field on β).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage
from skimage.segmentation import felzenszwalb

from dehaze.color import luminance_array
from dehaze.haze import normalise_depth, synthetic_depth

DepthFn = Callable[[int, int, np.random.Generator, np.ndarray], np.ndarray]


def _coordinates(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in units of the short side, centred on the image: x to the right, y downwards."""
    short = min(height, width)
    y = (np.arange(height, dtype=np.float32) + 0.5 - height / 2) / short
    x = (np.arange(width, dtype=np.float32) + 0.5 - width / 2) / short
    return np.broadcast_to(x[None, :], (height, width)), np.broadcast_to(y[:, None], (height, width))


def _segments(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Felzenszwalb regions of the photo (labels 0..n−1) at a random scale."""
    height, width = image.shape[:2]
    plane = luminance_array(image)
    return felzenszwalb(
        plane, scale=float(rng.uniform(30, 300)), sigma=0.8, min_size=max(8, height * width // 300)
    ).astype(np.int64)


def segment_depth(height: int, width: int, rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Each region of the photo gets its own depth (a random global plane at its centre plus a jump) and keeps
    a little of the plane's slope inside it: smooth within objects, discontinuous at their borders."""
    x, y = _coordinates(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    base = np.cos(angle) * x + np.sin(angle) * y
    labels = _segments(image, rng)
    count = int(labels.max()) + 1
    centre = np.asarray(ndimage.mean(base, labels, index=np.arange(count)), dtype=np.float32)
    jump = rng.normal(0.0, rng.uniform(0.1, 0.5), count).astype(np.float32)
    inside = rng.uniform(0.0, 0.6)
    return (centre[labels] + jump[labels] + inside * (base - centre[labels])).astype(np.float32)


def _box_depth(height: int, width: int, rng: np.random.Generator, ceiling: bool, back: float) -> np.ndarray:
    """Depth along the view axis of a perspective box around a vanishing point (``ceiling`` False: open sky)."""
    x, y = _coordinates(height, width)
    dx = x - rng.uniform(-0.35, 0.35)
    dy = y - rng.uniform(-0.35, 0.25)
    focal = rng.uniform(0.6, 1.4)
    floor, top = rng.uniform(0.3, 1.2), rng.uniform(0.3, 1.2)
    left, right = rng.uniform(0.3, 2.0), rng.uniform(0.3, 2.0)
    tiny = np.float32(1e-4)
    depth = np.full((height, width), back, dtype=np.float32)
    depth = np.minimum(depth, np.where(dy > tiny, floor * focal / np.maximum(dy, tiny), back))
    sky = back * rng.uniform(2.0, 4.0)
    depth = np.where(dy < -tiny, np.minimum(depth, top * focal / np.maximum(-dy, tiny)) if ceiling else sky, depth)
    depth = np.minimum(depth, np.where(dx < -tiny, left * focal / np.maximum(-dx, tiny), back))
    depth = np.minimum(depth, np.where(dx > tiny, right * focal / np.maximum(dx, tiny), back))
    return depth.astype(np.float32)


def room_depth(height: int, width: int, rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """An indoor room: walls, floor and ceiling up to a back wall 2–8 units away, with some of the photo's
    regions (those under 30% of the frame) brought forward as furniture (depth jumps on their borders)."""
    depth = _box_depth(height, width, rng, ceiling=True, back=float(rng.uniform(2.0, 8.0)))
    labels = _segments(image, rng)
    count = int(labels.max()) + 1
    small = np.bincount(labels.ravel(), minlength=count) < 0.3 * height * width  # objects, not the room itself
    forward = (rng.random(count) < rng.uniform(0.1, 0.5)) & small
    nearer = rng.uniform(0.3, 1.0, count).astype(np.float32)
    region_depth = np.asarray(ndimage.minimum(depth, labels, index=np.arange(count)), dtype=np.float32)
    pulled = np.where(forward, region_depth * nearer, np.inf)[labels]
    return np.minimum(depth, pulled).astype(np.float32)


def street_depth(height: int, width: int, rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A street or road receding to a vanishing point between façades, open (far) sky above."""
    depth = _box_depth(height, width, rng, ceiling=False, back=float(rng.uniform(6.0, 30.0)))
    return np.log1p(depth).astype(np.float32)  # perceived haze grows slower than metric depth over long views


def outdoor_depth(height: int, width: int, rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """The original layout: far at the top, smooth terrain, bright regions pushed back."""
    return synthetic_depth(height, width, rng, image=image)


DEPTH_FAMILIES: dict[str, DepthFn] = {
    "outdoor": outdoor_depth,
    "segments": segment_depth,
    "room": room_depth,
    "street": street_depth,
}


def family_depth(name: str, height: int, width: int, rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Depth in [0, 1] from the family ``name`` (a key of :data:`DEPTH_FAMILIES`), lightly smoothed so that edges
    are one or two pixels wide as in a real depth map, then min–max normalised."""
    depth = DEPTH_FAMILIES[name](height, width, rng, image)
    depth = ndimage.gaussian_filter(depth, sigma=0.7, mode="reflect")
    return normalise_depth(depth)


def beta_map(height: int, width: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Non-homogeneous haze: ``exp(strength · n)`` for a smooth standardised field ``n`` (3×3–6×6 grid, clipped
    to ±2)."""
    if strength <= 0:
        return np.ones((height, width), dtype=np.float32)
    grid = int(rng.integers(3, 7))
    coarse = rng.standard_normal((grid, grid))
    field = ndimage.zoom(coarse, (height / grid, width / grid), order=3, mode="reflect", grid_mode=True)
    field = field[:height, :width]
    std = float(field.std())
    field = (field - field.mean()) / std if std > 1e-8 else np.zeros_like(field)
    return np.exp(strength * np.clip(field, -2.0, 2.0)).astype(np.float32)
