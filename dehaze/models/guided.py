"""Whole-scene generator: a small CNN sees the entire image at a fixed low resolution, with the dark channel prior's
estimates as inputs and a global branch, and predicts smooth affine coefficient maps ``J = a·I + b`` that are
upsampled edge-aware (a guided filter, as in Deep Guided Filter, Wu et al. CVPR 2018) and applied at full
resolution (the idea of 4KDehazing, Zheng et al. CVPR 2021).

Why this shape: the scattering model's inverse ``J = I/t + A(1 − 1/t)`` is a per-pixel affine map of the hazy
image with smooth coefficients, so the expensive part of dehazing is global scene understanding, not pixels. The
network's view is fixed in pixels (``view_size`` on the short side) whatever the photo's size, so a 180-px training
photo and a 50-MP user photo look alike to it, and the full-resolution work is one multiply-add per pixel.

Coefficients start at the (low-resolution) dark channel prior's own inverse, ``a0 = 1/t_dcp`` (shared by the
channels) and ``b0 = A_c (1 − a0)`` (one per channel, the airlight may be tinted); the network predicts corrections
(``log a = log a0 + δ``, ``b = b0 + ε``; the head starts near zero, so an untrained model is a smooth DCP).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dehaze.color import luminance
from dehaze.dcp import atmospheric_light, dark_channel, guided_coefficients
from dehaze.models.strength import STRENGTH_FLOOR, lift_shadows, scale_strength

MAX_ASPECT = 4.0  # the low-resolution view's long side is at most this many times its short side
LOG_A_RANGE = (math.log(0.5), math.log(20.0))  # allowed range of log a (a = 1/t for pure haze removal)
AIRLIGHT_FLOOR = 0.05
HEAD_INIT_STD = 1e-3
STRIP_PIXELS = 1 << 18  # at inference, full-resolution rows are processed in strips of about this many values


def view_size_for(height: int, width: int, short_side: int) -> tuple[int, int]:
    """Size of the low-resolution view: short side ``short_side``, aspect kept (capped at ``MAX_ASPECT``)."""
    scale = short_side / min(height, width)
    view_h = min(round(short_side * MAX_ASPECT), max(short_side, round(height * scale)))
    view_w = min(round(short_side * MAX_ASPECT), max(short_side, round(width * scale)))
    return view_h, view_w


def resize_to(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area averaging when shrinking both sides (exact box means, no aliasing), bilinear otherwise."""
    height, width = image.shape[-2:]
    if (height, width) == size:
        return image
    if height >= size[0] and width >= size[1]:
        if image.shape[1] == 1 and not image.is_contiguous() and _is_channels_last(image.transpose(0, 1)):
            # the channels of one channels-last image as a batch (per-channel dehazing): pool them as channels,
            # without the copy that pooling a non-contiguous batch would make
            return F.interpolate(image.transpose(0, 1), size=size, mode="area").transpose(0, 1)
        if image.shape[1] == 1 and image.is_contiguous():  # plain N×1×H×W strides: the planar kernel, ~8× faster
            image = image.flatten(0, 1).unsqueeze(1)
        return F.interpolate(image, size=size, mode="area")
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def _is_channels_last(image: torch.Tensor) -> bool:
    """Strides exactly those of a channels-last N×C×H×W tensor (what pooling kernels accept without a copy)."""
    n, c, h, w = image.shape
    return image.stride() == (h * w * c, 1, w * c, c)


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


DARK_QUANTILES = (0.1, 0.5, 0.9, 0.99)


def image_statistics_count(channels: int) -> int:
    """How many values :func:`image_statistics` gives for a ``channels``-channel view."""
    return 4 * channels + len(DARK_QUANTILES) + 3


def image_statistics(
    view: torch.Tensor, dark: torch.Tensor, airlight: torch.Tensor, transmission: torch.Tensor, dehazed: torch.Tensor
) -> torch.Tensor:
    """Plain image-level cues of the global light, N×S, each mapped to about [−1, 1]: channel means and spreads,
    dark-channel quantiles, the brightest-pixel airlight per channel, the mean and spread of the transmission, the
    prior's dehazed means and the view's brightest luminance (what a ridge corrector of the global light reads)."""
    flat_dark = dark.flatten(1)
    quantiles = torch.quantile(flat_dark, torch.tensor(DARK_QUANTILES, dtype=view.dtype, device=view.device), dim=1)
    brightest = view.mean(dim=1).flatten(1).amax(dim=1, keepdim=True)
    values = [
        view.mean(dim=(2, 3)),
        2.0 * view.std(dim=(2, 3)),
        quantiles.t(),
        airlight.flatten(1),
        transmission.mean(dim=(1, 2, 3))[:, None],
        2.0 * transmission.std(dim=(1, 2, 3))[:, None],
        dehazed.mean(dim=(2, 3)),
        brightest,
    ]
    return (torch.cat(values, dim=1) * 2.0 - 1.0).detach()


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.LeakyReLU(0.2, inplace=True))


class CoefficientNet(nn.Module):
    """Low-resolution encoder–decoder with a global branch (image-level FiLM) → ``1 + C`` correction maps."""

    def __init__(
        self, in_channels: int, out_channels: int, width: int, global_outputs: int = 0, statistics: int = 0
    ) -> None:
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        pooled = w3 + statistics  # pooled deepest features, then the image statistics handed in (if any)
        self.enc1 = nn.Sequential(_conv(in_channels, w1), _conv(w1, w1))
        self.enc2 = nn.Sequential(_conv(w1, w2, 2), _conv(w2, w2))
        self.enc3 = nn.Sequential(_conv(w2, w3, 2), _conv(w3, w3))
        self.global_branch = nn.Sequential(
            nn.Linear(pooled, w3), nn.LeakyReLU(0.2, inplace=True), nn.Linear(w3, 2 * w3)
        )
        self.dec2 = _conv(w3 + w2, w2)
        self.dec1 = _conv(w2 + w1, w1)
        self.head = nn.Conv2d(w1, out_channels, 3, padding=1)
        # image-level estimates (airlight and haze density corrections) from the pooled deepest features
        self.global_head = nn.Linear(pooled, global_outputs) if global_outputs else None
        for layer in (self.global_branch[-1], self.head, self.global_head):  # near zero: starts as the smooth DCP
            if layer is not None:
                nn.init.normal_(layer.weight, std=HEAD_INIT_STD)
                nn.init.zeros_(layer.bias)

    def forward(
        self, x: torch.Tensor, statistics: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Correction maps (N×out×h×w) and the image-level estimates (N×global_outputs, None without them);
        ``statistics`` (N×S) join the pooled features that the global branch and head read."""
        f1 = self.enc1(x)
        f2 = self.enc2(f1)
        f3 = self.enc3(f2)
        pooled = f3.mean(dim=(2, 3))
        if statistics is not None:
            pooled = torch.cat([pooled, statistics], dim=1)
        scale, shift = self.global_branch(pooled).chunk(2, dim=1)
        f3 = f3 * (1.0 + scale[..., None, None]) + shift[..., None, None]
        up2 = F.interpolate(f3, size=f2.shape[-2:], mode="bilinear", align_corners=False)
        d2 = self.dec2(torch.cat([up2, f2], dim=1))
        up1 = F.interpolate(d2, size=f1.shape[-2:], mode="bilinear", align_corners=False)
        maps = self.head(self.dec1(torch.cat([up1, f1], dim=1)))
        return maps, (self.global_head(pooled) if self.global_head is not None else None)


class GuidedGenerator(nn.Module):
    """Hazy N×C×H×W in [0, 1] (C = 1 or 3, any H×W from 1×1) → dehazed image of the same shape.

    ``view_size``: short side of the network's view; ``prior_patch``/``omega``: the dark channel prior on that
    view; ``guide_radius``/``guide_eps``: the guided-filter upsampling (in view pixels / intensity²);
    ``detail_radius``/``detail_eps``: the full-resolution structure/noise split of :func:`apply_coefficients`
    (in pixels / intensity²; ``detail_eps`` 0 applies the gain to everything, noise included); ``global_head``:
    image-level estimates of haze density and airlight that correct the prior before the per-pixel maps.
    ``removal``: the haze-removal strength the model applies when the caller asks for strength 1 (set after
    training, like ``detail_eps``; see :mod:`dehaze.models.strength`). ``shadow_floor``: the level below which a
    map may not take the darkest pixel of a ``prior_patch`` window of the view (0 = off; also set after training);
    above strength 1 the floor is at least ``STRENGTH_FLOOR``.
    """

    whole_image = True  # inference runs on the whole image (no tiles): the view is global by design
    multiple = 1
    scales_strength = True  # forward(hazy, strength): see dehaze.models.strength

    def __init__(
        self,
        channels: int = 1,
        width: int = 32,
        view_size: int = 48,
        prior_patch: int = 5,
        omega: float = 0.95,
        guide_radius: int = 1,
        guide_eps: float = 1e-3,
        detail_radius: int = 2,
        detail_eps: float = 1e-4,
        global_head: bool = True,
        global_stats: bool = False,
        removal: float = 1.0,
        shadow_floor: float = 0.0,
    ) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if width < 1 or view_size < 4 or prior_patch < 1 or prior_patch % 2 == 0 or guide_radius < 0:
            raise ValueError("invalid guided generator size (width>=1, view_size>=4, odd prior_patch, radius>=0)")
        self.in_channels = self.out_channels = channels
        self.view_size = view_size
        self.prior_patch = prior_patch
        self.omega = omega
        self.guide_radius = guide_radius
        self.guide_eps = guide_eps
        self.detail_radius = detail_radius
        self.detail_eps = detail_eps
        self.global_head = global_head
        self.global_stats = global_stats
        self.removal = removal  # the strength this model applies by default (calibrated after training)
        self.shadow_floor = shadow_floor
        estimates = 1 + channels if global_head else 0  # haze density, airlight per channel
        statistics = image_statistics_count(channels) if global_stats else 0
        self.net = CoefficientNet(3 * channels + 2, 1 + channels, width, estimates, statistics)

    def prior(self, view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Dark channel prior on the view: dark channel, airlight (N×C×1×1) and transmission (floored at 0.1)."""
        dark = dark_channel(view, self.prior_patch)
        airlight = atmospheric_light(view, dark).clamp(min=AIRLIGHT_FLOOR)
        transmission = (1.0 - self.omega * dark_channel(view / airlight, self.prior_patch)).clamp(min=0.1)
        return dark, airlight, transmission

    def coefficients(self, view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Affine maps at view resolution: slope ``a`` (N×1×h×w, shared by the channels) and offset ``b`` (N×C×h×w)."""
        dark, airlight, transmission = self.prior(view)
        slope0 = 1.0 / transmission
        offset0 = airlight * (1.0 - slope0)
        dehazed0 = (slope0 * view + offset0).clamp(0.0, 1.0)
        inputs = torch.cat([view, dark, transmission, dehazed0, airlight.expand_as(view)], dim=1)
        stats = image_statistics(view, dark, airlight, transmission, dehazed0) if self.global_stats else None
        correction, estimates = self.net(inputs * 2.0 - 1.0, stats)
        if estimates is None:
            log_slope = (slope0.log() + correction[:, :1]).clamp(*LOG_A_RANGE)
            return log_slope.exp(), offset0 + correction[:, 1:]
        # global head: haze density scales the optical depth (t → t^k, k = e^g0) and the airlight is corrected
        # per channel (A → A·e^g), then the scattering model's own inverse with the corrected values
        density, light = estimates[:, :1, None, None].exp(), estimates[:, 1:, None, None].exp()
        log_slope = (density * slope0.log() + correction[:, :1]).clamp(*LOG_A_RANGE)
        slope = log_slope.exp()
        return slope, (airlight * light).clamp(max=1.0) * (1.0 - slope) + correction[:, 1:]

    def forward(self, hazy: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """``strength``: how much haze to remove, in the model's own terms (:mod:`dehaze.models.strength`): 0
        returns the input, 1 (the default) the model's output, above 1 more contrast around the same light."""
        if hazy.dim() != 4 or hazy.shape[1] != self.in_channels:
            raise ValueError(f"expected N×{self.in_channels}×H×W input, got shape {tuple(hazy.shape)}")
        view = resize_to(hazy, view_size_for(*hazy.shape[-2:], self.view_size))
        fit_slope, fit_offset = self.view_maps(view, strength)
        out = apply_coefficients(hazy, fit_slope, fit_offset, self.detail_radius, self.detail_eps)
        return self._clamp(out)

    def view_maps(self, view: torch.Tensor, strength: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """The affine maps that :func:`apply_coefficients` applies at full resolution, at view resolution; the
        caller's ``strength`` multiplies the model's own ``removal``."""
        strength = strength * self.removal
        slope, offset = self.coefficients(view)
        target = slope * view + offset
        # the guided filter's local fits, pulled towards the network's slope: coefficient maps follow the image's
        # edges (no halos across depth edges) and flat regions keep their full-resolution texture
        fit_slope, fit_offset = guided_coefficients(view, target, self.guide_radius, self.guide_eps, prior_slope=slope)
        if strength != 1.0:  # strength 1 runs exactly the code it always ran
            fit_slope, fit_offset = scale_strength(fit_slope, fit_offset, view, strength, max(1, self.view_size // 8))
        floor = max(self.shadow_floor, STRENGTH_FLOOR) if strength > 1.0 else self.shadow_floor
        fit_offset = lift_shadows(fit_slope, fit_offset, view, floor, self.prior_patch // 2)
        return fit_slope, fit_offset

    def dehaze_gray(self, gray: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """A gray photo (N×1×H×W) through an RGB model, at the cost of a gray one: the maps come from the view in
        three equal channels, and since every channel of the full-resolution input is the same, the luminance of
        the three outputs is one affine map of it (luminance-weighted slope and offset). Equals the luminance of
        ``forward`` on the gray photo repeated to RGB wherever no channel of that output is clipped."""
        if gray.dim() != 4 or gray.shape[1] != 1 or self.in_channels != 3:
            raise ValueError(f"expected N×1×H×W input for an RGB model, got shape {tuple(gray.shape)}")
        view = resize_to(gray, view_size_for(*gray.shape[-2:], self.view_size)).expand(-1, 3, -1, -1)
        fit_slope, fit_offset = self.view_maps(view, strength)
        fit_slope, fit_offset = luminance(fit_slope), luminance(fit_offset)
        return self._clamp(apply_coefficients(gray, fit_slope, fit_offset, self.detail_radius, self.detail_eps))

    @staticmethod
    def _clamp(out: torch.Tensor) -> torch.Tensor:
        """Outputs in [0, 1]: in place at inference, a straight-through clamp while training."""
        if not torch.is_grad_enabled():  # inference: in place, no full-size copies (same values)
            return out.clamp_(0.0, 1.0)
        return out + (out.clamp(0.0, 1.0) - out).detach()  # straight-through clamp
