"""Full-reference image quality: PSNR, SSIM (kornia) and the log azimuthal power-spectrum distance.

All functions take two tensors N×C×H×W (or C×H×W) in [0, 1] of the same shape, compute the metric per image and
return the mean over the batch as a Python float.
"""

from __future__ import annotations

import math

import torch
from kornia.metrics import ssim as kornia_ssim

from dehaze.spectrum import azimuthal_power_spectrum

SSIM_WINDOW = 11
SPECTRUM_FLOOR = 1e-12  # keeps log finite for empty/zero-power bins


def _pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if a.ndim == 3:
        a, b = a[None], b[None]
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(f"expected two N×C×H×W tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a.detach().double(), b.detach().double()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over images of 10·log10(1 / MSE) (peak 1.0). Identical images give ``inf`` (not capped)."""
    a, b = _pair(a, b)
    mse = (a - b).square().flatten(1).mean(dim=1)
    values = [math.inf if m == 0 else 10.0 * math.log10(1.0 / m) for m in mse.tolist()]
    return float(sum(values) / len(values))


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM (kornia, Gaussian window 11, σ 1.5, peak 1.0), averaged over pixels, channels and images."""
    a, b = _pair(a, b)
    ssim_map = kornia_ssim(a.float(), b.float(), window_size=SSIM_WINDOW, max_val=1.0)
    return float(ssim_map.flatten(1).mean(dim=1).mean())


def spectral_distance(a: torch.Tensor, b: torch.Tensor, bins: int | None = None) -> float:
    """Mean |log P_a(k) − log P_b(k)| over azimuthal frequency bins k and images (0 for identical images)."""
    a, b = _pair(a, b)
    log_a = azimuthal_power_spectrum(a, bins).clamp_min(SPECTRUM_FLOOR).log()
    log_b = azimuthal_power_spectrum(b, bins).clamp_min(SPECTRUM_FLOOR).log()
    return float((log_a - log_b).abs().mean())
