"""The whole-scene guided generator: any size, scale consistency, bounded-memory strips, DCP start, old files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from dehaze import dcp
from dehaze.checkpoint import load_generator, save_generator
from dehaze.config import ModelConfig
from dehaze.haze import add_haze, synthetic_depth
from dehaze.models import guided
from dehaze.models.build import build_generator
from dehaze.models.guided import GuidedGenerator, apply_coefficients, upsampling, view_size_for
from dehaze.models.unet import UNetGenerator


def _photo(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A smooth-plus-edges test scene N×1×H×W in [0, 1]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    scene = 0.5 + 0.3 * np.sin(6 * x + 3 * y + rng.uniform(0, 6)) + 0.15 * (x > 0.5)
    return torch.from_numpy(np.clip(scene, 0, 1).astype(np.float32))[None, None]


def _hazy(clean: torch.Tensor, seed: int = 0) -> torch.Tensor:
    image = clean[0, 0].numpy()
    depth = synthetic_depth(*image.shape, np.random.default_rng(seed), image=image)
    return torch.from_numpy(add_haze(image, depth, 1.5, 0.85))[None, None]


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (5, 3), (48, 48), (181, 95), (700, 300)])
@pytest.mark.parametrize("channels", [1, 3])
def test_any_size_gives_same_size_output_in_range(size: tuple[int, int], channels: int) -> None:
    generator = GuidedGenerator(channels, width=4, view_size=16).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        out = generator(torch.rand(2, channels, *size))
    assert out.shape == (2, channels, *size)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_view_keeps_aspect_with_a_cap() -> None:
    assert view_size_for(180, 180, 48) == (48, 48)
    assert view_size_for(321, 481, 48) == (48, 72)
    assert view_size_for(100, 10_000, 48) == (48, 192)  # long side capped at 4× the short side
    assert view_size_for(2, 3, 48) == (48, 72)  # tiny images are looked at enlarged


def test_same_photo_at_two_sizes_gives_consistent_outputs() -> None:
    """The network's view is fixed in pixels, so a 2× larger photo is dehazed the same way (scale invariance)."""
    torch.manual_seed(0)
    generator = GuidedGenerator(1, width=8, view_size=32).eval()
    clean = _photo(256, 384)
    hazy_big = _hazy(clean)
    hazy_small = F.interpolate(hazy_big, scale_factor=0.5, mode="area")
    with torch.no_grad():
        out_big = F.interpolate(generator(hazy_big), scale_factor=0.5, mode="area")
        out_small = generator(hazy_small)
    assert (out_big - out_small).abs().mean() < 0.01
    assert (hazy_small - out_small).abs().mean() > 0.05  # and it did change the image


@pytest.mark.parametrize(("radius", "eps", "rows"), [(0, 0.0, 10), (2, 3e-4, 10), (3, 1e-2, 2), (2, 3e-4, 1)])
def test_strip_path_equals_whole_image_path(monkeypatch, radius: int, eps: float, rows: int) -> None:
    """At inference (no grad), coefficients are applied in strips of rows (bounded memory, cache-sized), with
    halos for the structure filter; the result is the training (autograd, whole-image) path's, also for strips
    thinner than the halo, and the same as the filter written with pooling."""
    torch.manual_seed(0)
    image = torch.rand(1, 3, 97, 61)
    slope, offset = torch.rand(1, 3, 7, 5) + 0.5, torch.rand(1, 3, 7, 5) - 0.5
    whole = apply_coefficients(image, slope, offset, radius, eps).detach()
    monkeypatch.setattr(upsampling, "STRIP_PIXELS", 3 * 61 * rows)
    with torch.no_grad():
        strips = apply_coefficients(image, slope, offset, radius, eps)
    assert torch.allclose(whole, strips, atol=1e-5)
    if radius:
        size = 2 * radius + 1
        mean = F.avg_pool2d(image, size, stride=1, padding=radius, count_include_pad=False)
        variance = F.avg_pool2d(image * image, size, stride=1, padding=radius, count_include_pad=False) - mean**2
        pooled = mean + variance / (variance + eps) * (image - mean)
        assert torch.allclose(guided.structure(image, radius, eps), pooled, atol=1e-5)


def test_gain_multiplies_structure_but_not_noise() -> None:
    """A flat, noisy region dehazed with gain 5 keeps (nearly) its noise amplitude; an edge is amplified 5×."""
    torch.manual_seed(0)
    flat = 0.6 + 0.004 * torch.randn(1, 1, 64, 64)
    edge = torch.zeros(1, 1, 64, 64)
    edge[..., 32:] = 0.1
    slope, offset = torch.full((1, 1, 4, 4), 5.0), torch.full((1, 1, 4, 4), -2.0)
    with torch.no_grad():
        plain = apply_coefficients(flat, slope, offset)
        kept = apply_coefficients(flat, slope, offset, 2, 1e-3)
        step = apply_coefficients(edge + 0.5, slope, offset, 2, 1e-3)
    assert plain.std().item() == pytest.approx(5 * flat.std().item(), rel=1e-3)
    assert kept.std() < 2 * flat.std()  # only the noise's local mean (1/25 of its power) gets the gain
    assert (step[..., 40:].mean() - step[..., :24].mean()).item() == pytest.approx(0.5, abs=0.02)


def test_untrained_model_starts_as_a_smooth_dark_channel_prior() -> None:
    """The head starts near zero, so before training the output is the low-resolution DCP's inverse: it removes
    haze (closer to the clean scene than the hazy input) before any training."""
    torch.manual_seed(0)
    generator = GuidedGenerator(1).eval()
    clean = F.interpolate(torch.from_numpy(skimage.data.camera() / 255.0).float()[None, None], size=(192, 192))
    hazy = _hazy(clean)
    with torch.no_grad():
        out = generator(hazy)
    error_out = (out - clean).abs().mean()
    assert error_out < (hazy - clean).abs().mean()
    full_dcp = torch.from_numpy(dcp.dark_channel_prior(hazy[0, 0].numpy()))
    assert error_out < 2 * (full_dcp - clean[0, 0]).abs().mean()


def test_guided_checkpoint_round_trip(tmp_path: Path) -> None:
    cfg = ModelConfig(width=4, view_size=16, in_channels=3, out_channels=3)
    model = build_generator(cfg)
    save_generator(model, cfg, tmp_path / "g.safetensors")
    loaded, loaded_cfg = load_generator(tmp_path / "g.safetensors")
    assert loaded_cfg == cfg and isinstance(loaded, GuidedGenerator)
    x = torch.rand(1, 3, 33, 47)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), loaded(x))


def test_old_unet_checkpoint_without_arch_still_loads(tmp_path: Path) -> None:
    """Files written before the guided generator existed have no ``arch`` in their config: they are U-Nets."""
    cfg = ModelConfig(arch="unet", base_width=4, depth=2)
    path = tmp_path / "old.safetensors"
    save_generator(build_generator(cfg), cfg, path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    fields = json.loads(metadata["model_config"])
    for key in ("arch", "width", "view_size", "prior_patch", "guide_radius", "guide_eps"):
        fields.pop(key)
    metadata["model_config"] = json.dumps(fields)
    save_file(tensors, str(path), metadata=metadata)
    model, loaded_cfg = load_generator(path)
    assert isinstance(model, UNetGenerator) and loaded_cfg.arch == "unet"


def test_global_head_corrects_density_and_airlight_and_learns() -> None:
    """The image-level head starts as the plain model (density 1, airlight as estimated) and its two estimates
    move the output the way the scattering model says: denser haze brightens less, i.e. darkens the output."""
    torch.manual_seed(0)
    plain = GuidedGenerator(3, width=4, view_size=16, detail_eps=0.0, global_head=False)
    headed = GuidedGenerator(3, width=4, view_size=16, detail_eps=0.0, global_head=True)
    plain.net.head.weight.data.zero_()  # no per-pixel corrections: both are the smooth DCP
    headed.load_state_dict(plain.state_dict(), strict=False)
    headed.net.global_head.weight.data.zero_()
    hazy = _hazy(_photo(40, 56)).expand(1, 3, 40, 56).contiguous()
    with torch.no_grad():
        assert torch.allclose(plain(hazy), headed(hazy), atol=1e-5)
        headed.net.global_head.bias.data[0] = 0.5  # density ×1.65: a larger slope 1/t everywhere
        denser = headed(hazy)
    assert denser.mean() < plain(hazy).detach().mean() - 0.01
    headed.net.global_head.bias.data.zero_()
    headed(hazy).mean().backward()
    assert headed.net.global_head.weight.grad.abs().sum() > 0


def _save_without_option(cfg: ModelConfig, path: Path, option: str) -> Path:
    """A checkpoint of ``cfg`` whose metadata lacks ``option``, as files written before the option existed."""
    save_generator(build_generator(cfg), cfg, path)
    with safe_open(str(path), "pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        metadata = handle.metadata()
    fields = json.loads(metadata["model_config"])
    del fields[option]
    save_file(tensors, str(path), metadata={**metadata, "model_config": json.dumps(fields)})
    return path


def test_files_without_the_global_head_option_load_as_before(tmp_path: Path) -> None:
    cfg = ModelConfig(width=4, view_size=16, global_head=False)
    loaded, cfg = load_generator(_save_without_option(cfg, tmp_path / "old.safetensors", "global_head"))
    assert cfg.global_head is False and loaded.net.global_head is None


def test_image_statistics_reach_the_global_head_and_old_files_load_without_them(tmp_path: Path) -> None:
    """With ``global_stats`` the head reads plain image statistics (one value per cue, in about [−1, 1]) next to
    the pooled features: changing the photo's brightness changes them, and the head's weight on them learns."""
    from dehaze.models.guided import image_statistics_count

    torch.manual_seed(0)
    model = GuidedGenerator(3, width=4, view_size=16, detail_eps=0.0, global_head=True, global_stats=True)
    assert model.net.global_head.in_features == 16 + image_statistics_count(3)
    hazy = _hazy(_photo(40, 56)).expand(1, 3, 40, 56).contiguous()
    seen = []
    model.net.register_forward_hook(lambda module, inputs, output: seen.append(inputs[1]))
    model(hazy).mean().backward()
    model(hazy * 0.5)
    assert seen[0].shape == (1, image_statistics_count(3)) and seen[0].abs().max() <= 1.0 + 1e-5
    assert not torch.allclose(seen[0], seen[1])
    assert model.net.global_head.weight.grad[:, 16:].abs().sum() > 0
    cfg = ModelConfig(width=4, view_size=16, in_channels=3, out_channels=3, global_stats=True)
    path = tmp_path / "stats.safetensors"
    save_generator(build_generator(cfg), cfg, path)
    loaded, loaded_cfg = load_generator(path)
    assert loaded_cfg.global_stats and loaded.global_stats
    old = _save_without_option(ModelConfig(width=4, view_size=16), path, "global_stats")
    assert load_generator(old)[1].global_stats is False


@pytest.mark.parametrize("detail_eps", [0.0, 1e-4])
def test_gray_photo_through_an_rgb_model_equals_the_luminance_of_its_rgb_output(detail_eps: float) -> None:
    """``dehaze_gray`` applies one luminance-weighted map instead of three: the same result where nothing clips."""
    from dehaze.color import luminance

    torch.manual_seed(0)
    model = GuidedGenerator(3, width=4, view_size=16, detail_eps=detail_eps, global_head=True).eval()
    torch.nn.init.normal_(model.net.head.weight, std=0.05)  # per-channel offsets that differ
    gray = _hazy(_photo(40, 56))
    with torch.no_grad():
        fast = model.dehaze_gray(gray)
        rgb = model(gray.expand(1, 3, -1, -1).contiguous())
        slow = luminance(rgb)
    unclipped = ((rgb > 0) & (rgb < 1)).all(dim=1, keepdim=True)
    assert unclipped.float().mean() > 0.5
    assert torch.allclose(fast[unclipped], slow[unclipped], atol=1e-5)
    with pytest.raises(ValueError):
        model.dehaze_gray(gray.expand(1, 3, -1, -1))


def test_dehazer_with_only_an_rgb_model_takes_gray_photos_the_fast_way() -> None:
    """A gray photo and an RGB model: ``Dehazer`` uses ``dehaze_gray``, equal to the luminance of the RGB output."""
    from dehaze.inference import Dehazer

    torch.manual_seed(1)
    cfg = ModelConfig(width=4, view_size=16, in_channels=3, out_channels=3)
    model = build_generator(cfg)
    torch.nn.init.normal_(model.net.head.weight, std=0.05)
    gray = _hazy(_photo(40, 56))[0, 0].numpy()
    fast = Dehazer(model, cfg, color="auto").dehaze_array(gray)
    slow = Dehazer(model, cfg, color="gray").dehaze_array(np.repeat(gray[..., None], 3, axis=2))[..., 0]
    assert fast.shape == gray.shape and np.abs(fast - slow).mean() < 1e-3


def test_the_models_own_removal_strength_multiplies_the_callers() -> None:
    """``removal`` r at strength s equals removal 1 at strength r·s; old files load with removal 1."""
    torch.manual_seed(2)
    base = GuidedGenerator(3, width=4, view_size=16, global_head=True).eval()
    calibrated = GuidedGenerator(3, width=4, view_size=16, global_head=True, removal=1.2).eval()
    calibrated.load_state_dict(base.state_dict())
    hazy = _hazy(_photo(40, 56)).expand(1, 3, 40, 56).contiguous()
    with torch.no_grad():
        assert torch.allclose(calibrated(hazy), base(hazy, strength=1.2), atol=1e-6)
        assert torch.allclose(calibrated(hazy, strength=0.5), base(hazy, strength=0.6), atol=1e-6)
        assert not torch.allclose(calibrated(hazy), base(hazy), atol=1e-3)
    assert ModelConfig().removal == 1.0 and build_generator(ModelConfig(removal=1.3)).removal == 1.3
