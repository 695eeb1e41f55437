"""``--strength``: how much haze to remove, in the model's own terms (its affine maps iterated, the U-Net residual)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dehaze.checkpoint import save_generator
from dehaze.cli.infer import main as infer_main
from dehaze.config import ModelConfig
from dehaze.dcp import guided_coefficients
from dehaze.inference import Dehazer
from dehaze.models.build import build_generator
from dehaze.models.guided import GuidedGenerator, apply_coefficients, resize_to, view_size_for
from dehaze.models.strength import scale_haze_removal
from dehaze.models.unet import UNetGenerator


def _hazy(channels: int = 3, size: tuple[int, int] = (40, 56), seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    scene = rng.uniform(0.0, 0.6, (1, channels, *size)).astype(np.float32)
    depth = np.linspace(0.2, 0.9, size[0], dtype=np.float32)[:, None]
    transmission = np.exp(-1.5 * depth)
    return torch.from_numpy(scene * transmission + 0.85 * (1 - transmission))


def _guided(channels: int = 3) -> GuidedGenerator:
    torch.manual_seed(0)
    model = GuidedGenerator(channels=channels, width=8, view_size=16, global_head=True, global_stats=True).eval()
    with torch.no_grad():  # a model whose corrections are not near zero, like a trained one
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model


def _forward_before_strength(model: GuidedGenerator, hazy: torch.Tensor) -> torch.Tensor:
    """GuidedGenerator.forward as it was before strength existed, step by step."""
    view = resize_to(hazy, view_size_for(*hazy.shape[-2:], model.view_size))
    slope, offset = model.coefficients(view)
    fit_slope, fit_offset = guided_coefficients(
        view, slope * view + offset, model.guide_radius, model.guide_eps, prior_slope=slope
    )
    return apply_coefficients(hazy, fit_slope, fit_offset, model.detail_radius, model.detail_eps).clamp_(0.0, 1.0)


def test_strength_one_is_bit_identical_to_the_model_without_strength() -> None:
    model, hazy = _guided(), _hazy()
    with torch.inference_mode():
        before = _forward_before_strength(model, hazy)
        assert torch.equal(model(hazy), before)
        assert torch.equal(model(hazy, strength=1.0), before)
    dehazer = Dehazer(model, ModelConfig(arch="guided", in_channels=3, out_channels=3), device="cpu")
    default = dehazer.dehaze_array(hazy[0].permute(1, 2, 0).numpy())
    one = Dehazer(model, dehazer.model_cfg, device="cpu", strength=1.0).dehaze_array(hazy[0].permute(1, 2, 0).numpy())
    assert np.array_equal(default, one)


@pytest.mark.parametrize("channels", [1, 3])
def test_strength_zero_returns_the_input_exactly(channels: int) -> None:
    hazy = _hazy(channels)
    with torch.inference_mode():
        assert torch.equal(_guided(channels)(hazy, strength=0.0), hazy)


def test_scaled_maps_are_the_map_iterated_with_its_fixed_point_kept() -> None:
    slope = torch.tensor([0.7, 1.0, 1.0 + 1e-8, 2.5, 9.0]).view(1, 1, 1, 5)
    offset = torch.tensor([0.1, 0.05, -0.02, -1.2, -7.2]).view(1, 1, 1, 5)
    twice_slope, twice_offset = scale_haze_removal(slope, offset, 2.0)
    assert torch.allclose(twice_slope, slope * slope)
    assert torch.allclose(twice_offset, slope * offset + offset, atol=1e-6)  # a(aI + b) + b
    half_slope, half_offset = scale_haze_removal(slope, offset, 0.5)
    again_slope, again_offset = scale_haze_removal(half_slope, half_offset, 2.0)
    assert torch.allclose(again_slope, slope, atol=1e-5) and torch.allclose(again_offset, offset, atol=1e-5)
    away = (slope - 1).abs() > 1e-3  # the airlight (fixed point b / (1 − a)) stays where it is
    s_slope, s_offset = scale_haze_removal(slope, offset, 1.7)
    assert torch.allclose((s_offset / (1 - s_slope))[away], (offset / (1 - slope))[away], rtol=1e-4)
    identity = scale_haze_removal(slope, offset, 0.0)
    assert torch.equal(identity[0], torch.ones_like(slope)) and torch.equal(identity[1], torch.zeros_like(offset))


def test_more_strength_removes_more_haze() -> None:
    """Up to 1 the dark channel falls (the maps' own physics); above 1 the contrast keeps rising. This model's maps
    take a quarter of the pixels to black at strength 1; above 1 the shadow floor lifts them (towards white, which
    costs contrast where it acts), so the contrast is compared between strengths that all have the floor."""
    model, hazy = _guided(), _hazy()
    with torch.inference_mode():
        darks = [float(model(hazy, strength=s).amin(dim=1).mean()) for s in (0.0, 0.5, 1.0)]
        spreads = [float(model(hazy, strength=s).std()) for s in (1.25, 1.5, 2.0)]
        black = [float((model(hazy, strength=s) < 4 / 255).float().mean()) for s in (1.0, 1.5)]
    assert darks == sorted(darks, reverse=True) and darks[0] - darks[-1] > 0.05
    assert spreads == sorted(spreads) and spreads[-1] - spreads[0] > 0.01
    assert black[1] < black[0] / 2  # the floor keeps what strength 1 sends to black off black


@pytest.mark.parametrize("head", ["image", "asm"])
def test_unet_strength_scales_its_residual_or_transmission(head: str) -> None:
    torch.manual_seed(0)
    model = UNetGenerator(3, 3, base_width=4, depth=2, head=head, residual=True).eval()
    hazy = _hazy(size=(16, 16))
    with torch.inference_mode():
        assert torch.equal(model(hazy, strength=1.0), model(hazy))
        zero = model(hazy, strength=0.0)
        assert torch.allclose(zero, hazy, atol=1e-6)
        if head == "image":  # the residual head: hazy + S·r, before the clamp
            one, two = model(hazy), model(hazy, strength=2.0)
            inside = ((2 * one - hazy) > 0) & ((2 * one - hazy) < 1)
            assert torch.allclose(two[inside], (2 * one - hazy)[inside], atol=1e-5)


def test_plain_image_head_refuses_strength() -> None:
    model = UNetGenerator(3, 3, base_width=4, depth=1, head="image", residual=False)
    cfg = ModelConfig(arch="unet", in_channels=3, out_channels=3, base_width=4, depth=1, residual=False)
    with pytest.raises(Exception, match="strength other than 1 needs"):
        Dehazer(model, cfg, device="cpu", strength=0.5)


def _checkpoint(tmp_path: Path) -> Path:
    cfg = ModelConfig(arch="guided", in_channels=3, out_channels=3, width=8, view_size=16)
    path = tmp_path / "g.safetensors"
    save_generator(build_generator(cfg), cfg, path)
    return path


def test_cli_strength_zero_writes_the_input_and_bad_values_are_one_line(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "in" / "a.png"
    photo.parent.mkdir()
    pixels = (_hazy(size=(24, 32))[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(photo)
    checkpoint = _checkpoint(tmp_path)
    assert infer_main([str(photo), "-o", str(tmp_path / "o"), "--checkpoint", str(checkpoint), "--strength", "0"]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o" / "a.png")), pixels)
    capsys.readouterr()
    for value in ("-0.5", "9", "nan"):
        code = infer_main([str(photo), "-o", str(tmp_path / "x"), "--checkpoint", str(checkpoint), "--strength", value])
        err = capsys.readouterr().err
        assert code == 1 and err.startswith("error: --strength must be in [0, ") and err.count("\n") == 1
    assert infer_main([str(photo), "-o", str(tmp_path / "d"), "--dcp", "--strength", "2"]) == 1
    assert "not to --dcp" in capsys.readouterr().err
