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
from torch import nn

from dehaze.color import luminance
from dehaze.dcp import atmospheric_light, dark_channel, guided_coefficients
from dehaze.models.guided.heads import CoefficientNet, image_statistics, image_statistics_count
from dehaze.models.guided.upsampling import apply_coefficients
from dehaze.models.guided.view import resize_to, view_size_for
from dehaze.models.strength import STRENGTH_FLOOR, lift_shadows, scale_strength

LOG_A_RANGE = (math.log(0.5), math.log(20.0))  # allowed range of log a (a = 1/t for pure haze removal)
AIRLIGHT_FLOOR = 0.05


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
        fit_slope, fit_offset = lift_shadows(fit_slope, fit_offset, view, floor, self.prior_patch // 2)
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
