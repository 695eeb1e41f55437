"""Applying the view's affine maps at full resolution: bilinear upsampling of the coefficients and the
edge-preserving structure/noise split, in cache-sized strips of rows at inference."""

from __future__ import annotations

import torch
import torch.nn.functional as F

STRIP_PIXELS = 1 << 18  # at inference, full-resolution rows are processed in strips of about this many values


def _bilinear_rows(low: torch.Tensor, rows: torch.Tensor, full_height: int) -> torch.Tensor:
    """Rows ``rows`` (ascending) of ``low`` (N×C×h×W) upsampled bilinearly to ``full_height`` rows
    (align_corners=False): a (rows × few) weight matrix times the few low-resolution rows they fall between."""
    h = low.shape[-2]
    source = ((rows.to(torch.float32) + 0.5) * (h / full_height) - 0.5).clamp(min=0.0)
    top = source.floor().long().clamp(max=h - 1)
    bottom = (top + 1).clamp(max=h - 1)
    frac = (source - top.to(torch.float32)).to(low.dtype)
    first = int(top[0])
    index = torch.arange(len(rows), device=low.device)
    weights = low.new_zeros(len(rows), int(bottom[-1]) - first + 1)
    weights.index_put_((index, top - first), 1.0 - frac, accumulate=True)
    weights.index_put_((index, bottom - first), frac, accumulate=True)  # same place as top in the last row
    return weights @ low[..., first : first + weights.shape[1], :]


def _window_sum(x: torch.Tensor, dim: int, keep: slice, radius: int) -> torch.Tensor:
    """Sums of ``x`` along ``dim`` over windows of ``2·radius + 1`` centred on the positions ``keep``; positions
    outside ``x`` count as zero. Shifted adds: 2·radius passes, each cheap while a strip sits in the cache."""
    length = x.shape[dim]
    start, stop = keep.start, keep.stop
    total = x.narrow(dim, start, stop - start).clone()
    for shift in range(1, radius + 1):
        for lo, hi in ((start + shift, min(stop + shift, length)), (max(start - shift, 0), stop - shift)):
            if hi > lo:  # the window's part that lies inside x: its first or last hi - lo positions
                offset = 0 if lo > start else total.shape[dim] - (hi - lo)
                total.narrow(dim, offset, hi - lo).add_(x.narrow(dim, lo, hi - lo))
    return total


def _inverse_counts(first: int, count: int, length: int, radius: int, like: torch.Tensor) -> torch.Tensor:
    """1 / (number of window positions inside ``[0, length)``) for the positions ``first … first + count − 1``."""
    positions = torch.arange(first, first + count, device=like.device)
    inside = (positions + radius + 1).clamp(max=length) - (positions - radius).clamp(min=0)
    return inside.to(like.dtype).reciprocal_()


def _structure_rows(rows: torch.Tensor, keep: slice, radius: int, eps: float, top: int, height: int) -> torch.Tensor:
    """:func:`structure` of the rows ``keep`` of ``rows``, a strip that starts at row ``top`` of an image of
    ``height`` rows and holds every row within ``radius`` of the kept ones (windows are clipped at the image)."""
    width, all_columns = rows.shape[-1], slice(0, rows.shape[-1])
    inverse = _inverse_counts(top + keep.start, keep.stop - keep.start, height, radius, rows)[:, None]
    inverse = inverse * _inverse_counts(0, width, width, radius, rows)
    planes = torch.stack([rows, rows * rows])  # both box means in one set of passes
    mean, square = _window_sum(_window_sum(planes, -1, all_columns, radius), -2, keep, radius).mul_(inverse)
    variance = torch.addcmul(square, mean, mean, value=-1.0).clamp_(min=0.0)
    weight = variance.div_(variance + eps)
    return torch.addcmul(mean, weight, rows[..., keep, :] - mean)


def structure(image: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """Edge-preserving smoothing of each channel guided by itself (one pass of a self-guided filter).

    ``mean + w·(image − mean)`` with the local mean and variance over a (2r+1)² window (clipped at the borders) and
    ``w = var / (var + eps)``: windows whose variance is well above ``eps`` (edges, texture) are kept, flatter ones
    (noise, JPEG blocks, quantisation steps in a sky) are smoothed. ``radius`` 0 or ``eps`` 0 returns the image.
    """
    if radius <= 0 or eps <= 0:
        return image
    height = image.shape[-2]
    return _structure_rows(image, slice(0, height), radius, eps, 0, height)


def _apply_whole(
    image: torch.Tensor, slope: torch.Tensor, offset: torch.Tensor, radius: int, eps: float
) -> torch.Tensor:
    """The autograd path of :func:`apply_coefficients`: coefficient maps interpolated to the whole image."""
    size = image.shape[-2:]
    slope = F.interpolate(slope, size=size, mode="bilinear", align_corners=False)
    offset = F.interpolate(offset, size=size, mode="bilinear", align_corners=False)
    if radius <= 0 or eps <= 0:
        return slope * image + offset
    return torch.addcmul(image + offset, slope - 1.0, structure(image, radius, eps))


def apply_coefficients(
    image: torch.Tensor, slope: torch.Tensor, offset: torch.Tensor, detail_radius: int = 0, detail_eps: float = 0.0
) -> torch.Tensor:
    """``slope·S + offset + (image − S)`` with low-resolution coefficient maps upsampled bilinearly to the image
    size, where ``S`` is the image's structure (:func:`structure`; ``S = image`` when ``detail_eps`` is 0).

    The scattering model's gain ``slope`` (1/t, up to 10 in dense haze) thus multiplies the image's structure but
    not its noise, which keeps its own amplitude: skies stay smooth instead of blotchy.

    In training (autograd on) this works on the whole image; under no-grad, in strips of rows of about
    ``STRIP_PIXELS`` values: every temporary of a strip stays in the CPU cache (5–15× faster than whole-image
    passes, which wait on memory) and memory holds the output and one small strip even for a 50-MP photo. Both
    paths compute the same values (to float rounding).
    """
    if torch.is_grad_enabled():
        return _apply_whole(image, slope, offset, detail_radius, detail_eps)
    height, width = image.shape[-2:]
    radius = detail_radius if detail_radius > 0 and detail_eps > 0 else 0  # the structure filter's halo rows
    coeffs = torch.cat([slope, offset], dim=1)
    coeffs = F.interpolate(coeffs, size=(coeffs.shape[-2], width), mode="bilinear", align_corners=False)
    shape = (image.shape[0], offset.shape[1], height, width)
    # the input's memory layout (channels-last for an H×W×C array), so converting back needs no copy
    out = torch.empty_like(image) if image.shape == shape else image.new_empty(shape)
    strip = max(1, STRIP_PIXELS // (width * shape[0] * shape[1]))
    for start in range(0, height, strip):
        stop = min(height, start + strip)
        part = _bilinear_rows(coeffs, torch.arange(start, stop, device=image.device), height)
        gain, shift = part[:, : slope.shape[1]], part[:, slope.shape[1] :]
        low, high = max(0, start - radius), min(height, stop + radius)
        # one planar copy of the strip (a no-op for gray): every pass below then runs on aligned, unit-stride data
        rows = image[..., low:high, :].contiguous()
        keep, target = slice(start - low, stop - low), out[..., start:stop, :]
        if not radius:
            torch.addcmul(shift, gain, rows, out=target)
            continue
        smooth = _structure_rows(rows, keep, radius, detail_eps, low, height)
        target.copy_(torch.addcmul(shift.add_(rows[..., keep, :]), gain.sub_(1.0), smooth))  # planar, then laid out
    return out
