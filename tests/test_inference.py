"""Inference: tiling/blending against untiled runs, any image size, colour modes and the Python API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from kornia.color import rgb_to_ycbcr
from PIL import Image
from torch import nn

from dehaze.checkpoint import save_generator
from dehaze.config import ModelConfig
from dehaze.errors import DehazeError
from dehaze.inference import Dehazer, fuse_conv_batchnorm
from dehaze.models.build import build_generator
from dehaze.tiling import blend_windows, tile_starts, tiled_apply

TINY = ModelConfig(arch="unet", base_width=4, depth=2)


def tiny_generator(cfg: ModelConfig = TINY, seed: int = 0) -> nn.Module:
    """Random tiny U-Net whose output visibly differs from its input (larger head, non-trivial BN statistics)."""
    torch.manual_seed(seed)
    generator = build_generator(cfg).eval()
    with torch.no_grad():
        generator.head.weight.mul_(30)
        for module in generator.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return generator


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_generator(tiny_generator(), TINY, path)
    return path


def random_image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.mark.parametrize("length,tile,step,multiple", [(64, 16, 12, 4), (992, 512, 480, 16), (1008, 512, 480, 16)])
def test_tile_starts_cover_aligned_and_at_most_step_apart(length: int, tile: int, step: int, multiple: int) -> None:
    starts = tile_starts(length, tile, step, multiple)
    assert starts[0] == 0 and starts[-1] + tile == length
    assert all(s % multiple == 0 for s in starts)
    assert all(0 < b - a <= step for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.parametrize("length,tile,step", [(64, 16, 12), (100, 32, 16), (1008, 512, 480), (40, 16, 16)])
def test_blend_windows_sum_to_one(length: int, tile: int, step: int) -> None:
    starts = tile_starts(length, tile, step)
    total = torch.zeros(length)
    for start, window in zip(starts, blend_windows(starts, tile), strict=True):
        assert window.min() >= 0 and window.max() <= 1
        total[start : start + tile] += window
    assert torch.allclose(total, torch.ones(length), atol=1e-6)


@pytest.mark.parametrize("overlap", [0, 5, 8])
def test_tiling_is_exact_for_a_pointwise_model(overlap: int) -> None:
    model = nn.Conv2d(3, 2, 1)
    images = torch.rand(2, 3, 45, 70)
    with torch.inference_mode():
        tiled = tiled_apply(model, images, tile=16, overlap=overlap, batch_size=3)
        assert torch.allclose(tiled, model(images), atol=1e-6)


def test_tiling_is_exact_when_receptive_field_fits_a_quarter_of_the_overlap() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(  # receptive field radius 3 px; zero-weight margins are overlap / 4 = 4 px
        nn.Conv2d(1, 8, 3, padding=1),
        nn.Tanh(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.Tanh(),
        nn.Conv2d(8, 1, 3, padding=1),
    )
    images = torch.rand(1, 1, 57, 83)
    with torch.inference_mode():
        tiled = tiled_apply(model, images, tile=32, overlap=16, batch_size=4)
        assert torch.allclose(tiled, model(images), atol=1e-6)


def test_tiled_unet_matches_untiled_unet() -> None:
    """The U-Net's receptive field is wider than the zero-weight margins, so tiling is close, not exact.

    With BatchNorm in eval mode and tiles aligned to the down-sampling grid, the only difference is the padding
    seen near tile borders, which the blending weights almost cancel: the worst pixel moves by < 1e-3 (a quarter
    of an 8-bit grey level) while the model itself changes pixels by ~0.08 on average.
    """
    generator = tiny_generator()
    images = torch.rand(1, 1, 64, 64)
    with torch.inference_mode():
        untiled = generator(images)
        tiled = tiled_apply(generator, images, tile=32, overlap=16, batch_size=4, multiple=generator.multiple)
    assert (untiled - images).abs().mean() > 0.03  # the model really does something
    assert (tiled - untiled).abs().max() < 1e-3
    assert (tiled - untiled).abs().mean() < 1e-4


def test_batchnorm_folding_keeps_outputs() -> None:
    generator = tiny_generator()
    fused = fuse_conv_batchnorm(generator)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in generator.modules())  # original untouched
    images = torch.rand(2, 1, 40, 24)
    with torch.inference_mode():
        assert torch.allclose(fused(images), generator(images), atol=1e-5)


@pytest.mark.parametrize("shape", [(23, 37), (37, 23, 1), (1, 1), (5, 3, 3), (65, 33, 3), (70, 90)])
@pytest.mark.parametrize("tile", [None, 16])
def test_output_size_equals_input_size(shape: tuple[int, ...], tile: int | None) -> None:
    dehazer = Dehazer(tiny_generator(), TINY, device="cpu", tile=tile, overlap=4, color="luminance")
    result = dehazer(random_image(shape))
    assert isinstance(result, np.ndarray) and result.dtype == np.float32
    assert result.shape == shape
    assert result.min() >= 0.0 and result.max() <= 1.0


def test_tiled_dehazer_matches_whole_image_dehazer() -> None:
    image = random_image((64, 80))
    whole = Dehazer(tiny_generator(), TINY, device="cpu", tile=None)(image)
    tiled = Dehazer(tiny_generator(), TINY, device="cpu", tile=32, overlap=16, batch_size=3)(image)
    assert np.abs(whole - tiled).max() < 1e-3


def test_gray_mode_dehazes_the_luminance() -> None:
    rgb = random_image((20, 30, 3))
    dehazer = Dehazer(tiny_generator(), TINY, device="cpu", color="gray")
    result = dehazer(rgb)
    assert result.shape == (20, 30, 1)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(result[..., 0], dehazer(luma), atol=1e-5)
    assert np.abs(result[..., 0] - luma).mean() > 0.02


def test_luminance_mode_keeps_chroma() -> None:
    rng = np.random.default_rng(1)  # mild colours, so the dehazed RGB is rarely clipped
    base = rng.uniform(0.3, 0.7, (24, 32, 1)).astype(np.float32)
    rgb = np.clip(base + rng.uniform(-0.06, 0.06, (24, 32, 3)).astype(np.float32), 0, 1)
    dehazer = Dehazer(tiny_generator(), TINY, device="cpu", color="luminance")
    result = dehazer(rgb)
    assert result.shape == rgb.shape
    before = rgb_to_ycbcr(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0]
    after = rgb_to_ycbcr(torch.from_numpy(result).permute(2, 0, 1)[None])[0]
    unclipped = ((result > 0) & (result < 1)).all(axis=2)
    assert unclipped.mean() > 0.8
    mask = torch.from_numpy(unclipped)
    assert torch.allclose(after[1:, mask], before[1:, mask], atol=1e-4)  # Cb, Cr unchanged
    assert (after[0] - before[0]).abs().mean() > 0.02  # Y changed


def test_per_channel_mode_dehazes_each_channel_like_a_gray_image() -> None:
    rgb = random_image((21, 34, 3))
    dehazer = Dehazer(tiny_generator(), TINY, device="cpu", color="per-channel")
    result = dehazer(rgb)
    assert result.shape == rgb.shape
    for channel in range(3):
        np.testing.assert_allclose(result[..., channel], dehazer(rgb[..., channel]), atol=1e-5)


def test_three_channel_model_takes_colour_directly() -> None:
    cfg = ModelConfig(arch="unet", in_channels=3, out_channels=3, base_width=4, depth=2)
    rgb = random_image((19, 26, 3))
    assert Dehazer(tiny_generator(cfg), cfg, device="cpu", color="per-channel")(rgb).shape == (19, 26, 3)
    assert Dehazer(tiny_generator(cfg), cfg, device="cpu", color="gray")(rgb).shape == (19, 26, 1)
    assert Dehazer(tiny_generator(cfg), cfg, device="cpu")(rgb[..., 0]).shape == (19, 26)


def test_uint8_array_gives_uint8() -> None:
    image = (random_image((17, 9)) * 255).astype(np.uint8)
    result = Dehazer(tiny_generator(), TINY, device="cpu")(image)
    assert result.dtype == np.uint8 and result.shape == (17, 9)


def test_python_api_on_pil_images(checkpoint: Path) -> None:
    from dehaze import Dehazer as PublicDehazer

    dehazer = PublicDehazer.from_checkpoint(checkpoint, device="cpu")
    rgb = Image.fromarray((random_image((23, 37, 3)) * 255).astype(np.uint8))
    out = dehazer(rgb)
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == rgb.size  # auto: colour stays colour
    gray = PublicDehazer.from_checkpoint(checkpoint, device="cpu", color="gray")(rgb)
    assert gray.mode == "L" and gray.size == rgb.size
    colour = PublicDehazer.from_checkpoint(checkpoint, device="cpu", color="luminance")(rgb)
    assert colour.mode == "RGB" and colour.size == rgb.size
    sixteen = Image.fromarray((random_image((30, 20)) * 65535).astype(np.uint16))
    assert dehazer(sixteen).size == (20, 30)
    rgba = Image.new("RGBA", (12, 7), (10, 200, 30, 0))  # fully transparent → white → dehazed white-ish
    assert dehazer(rgba).size == (12, 7)
    assert dehazer(rgb.convert("P")).size == rgb.size


def test_from_checkpoint_none_uses_default_model(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(checkpoint))
    assert Dehazer.from_checkpoint(None, device="cpu").model_cfg == TINY
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(checkpoint.parent / "missing.safetensors"))
    with pytest.raises(DehazeError, match="missing"):
        Dehazer.from_checkpoint(None, device="cpu")


def test_bad_options_are_user_errors() -> None:
    with pytest.raises(DehazeError, match="colour mode"):
        Dehazer(tiny_generator(), TINY, device="cpu", color="sepia")  # type: ignore[arg-type]
    with pytest.raises(DehazeError, match="overlap"):
        Dehazer(tiny_generator(), TINY, device="cpu", tile=32, overlap=32)
    with pytest.raises(DehazeError, match="shape"):
        Dehazer(tiny_generator(), TINY, device="cpu")(np.zeros((4, 4, 2), np.float32))


RGB_TINY = ModelConfig(in_channels=3, out_channels=3, width=4, view_size=16)
GRAY_TINY = ModelConfig(width=4, view_size=16)


def test_auto_mode_with_a_gray_model_keeps_colour_by_dehazing_each_channel() -> None:
    rgb = random_image((21, 34, 3))
    auto = Dehazer(tiny_generator(), TINY, device="cpu")  # auto is the default
    per_channel = Dehazer(tiny_generator(), TINY, device="cpu", color="per-channel")
    np.testing.assert_allclose(auto(rgb), per_channel(rgb), atol=1e-6)
    assert auto(rgb[..., 0]).shape == (21, 34)


def test_auto_mode_sends_colour_to_the_rgb_model_and_gray_to_the_gray_model(tmp_path: Path, monkeypatch) -> None:
    torch.manual_seed(0)
    gray_model, rgb_model = build_generator(GRAY_TINY), build_generator(RGB_TINY)
    save_generator(gray_model, GRAY_TINY, tmp_path / "gray.safetensors")
    save_generator(rgb_model, RGB_TINY, tmp_path / "rgb.safetensors")
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(tmp_path / "gray.safetensors"))
    monkeypatch.setenv("DEHAZE_RGB_CHECKPOINT", str(tmp_path / "rgb.safetensors"))
    dehazer = Dehazer.from_checkpoint(None, device="cpu")
    assert dehazer.channels == 1 and dehazer.companion is not None and dehazer.companion.channels == 3
    rgb, gray = random_image((40, 52, 3)), random_image((40, 52))
    colour_out, gray_out = dehazer(rgb), dehazer(gray)
    assert colour_out.shape == rgb.shape and gray_out.shape == gray.shape
    rgb_only = Dehazer(rgb_model, RGB_TINY, device="cpu")
    gray_only = Dehazer(gray_model, GRAY_TINY, device="cpu")
    np.testing.assert_allclose(colour_out, rgb_only(rgb), atol=1e-6)
    np.testing.assert_allclose(gray_out, gray_only(gray), atol=1e-6)


def test_rgb_model_alone_gives_gray_out_for_gray_in() -> None:
    dehazer = Dehazer(build_generator(RGB_TINY), RGB_TINY, device="cpu")
    assert dehazer(random_image((30, 20))).shape == (30, 20)
    assert dehazer(random_image((30, 20, 3))).shape == (30, 20, 3)


def test_pure_gray_rgb_gives_equal_channels_out(tmp_path: Path, monkeypatch) -> None:
    """Auto mode: an RGB image whose channels are equal (a gray scene saved as RGB) comes back with equal channels,
    through the gray model, whatever per-channel offsets the RGB model has learned."""
    torch.manual_seed(0)
    rgb_model = build_generator(RGB_TINY)
    with torch.no_grad():
        rgb_model.net.head.bias[1:] = torch.tensor([0.05, 0.0, -0.05])  # an RGB model that tints on its own
    save_generator(build_generator(GRAY_TINY), GRAY_TINY, tmp_path / "gray.safetensors")
    save_generator(rgb_model, RGB_TINY, tmp_path / "rgb.safetensors")
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(tmp_path / "gray.safetensors"))
    monkeypatch.setenv("DEHAZE_RGB_CHECKPOINT", str(tmp_path / "rgb.safetensors"))
    gray = random_image((33, 41))
    rgb = np.repeat(gray[..., None], 3, axis=2)
    for dehazer in (Dehazer.from_checkpoint(None, device="cpu"), Dehazer(rgb_model, RGB_TINY, device="cpu")):
        result = dehazer(rgb)
        assert result.shape == rgb.shape
        assert np.array_equal(result[..., 0], result[..., 1]) and np.array_equal(result[..., 1], result[..., 2])
        assert np.abs(result[..., 0] - gray).mean() > 1e-3  # dehazed, not passed through
    tinted = Dehazer(rgb_model, RGB_TINY, device="cpu", color="per-channel")(rgb)  # the model alone does tint
    assert np.abs(tinted[..., 0] - tinted[..., 2]).max() > 1e-3
