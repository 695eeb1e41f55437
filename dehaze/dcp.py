"""Dark channel prior dehazing (He, Sun & Tang, CVPR 2009), with guided-filter refinement (He et al., ECCV 2010).

Defaults follow the papers' usual settings for images of about 600 px: patch 15, ω = 0.95, t0 = 0.1, and a
guided filter of radius 60 with ε = 1e-3 (the guide is the input's luminance). Parameters are in pixels and are
not rescaled with the image size. All steps are vectorised torch on the CPU: the minimum filter is separable
with log-step doubling, and the guided filter's box means use cumulative sums, so the cost does not grow with
the radius. The box filter is our own rather than ``kornia.filters.guided_blur``, whose reflect padding fails
when the radius exceeds the image size (small images with radius 60); at the borders the box mean is taken
over the part of the window inside the image. Images larger than ``STRIP_PIXELS`` are processed in strips of rows
with halos (:func:`map_strips`), with the same result: memory holds the input, the output and one strip's work.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from dehaze.color import luminance
from dehaze.errors import DehazeError
from dehaze.imageio import array_to_batch, batch_to_array, clamp_unit

STRIP_PIXELS = 1 << 21  # the prior works on strips of rows of about this many pixels (plus halo rows)


def min_filter(x: torch.Tensor, size: int) -> torch.Tensor:
    """Separable ``size``×``size`` minimum filter (odd size) of N×C×H×W; the window is clipped at the borders.

    Each axis uses log-step doubling (running minima over 1, 2, 4, ... pixels), a handful of element-wise
    minima instead of ``size`` comparisons per pixel; several times faster than ``max_pool2d`` on the CPU.
    """
    radius = size // 2
    for dim in (2, 3):
        pad = (0, 0, radius, radius) if dim == 2 else (radius, radius)
        padded = F.pad(x, pad, value=float("inf"))
        length = padded.shape[dim]
        result, span = padded, 1  # result[i] = min(padded[i : i + span])
        while span * 2 <= size:
            result = torch.minimum(result.narrow(dim, 0, length - span), result.narrow(dim, span, length - span))
            length = length - span  # not in place: a traced size stays a value (ONNX export)
            span *= 2
        if span < size:  # cover the rest with one more shifted minimum of two overlapping windows
            shift = size - span
            result = torch.minimum(result.narrow(dim, 0, length - shift), result.narrow(dim, shift, length - shift))
        x = result.narrow(dim, 0, x.shape[dim])
    return x


def dark_channel(image: torch.Tensor, patch: int = 15) -> torch.Tensor:
    """Minimum over channels, then a ``patch``×``patch`` minimum filter: N×C×H×W → N×1×H×W."""
    if patch < 1 or patch % 2 == 0:
        raise DehazeError(f"dark channel patch must be an odd positive size, got {patch}")
    return min_filter(image.amin(dim=1, keepdim=True), patch)


def atmospheric_light(image: torch.Tensor, dark: torch.Tensor, top_fraction: float = 1e-3) -> torch.Tensor:
    """Airlight per image and channel (N×C×1×1).

    Takes the ``top_fraction`` (0.1%) brightest pixels of the dark channel and, among them, the one with the highest
    intensity in the input (He et al. 2009, section 4.4). Every pixel tied with the last of them is a candidate too,
    and the first of equally bright candidates wins: the dark channel's plateaus make ties common, and which of
    them ``topk`` keeps is unspecified (it differed from ONNX Runtime's choice). Only the candidates are read.
    """
    n, c, _, width = image.shape
    flat_dark = dark.reshape(n, -1)
    count = max(1, int(round(flat_dark.shape[1] * top_fraction)))
    threshold = flat_dark.topk(count, dim=1).values[:, -1:]  # N×1: the count-th largest value
    lights = []
    for index in range(n):
        above = (flat_dark[index] > threshold[index]).nonzero()[:, 0]
        tied = (flat_dark[index] == threshold[index]).nonzero()[:, 0][: count - len(above)]  # lowest index first
        candidates = torch.cat([above, tied])
        values = image[index, :, candidates // width, candidates % width]  # C×k
        lights.append(values[:, values.sum(dim=0).argmax()])
    return torch.stack(lights).reshape(n, c, 1, 1)


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)×(2r+1) window clipped to the image, via cumulative sums along each axis in turn.

    Sums along one axis stay below its length, so float32 keeps the means accurate to ~1e-5 even for large images.
    """
    out = x.float()
    for dim in (2, 3):
        length = out.shape[dim]
        summed = out.cumsum(dim)
        zeros = torch.zeros_like(summed.narrow(dim, 0, 1)).expand(*_expanded(summed.shape, dim, radius + 1))
        last = summed.narrow(dim, length - 1, 1).expand(*_expanded(summed.shape, dim, radius))
        extended = torch.cat([zeros, summed, last], dim)  # extended[j + r + 1] = sum(x[: j + 1]), clamped
        window_sums = extended.narrow(dim, 2 * radius + 1, length) - extended.narrow(dim, 0, length)
        idx = torch.arange(length, device=x.device)
        count = ((idx + radius + 1).clamp(max=length) - (idx - radius).clamp(min=0)).to(out.dtype)
        shape = [1, 1, 1, 1]
        shape[dim] = length
        out = window_sums / count.view(shape)
    return out.to(x.dtype)


def _expanded(shape: torch.Size, dim: int, size: int) -> list[int]:
    sizes = list(shape)
    sizes[dim] = size
    return sizes


def guided_coefficients(
    guide: torch.Tensor,
    source: torch.Tensor,
    radius: int,
    eps: float,
    prior_slope: torch.Tensor | float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Box-smoothed coefficients ``(A, B)`` of the guided filter's local fits ``source ≈ A·guide + B``.

    The ridge term pulls each window's slope towards ``prior_slope`` (0 in He et al. 2010): where the guide is flat
    the slope becomes the prior instead of 0, so a caller can keep texture that the fit cannot see.
    """
    mean_guide = box_mean(guide, radius)
    mean_source = box_mean(source, radius)
    covariance = box_mean(guide * source, radius) - mean_guide * mean_source
    variance = box_mean(guide * guide, radius) - mean_guide * mean_guide
    slope = (covariance + eps * prior_slope) / (variance + eps)
    offset = mean_source - slope * mean_guide
    return box_mean(slope, radius), box_mean(offset, radius)


def guided_filter(guide: torch.Tensor, source: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """Gray-guide guided filter (He et al. 2010): edge-preserving smoothing of ``source`` following ``guide``."""
    slope, offset = guided_coefficients(guide, source, radius, eps)
    return slope * guide + offset


def _dehaze_rows(
    hazy: torch.Tensor,
    keep: slice,
    light: torch.Tensor,
    patch: int,
    omega: float,
    t0: float,
    guided_radius: int,
    eps: float,
) -> torch.Tensor:
    """The dark channel prior's transmission, refinement and inversion on a strip of N×C×H×W rows; returns the
    rows ``keep`` (the others are the strip's halo)."""
    transmission = 1.0 - omega * dark_channel(hazy / light, patch)
    if guided_radius > 0:
        transmission = guided_filter(luminance(hazy), transmission, guided_radius, eps)
    transmission = transmission[..., keep, :].clamp(min=t0)
    return ((hazy[..., keep, :] - light) / transmission + light).clamp(0.0, 1.0)


def map_strips(
    fn: Callable[[torch.Tensor, slice], torch.Tensor], image: torch.Tensor, halo: int, out: torch.Tensor
) -> torch.Tensor:
    """``out`` filled strip by strip (about ``STRIP_PIXELS`` pixels each) with ``fn(rows, keep)``: ``rows`` is the
    strip with ``halo`` extra rows on both sides (clipped at the image), ``fn`` returns its result on ``keep``.

    The result equals the whole-image one when an output row depends on input rows at most ``halo`` away
    (and windows are clipped at the image, not at the strip).
    """
    height, width = image.shape[-2:]
    step = max(1, STRIP_PIXELS // max(1, width))
    for top in range(0, height, step):
        bottom = min(height, top + step)
        low, high = max(0, top - halo), min(height, bottom + halo)
        out[..., top:bottom, :] = fn(image[..., low:high, :], slice(top - low, bottom - low))
    return out


def dark_channel_prior_tensor(
    hazy: torch.Tensor,
    patch: int = 15,
    omega: float = 0.95,
    t0: float = 0.1,
    guided_radius: int = 60,
    eps: float = 1e-3,
) -> torch.Tensor:
    """Dehaze an N×C×H×W batch in [0, 1] (C = 1 or 3) with the dark channel prior.

    Large images are processed in strips of rows with halos (see :func:`map_strips`): the airlight comes from the
    whole image's dark channel, everything else is local, so the result equals the whole-image computation
    while memory holds the input, the output, the dark channel and one strip's temporaries.
    """
    hazy = clamp_unit(hazy.float())
    n, _, height, width = hazy.shape
    dark = hazy.new_empty(n, 1, height, width)
    dark = map_strips(lambda rows, keep: dark_channel(rows, patch)[..., keep, :], hazy, patch // 2, dark)
    light = atmospheric_light(hazy, dark).clamp(min=1e-3)
    del dark
    # transmission rows need hazy rows patch // 2 away; the guided filter box-filters twice, 2 × radius more
    halo = patch // 2 + 2 * max(0, guided_radius)
    dehaze = partial(_dehaze_rows, light=light, patch=patch, omega=omega, t0=t0, guided_radius=guided_radius, eps=eps)
    return map_strips(dehaze, hazy, halo, torch.empty_like(hazy))


def dark_channel_prior(
    hazy: np.ndarray,
    patch: int = 15,
    omega: float = 0.95,
    t0: float = 0.1,
    guided_radius: int = 60,
    eps: float = 1e-3,
) -> np.ndarray:
    """Dehaze an H×W×C (C = 1 or 3) or H×W float image in [0, 1]; returns float32 of the same shape."""
    array = np.asarray(hazy)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3))):
        raise DehazeError(f"dark channel prior expects H×W, H×W×1 or H×W×3, got shape {array.shape}")
    with torch.inference_mode():
        batch = array_to_batch(array[..., None] if array.ndim == 2 else array)  # shares memory, never written
        result = batch_to_array(dark_channel_prior_tensor(batch, patch, omega, t0, guided_radius, eps))
    return result[..., 0] if array.ndim == 2 else result
