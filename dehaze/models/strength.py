"""How much haze the guided generator removes: its affine maps ``J = a·I + b`` scaled for a strength ``S``, and the
shadow floor that keeps a map from pushing a dark region to black.

Below strength 1 the maps are the scattering model's own, iterated a fraction of a time (:func:`scale_haze_removal`,
towards the input). Above 1, iterating the maps pushes every pixel away from the model's airlight, and where that
airlight is brighter than the fog, more strength means darker, down to black. So above 1 the slope still grows as
``a^S`` on average (the optical depth removed is scaled by ``S``), but the extra contrast is centred on the local light
of the strength-1 output (:func:`keep_light`): more strength clears more and leaves the photo's light where the model
put it, and the shadow floor (:func:`lift_shadows`, at least ``STRENGTH_FLOOR``) keeps dark regions off black. At
strength 1 the floor is the model's own ``shadow_floor`` option (0 for the shipped models: a floor of 0.02 at strength
1 cost the gray model 0.9 dB on gray_test, the lift spreading too far from the dark pixels it protects).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dehaze.dcp import guided_coefficients

MIN_SLOPE = 1e-3
STRENGTH_FLOOR = 0.02  # above strength 1 no map takes a view window's darkest pixel below this (lift_shadows)
LIGHT_EPS = 1e-2  # intensity²: windows whose variance is well above this count as a step of light, not texture


def scale_haze_removal(slope: torch.Tensor, offset: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map ``J = a·I + b`` applied ``strength`` times: ``a^S`` and ``b·(1 − a^S)/(1 − a)``.

    Each pixel's fixed point ``b/(1 − a)`` (the airlight the map pushes away from) stays where it is; ``a = 1/t``
    becomes ``t^−S``, i.e. the optical depth removed is scaled by ``S``. ``S = 0`` is the identity (a = 1, b = 0),
    ``S = 1`` the map itself, ``S = 2`` the map applied twice. Slopes are floored at 1e-3 before the power.
    """
    log_slope = slope.clamp(min=MIN_SLOPE).log()
    scaled = torch.exp(strength * log_slope)
    ratio = torch.expm1(strength * log_slope) / torch.expm1(log_slope)
    ratio = torch.where(log_slope.abs() < 1e-6, torch.full_like(ratio, strength), ratio)  # a → 1: the limit S
    return scaled, offset * ratio


def box_mean(image: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the (2r+1)² window around each pixel, the window clipped at the borders."""
    if radius <= 0:
        return image
    return F.avg_pool2d(image, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def keep_light(
    slope: torch.Tensor, offset: torch.Tensor, view: torch.Tensor, strength: float, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maps for ``strength`` > 1 that keep the strength-1 output's local light.

    With ``J1 = a·I + b`` on the view, the local light ``L = A·I + B`` is a guided filter of ``J1`` by the input
    (radius ``radius``, ``LIGHT_EPS``): flat or textured windows get ``A ≈ 0`` (``L`` is their mean), windows across
    a large step of light such as a dark pole against the sky get the step's own slope. ``L`` is thus a map of the
    *input*, applied at full resolution like the maps themselves, so it follows the photo's edges at full
    resolution instead of a view-sized blur of them (a blurred ``L`` left white glows round dark objects). The
    result is ``L + g·(J1 − L)``: slope ``g·a + (1 − g)·A``, offset ``g·b + (1 − g)·B``. The contrast gain
    ``g = ā^(S−1)`` uses the photo's mean log slope ``log ā``, one factor per photo: a per-pixel ``a^(S−1)`` would
    also amplify the blotches of the slope map itself. Equal to the maps themselves at ``S = 1``.
    """
    log_slope = slope.clamp(min=MIN_SLOPE).log()
    gain = torch.exp((strength - 1.0) * log_slope.mean(dim=(-2, -1), keepdim=True))
    light_slope, light_offset = guided_coefficients(view, slope * view + offset, radius, LIGHT_EPS)
    return gain * slope + (1.0 - gain) * light_slope, gain * offset + (1.0 - gain) * light_offset


def scale_strength(
    slope: torch.Tensor, offset: torch.Tensor, view: torch.Tensor, strength: float, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The maps at ``strength``: :func:`scale_haze_removal` up to 1 (towards the input), :func:`keep_light` above."""
    if strength <= 1.0:
        return scale_haze_removal(slope, offset, strength)
    return keep_light(slope, offset, view, strength, radius)


def lift_shadows(
    slope: torch.Tensor, offset: torch.Tensor, view: torch.Tensor, floor: float, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The maps compressed towards white where they would take a window's darkest view pixel below ``floor``.

    ``J' = J + c·(1 − J)`` (slope ``(1 − c)·a``, offset ``(1 − c)·b + c``) with ``c`` the least that puts the
    darkest pixel of each (2r+1)² window, in every channel, at ``floor``: dark pixels rise by up to ``c``, white
    stays white, so the sky beside a dark tower or a traffic light barely moves (an even lift of the offset, spread
    over the window, painted white glows round them). One ``c`` for all channels (the most any channel needs), so
    the lift adds no hue: a lift per channel turned a dark river purple. ``c`` is spread by a max then a box mean of
    the same size: smooth (no blotches where the lift starts) and at least what each pixel itself needs.
    """
    if floor <= 0.0:
        return slope, offset
    darkest = slope * -F.max_pool2d(-view, 2 * radius + 1, stride=1, padding=radius) + offset
    need = ((floor - darkest).clamp(min=0.0) / (1.0 - darkest).clamp(min=1e-6)).amax(dim=1, keepdim=True)
    compression = box_mean(F.max_pool2d(need, 2 * radius + 1, stride=1, padding=radius), radius).clamp(max=1.0)
    return (1.0 - compression) * slope, (1.0 - compression) * offset + compression
