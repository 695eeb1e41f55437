"""Strength above 1 keeps the photo's light; the shadow floor keeps a map from pushing a dark region to black."""

from __future__ import annotations

import pytest
import torch

from dehaze.models.guided import GuidedGenerator, apply_coefficients, resize_to
from dehaze.models.strength import keep_light, lift_shadows, scale_haze_removal, scale_strength


def _maps(seed: int = 0, size: int = 24) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A view with a bright sky over a dark ground, and dehazing maps that push the ground towards black."""
    generator = torch.Generator().manual_seed(seed)
    view = 0.05 * torch.rand(1, 3, size, size, generator=generator)
    view[..., : size // 2, :] += 0.85
    view[..., size // 2 :, :] += 0.45
    slope = 1.2 + 0.4 * torch.rand(1, 1, size, size, generator=generator)
    offset = 0.8 * (1.0 - slope)  # fixed point 0.8: the airlight is brighter than the ground's fog
    return view, slope, offset


def test_keep_light_at_strength_one_is_the_maps_themselves() -> None:
    view, slope, offset = _maps()
    same_slope, same_offset = keep_light(slope, offset, view, 1.0, 3)
    assert torch.allclose(same_slope, slope) and torch.allclose(same_offset, offset, atol=1e-6)


def test_keep_light_scales_the_slope_by_the_photos_mean_gain() -> None:
    view, slope, offset = _maps()
    scaled, _ = keep_light(slope, offset, view, 1.5, 3)
    # one factor per photo away from the sky/ground step (the light's own slope is near 0 in textured windows)
    expected = torch.exp(0.5 * slope.log().mean())
    for rows in (slice(0, 5), slice(19, 24)):  # more than radius + box radius from the step at row 12
        gain = scaled[..., rows, :] / slope[..., rows, :]
        assert torch.allclose(gain, expected.expand_as(gain), rtol=0.01)


def test_more_strength_puts_no_glow_round_a_small_dark_object() -> None:
    """A dark square of two view pixels in a bright sky: the light follows its edges at full resolution."""
    size, half = 384, 8
    photo = torch.full((1, 3, size, size), 0.85)
    centre = size // 2
    photo[..., centre - half : centre + half, centre - half : centre + half] = 0.45
    view = resize_to(photo, (48, 48))
    slope = torch.full((1, 1, 48, 48), 1.5)
    offset = 0.8 * (1.0 - slope)
    one = apply_coefficients(photo, slope.expand(1, 3, 48, 48), offset.expand(1, 3, 48, 48)).clamp(0, 1)
    out = apply_coefficients(photo, *keep_light(slope, offset, view, 1.5, 6)).clamp(0, 1)
    sky = float(out[..., :32, :].mean())
    around = out[..., centre - 48 : centre - half, centre - 48 : centre + 48]  # the sky just above the square
    assert float(around.max()) < sky + 0.005  # no glow (a view-sized light blur gave +0.04 here)
    assert float(out[..., centre, centre].mean()) < float(one[..., centre, centre].mean()) - 0.03  # more contrast


def test_more_strength_keeps_the_light_where_iterating_the_maps_goes_black() -> None:
    view, slope, offset = _maps()
    one = (slope * view + offset).clamp(0, 1)
    iterated = scale_haze_removal(slope, offset, 1.5)
    kept = scale_strength(slope, offset, view, 1.5, 3)
    iterated_out, kept_out = [(a * view + b).clamp(0, 1) for a, b in (iterated, kept)]
    ground = (..., slice(12, 24), slice(None))
    assert float(iterated_out[ground].mean()) < float(one[ground].mean()) - 0.05  # the old strength darkens
    assert abs(float(kept_out[ground].mean()) - float(one[ground].mean())) < 0.03  # the light stays
    assert float(kept_out[ground].std()) > float(one[ground].std())  # and the contrast rises


def test_strength_up_to_one_is_the_iterated_maps() -> None:
    view, slope, offset = _maps()
    for strength in (0.0, 0.5, 1.0):
        expected = scale_haze_removal(slope, offset, strength)
        got = scale_strength(slope, offset, view, strength, 3)
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


@pytest.mark.parametrize("floor", [0.02, 0.05])
def test_shadow_floor_lifts_only_what_would_go_below_it(floor: float) -> None:
    view, slope, offset = _maps()
    lifted_slope, lifted_offset = lift_shadows(slope, offset, view, floor, 2)
    darkest = -torch.nn.functional.max_pool2d(-view, 5, stride=1, padding=2)
    assert float((lifted_slope * darkest + lifted_offset).min()) >= floor - 1e-6
    before, after = slope * view + offset, lifted_slope * view + lifted_offset
    assert torch.all(after >= before - 1e-6)
    compression = (after - before) / (1.0 - before)  # the same for every channel: no colour cast
    assert torch.allclose(compression, compression[:, :1].expand_as(compression), atol=1e-5)
    sky = (..., slice(0, 6), slice(None))  # far from the ground: the map keeps the sky above the floor
    assert torch.equal(after[sky], before.expand_as(after)[sky])
    unchanged = lift_shadows(slope, offset, view, 0.0, 2)
    assert torch.equal(unchanged[0], slope) and torch.equal(unchanged[1], offset)


def test_shadow_floor_puts_no_glow_beside_a_dark_object() -> None:
    """A map that takes a dark post to -0.2: the post rises to the floor, the bright sky beside it barely moves."""
    view = torch.full((1, 3, 24, 24), 0.8)
    view[..., 10:14, 11:13] = 0.1
    slope = torch.full((1, 1, 24, 24), 1.5)
    offset = torch.full((1, 3, 24, 24), -0.05)  # post: 1.5·0.1 − 0.05 = 0.1; made darker below
    offset[..., 10:14, 11:13] = -0.35
    lifted_slope, lifted_offset = lift_shadows(slope, offset, view, 0.05, 2)
    before, after = slope * view + offset, lifted_slope * view + lifted_offset
    assert float(after[..., 10:14, 11:13].min()) >= 0.05 - 1e-6
    beside = (..., slice(10, 14), slice(14, 17))  # sky pixels next to the post
    assert float((after - before)[beside].max()) < 0.01  # an even offset lift raised them by 0.25


def test_model_option_shadow_floor_keeps_outputs_off_black() -> None:
    torch.manual_seed(0)
    hazy = 0.4 + 0.5 * torch.rand(1, 3, 40, 56)
    model = GuidedGenerator(3, width=4, view_size=16).eval()
    with torch.inference_mode():
        plain = model(hazy, strength=2.0)
        model.shadow_floor = 0.05
        floored = model(hazy, strength=2.0)
    assert float((floored < 4 / 255).float().mean()) <= float((plain < 4 / 255).float().mean())
    assert float(floored.mean()) >= float(plain.mean())


def test_above_strength_one_the_floor_is_at_least_the_strength_floor() -> None:
    from dehaze.models.strength import STRENGTH_FLOOR

    torch.manual_seed(1)
    hazy = 0.3 + 0.6 * torch.rand(1, 3, 32, 48)
    plain = GuidedGenerator(3, width=4, view_size=16).eval()
    floored = GuidedGenerator(3, width=4, view_size=16, shadow_floor=STRENGTH_FLOOR).eval()
    floored.load_state_dict(plain.state_dict())
    with torch.inference_mode():
        assert torch.equal(plain(hazy, strength=1.5), floored(hazy, strength=1.5))
