"""Atmospheric scattering model (ASM) and the synthetic depth model used to make hazy/clean pairs.

The ASM (Koschmieder; McCartney; as used by RESIDE) says a hazy pixel is

    I(x) = J(x)·t(x) + A·(1 − t(x)),    t(x) = exp(−β·d(x))

with J the clean scene radiance, A the global atmospheric light (airlight), β the scattering coefficient and
d the scene depth. All images here are float arrays in [0, 1].

**Depth convention.** Depth maps are normalised to [0, 1] (0 = nearest point of the scene, 1 = farthest), so
β is "optical thickness of the whole scene": the nearest point is clear (t = 1) and the farthest has
t = exp(−β). With the RESIDE ITS/OTS-like defaults β ∈ [0.6, 1.8] the farthest transmission lies in
[0.17, 0.55], i.e. light to dense but never opaque haze; A ∈ [0.7, 1.0] is the RESIDE airlight range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dehaze.color import luminance_array
from dehaze.defaults import RESIDE_AIRLIGHT, RESIDE_BETA
from dehaze.errors import DehazeError

# Synthetic depth model weights (see synthetic_depth).
DEPTH_NOISE_WEIGHT = 0.15
DEPTH_IMAGE_WEIGHT = 0.15
DEPTH_NOISE_GRID = 5


def transmission(depth: np.ndarray, beta: float) -> np.ndarray:
    """t = exp(−β·d), float32, same shape as ``depth``."""
    return np.exp(-float(beta) * np.asarray(depth, dtype=np.float32)).astype(np.float32)


def _per_pixel(map_hw: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Broadcast an H×W map against an H×W or H×W×C image."""
    map_hw = np.asarray(map_hw, dtype=np.float32)
    if image.ndim == 3 and map_hw.ndim == 2:
        map_hw = map_hw[..., None]
    if map_hw.shape[:2] != image.shape[:2]:
        raise ValueError(f"map of shape {map_hw.shape[:2]} does not match image of shape {image.shape[:2]}")
    return map_hw


def add_haze(clean: np.ndarray, depth: np.ndarray, beta: float, airlight: float | np.ndarray) -> np.ndarray:
    """Hazy image I = J·t + A·(1 − t) for a clean image J (H×W or H×W×C) and an H×W depth map.

    ``airlight`` is one value, or one per channel (a tinted airlight) for an H×W×C image.
    """
    clean = np.asarray(clean, dtype=np.float32)
    t = _per_pixel(transmission(depth, beta), clean)
    light = np.asarray(airlight, dtype=np.float32)
    if light.ndim == 1 and (clean.ndim != 3 or light.shape[0] != clean.shape[2]):
        raise ValueError(f"{light.shape[0]} airlight values for an image of shape {clean.shape}")
    return (clean * t + light * (1.0 - t)).astype(np.float32)


def remove_haze(hazy: np.ndarray, t: np.ndarray, airlight: float, t_min: float = 1e-3) -> np.ndarray:
    """Exact inverse of :func:`add_haze`: J = (I − A) / max(t, t_min) + A (not clipped)."""
    hazy = np.asarray(hazy, dtype=np.float32)
    t = np.maximum(_per_pixel(t, hazy), np.float32(t_min))
    return ((hazy - np.float32(airlight)) / t + np.float32(airlight)).astype(np.float32)


def _standardise(values: np.ndarray) -> np.ndarray:
    std = float(values.std())
    return (values - values.mean()) / std if std > 1e-8 else np.zeros_like(values)


def synthetic_depth(height: int, width: int, rng: np.random.Generator, image: np.ndarray | None = None) -> np.ndarray:
    """A plausible outdoor depth map in [0, 1] (1 = far), deterministic given ``rng``'s state.

    The model sums three terms and normalises the result to [0, 1]:

    1. a vertical gradient, far at the top and near at the bottom (ground plane below a horizon), with a random
       tilt of up to ±0.15 and a random curvature (exponent 0.7–1.4);
    2. smooth low-frequency noise (a 5×5 Gaussian grid upsampled bicubically), weight 0.15, for hills and
       uneven terrain;
    3. if ``image`` is given, its luminance blurred with σ = 2% of the image size, weight 0.15: bright regions
       (sky, haze-veiled background) are pushed farther, which gives the depth map the scene's structure.

    The sum is smoothed with σ = 1% of the image size, so depth (and hence transmission) is smooth.
    """
    if height < 1 or width < 1:
        raise ValueError(f"depth map size must be positive, got {height}×{width}")
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]  # 0 at the top
    cols = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    tilt = rng.uniform(-0.15, 0.15)
    curvature = rng.uniform(0.7, 1.4)
    below_horizon = np.clip(rows + tilt * cols, 0.0, 1.0)
    depth = (1.0 - below_horizon) ** curvature

    coarse = rng.standard_normal((DEPTH_NOISE_GRID, DEPTH_NOISE_GRID))
    noise = ndimage.zoom(
        coarse, (height / DEPTH_NOISE_GRID, width / DEPTH_NOISE_GRID), order=3, mode="reflect", grid_mode=True
    )[:height, :width]
    depth = depth + DEPTH_NOISE_WEIGHT * _standardise(noise)

    size = min(height, width)
    if image is not None:
        luminance = luminance_array(image)
        if luminance.shape != (height, width):
            raise ValueError(f"image of shape {luminance.shape} does not match depth size {height}×{width}")
        structure = ndimage.gaussian_filter(luminance, sigma=max(1.0, 0.02 * size), mode="reflect")
        depth = depth + DEPTH_IMAGE_WEIGHT * _standardise(structure)

    depth = ndimage.gaussian_filter(depth.astype(np.float32), sigma=max(0.5, 0.01 * size), mode="reflect")
    return normalise_depth(depth)


def normalise_depth(depth: np.ndarray) -> np.ndarray:
    """Min–max normalise a depth map to [0, 1] (a constant map becomes all zeros: no haze)."""
    depth = np.asarray(depth, dtype=np.float32)
    low, high = float(depth.min()), float(depth.max())
    if high - low < 1e-8:
        return np.zeros_like(depth)
    return ((depth - low) / (high - low)).astype(np.float32)


@dataclass(frozen=True)
class HazeRanges:
    """Uniform sampling ranges for β, A and the airlight tint; β and A default to RESIDE ITS/OTS (module notes).

    The tint τ makes a colour airlight ``A·(1 − τ, 1, 1 + τ)`` (clipped to [0, 1]): τ > 0 is a blue-grey haze,
    τ < 0 a yellow-brown one. Gray images ignore it.
    """

    beta: tuple[float, float] = RESIDE_BETA
    airlight: tuple[float, float] = RESIDE_AIRLIGHT
    tint: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        low, high = self.tint
        if not -1.0 <= low <= high <= 1.0:
            raise DehazeError(f"tint range must satisfy -1 <= LO <= HI <= 1, got {low} {high}")
        for name, (low, high), limit in (("beta", self.beta, None), ("airlight", self.airlight, 1.0)):
            if not low <= high:
                raise DehazeError(f"{name} range must be LO <= HI, got {low} {high}")
            if low < 0 or (limit is not None and high > limit):
                upper = f" and <= {limit}" if limit is not None else ""
                raise DehazeError(f"{name} range must be >= 0{upper}, got {low} {high}")

    def sample(self, rng: np.random.Generator) -> tuple[float, float]:
        """Draw (beta, airlight)."""
        return float(rng.uniform(*self.beta)), float(rng.uniform(*self.airlight))

    def airlight_per_channel(self, airlight: float, channels: int, rng: np.random.Generator) -> float | np.ndarray:
        """``airlight`` for a gray image; a tinted RGB airlight (a tint drawn from ``tint``) for a colour one."""
        if channels != 3:
            return airlight
        return tinted_airlight(airlight, float(rng.uniform(*self.tint)))


def tinted_airlight(airlight: float, tint: float) -> np.ndarray:
    """RGB airlight ``A·(1 − τ, 1, 1 + τ)`` clipped to [0, 1]."""
    return np.clip(np.float32(airlight) * np.array([1.0 - tint, 1.0, 1.0 + tint], dtype=np.float32), 0.0, 1.0)
