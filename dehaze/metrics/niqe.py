"""NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, "Making a 'completely blind' image
quality analyzer", IEEE SPL 2013): how far a photo's local statistics are from those of pristine natural photos.
Lower is better.

This follows the published algorithm as the MATLAB release and BasicSR 1.4.2's ``basicsr.metrics.niqe`` (which
matches MATLAB to 1e-7) compute it: the BT.601 Y channel of the 8-bit image (MATLAB's ``rgb2ycbcr``, 16–235),
rounded; cropped to whole 96×96 blocks; at two scales (the second by MATLAB's antialiased bicubic ``imresize`` by
1/2), mean-subtracted contrast-normalised coefficients (7×7 Gaussian, σ = 7/6) and, per block, the 18 asymmetric
generalised Gaussian parameters of them and of their four neighbour products (circular shifts within the block,
as MATLAB's ``circshift``); a Gaussian fitted to the blocks' 36 features; the distance to the pristine Gaussian.

The pristine Gaussian (``data/niqe_pris_params.npz``) is the published one, estimated by the authors on their
pristine photos, in the file BasicSR ships (see ``data/NOTICE``). ``tests/test_perceptual.py`` checks the values
against BasicSR's function on fixed images. Blocks are processed together (numpy), not one by one.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
from scipy import ndimage, special

BLOCK = 96
Y_WEIGHTS = np.array([65.481, 128.553, 24.966])  # MATLAB rgb2ycbcr, R G B on [0, 1]
ALPHA_GRID = np.arange(0.2, 10.001, 0.001)  # the shape parameters searched, as in the MATLAB release
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))  # horizontal, vertical and the two diagonal neighbours


@cache
def pristine_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, covariance, 7×7 Gaussian window) of the published pristine model, read from the package."""
    source = resources.files("dehaze.metrics") / "data" / "niqe_pris_params.npz"
    with resources.as_file(source) as path, np.load(path, allow_pickle=False) as params:
        return params["mu_pris_param"][0], params["cov_pris_param"], params["gaussian_window"]


@cache
def _ratio_grid() -> np.ndarray:
    """Γ(2/α)² / (Γ(1/α) Γ(3/α)) over ``ALPHA_GRID``: the moment ratio each shape parameter gives."""
    return special.gamma(2 / ALPHA_GRID) ** 2 / (special.gamma(1 / ALPHA_GRID) * special.gamma(3 / ALPHA_GRID))


def matlab_y(rgb: np.ndarray) -> np.ndarray:
    """Rounded Y (16–235) of an 8-bit H×W×3 RGB array, with BasicSR's float32/float64 steps."""
    scaled = rgb.astype(np.float32) / 255.0
    y = ((scaled @ Y_WEIGHTS + 16.0) / 255.0).astype(np.float32) * np.float32(255.0)
    return y.round()


def half_size(image: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize(image, 0.5)`` (bicubic, antialiased) of an image with even sides: each output pixel is
    centred between two input pixels, an 8-tap cubic over input pixels mirrored at the edges."""
    distances = np.arange(-3.5, 4.0) * 0.5
    cubic = np.where(
        np.abs(distances) <= 1,
        1.5 * np.abs(distances) ** 3 - 2.5 * distances**2 + 1,
        -0.5 * np.abs(distances) ** 3 + 2.5 * distances**2 - 4 * np.abs(distances) + 2,
    )
    taps = (cubic / cubic.sum()).astype(np.float32)
    for axis in (0, 1):
        padded = np.pad(image, [(4, 4) if a == axis else (0, 0) for a in range(2)], mode="symmetric")
        length = image.shape[axis] // 2
        image = sum(
            tap * np.take(padded, np.arange(1 + k, 1 + k + 2 * length, 2), axis=axis) for k, tap in enumerate(taps)
        )
    return image


def aggd_fit(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian (α, β_left, β_right) of each row of ``samples`` (blocks × values), by the
    moment-matching grid search of the MATLAB release (zeros count on neither side; an empty side gives NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = np.square(samples)
        left = np.sqrt((squares * (samples < 0)).sum(1) / (samples < 0).sum(1))
        right = np.sqrt((squares * (samples > 0)).sum(1) / (samples > 0).sum(1))
        gamma_hat = left / right
        r_hat = np.abs(samples).mean(1) ** 2 / squares.mean(1)
        r_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = ALPHA_GRID[np.argmin(np.square(_ratio_grid()[None, :] - r_norm[:, None]), axis=1)]  # NaN → first
    spread = np.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
    return alpha, left * spread, right * spread


def block_features(normalised: np.ndarray, block: int) -> np.ndarray:
    """The 18 features of every ``block``×``block`` tile of the normalised coefficients (tiles × 18)."""
    rows, cols = normalised.shape[0] // block, normalised.shape[1] // block
    tiles = normalised[: rows * block, : cols * block].reshape(rows, block, cols, block).swapaxes(1, 2)
    tiles = tiles.reshape(rows * cols, block, block)
    alpha, beta_l, beta_r = aggd_fit(tiles.reshape(len(tiles), -1))
    features = [alpha, (beta_l + beta_r) / 2]
    for shift in SHIFTS:
        products = tiles * np.roll(tiles, shift, axis=(1, 2))
        alpha, beta_l, beta_r = aggd_fit(products.reshape(len(tiles), -1))
        mean = (beta_r - beta_l) * special.gamma(2 / alpha) / special.gamma(1 / alpha)
        features += [alpha, mean, beta_l, beta_r]
    return np.stack(features, axis=1)


def niqe(rgb: np.ndarray) -> float | None:
    """NIQE of an 8-bit H×W×3 RGB array; None when fewer than two whole 96×96 blocks have texture on both sides of
    zero (no covariance: a small or a flat, e.g. all-black, image)."""
    mu_pristine, cov_pristine, window = pristine_model()
    image = matlab_y(rgb)
    rows, cols = image.shape[0] // BLOCK, image.shape[1] // BLOCK
    if rows * cols < 2:
        return None
    image = image[: rows * BLOCK, : cols * BLOCK]
    features = []
    for scale in (1, 2):
        mu = ndimage.convolve(image, window, mode="nearest")
        sigma = np.sqrt(np.abs(ndimage.convolve(np.square(image), window, mode="nearest") - np.square(mu)))
        features.append(block_features((image - mu) / (sigma + 1), BLOCK // scale))
        if scale == 1:
            image = half_size(image / 255.0) * 255.0
    features = np.concatenate(features, axis=1)
    complete = features[~np.isnan(features).any(axis=1)]
    if len(complete) < 2:  # flat (e.g. all-black) blocks have no shape: NIQE is undefined
        return None
    mu_distorted = np.nanmean(features, axis=0)
    cov_distorted = np.cov(complete, rowvar=False)
    offset = mu_pristine - mu_distorted
    quality = float(np.sqrt(offset @ np.linalg.pinv((cov_pristine + cov_distorted) / 2) @ offset))
    return quality if np.isfinite(quality) else None
