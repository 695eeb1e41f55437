"""PSNR / SSIM / spectral distance and evaluate_pairs (no Inception here: fid=False)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from dehaze.errors import DehazeError
from dehaze.imageio import read_image, save_image, to_tensor
from dehaze.metrics.evaluate import evaluate_pairs
from dehaze.metrics.quality import psnr, spectral_distance, ssim


def _image(seed: int, size: tuple[int, int] = (32, 40), channels: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, channels, *size, generator=generator) * 0.8 + 0.1


def _checkerboard_noise(shape: tuple[int, ...], amplitude: float) -> torch.Tensor:
    """±amplitude in a checkerboard: MSE is exactly amplitude²."""
    rows = torch.arange(shape[-2])[:, None]
    cols = torch.arange(shape[-1])[None, :]
    sign = ((rows + cols) % 2 * 2 - 1).to(torch.float32)
    return (sign * amplitude).expand(shape)


def test_psnr_identical_is_inf() -> None:
    image = _image(0)
    assert psnr(image, image.clone()) == math.inf


def test_psnr_known_noise_matches_analytic_value() -> None:
    clean = torch.full((2, 3, 16, 16), 0.5)
    noisy = clean + _checkerboard_noise(clean.shape, 0.1)  # MSE = 0.01 → 20 dB
    assert psnr(noisy, clean) == pytest.approx(20.0, abs=1e-5)


def test_psnr_is_the_mean_of_per_image_values() -> None:
    clean = torch.full((2, 1, 8, 8), 0.5)
    noisy = clean.clone()
    noisy[0] += _checkerboard_noise((1, 8, 8), 0.1)  # 20 dB
    noisy[1] += _checkerboard_noise((1, 8, 8), 0.01)  # 40 dB
    assert psnr(noisy, clean) == pytest.approx(30.0, abs=1e-5)


def test_ssim_identical_is_one_and_noise_lowers_it() -> None:
    image = _image(1, channels=3)
    assert ssim(image, image.clone()) == pytest.approx(1.0, abs=1e-6)
    noisy = (image + 0.2 * torch.randn(image.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    assert ssim(noisy, image) < 0.9


def _skimage_pair(channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A real photo crop (scikit-image's camera / astronaut) and a hazed, blurred, noisy copy: H×W×C float64."""
    from scipy.ndimage import gaussian_filter
    from skimage import data

    clean = (data.camera()[None] if channels == 1 else data.astronaut().transpose(2, 0, 1))[:, 100:196, 120:248]
    clean = clean.astype(np.float64) / 255.0
    hazy = 0.7 * gaussian_filter(clean, sigma=(0, 1.0, 1.0)) + 0.3 * 0.85
    noise = np.random.default_rng(0).normal(0.0, 0.03, clean.shape)
    return clean.transpose(1, 2, 0), np.clip(hazy + noise, 0.0, 1.0).transpose(1, 2, 0)


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_matches_scikit_image(channels: int) -> None:
    from skimage.metrics import structural_similarity

    clean, hazy = _skimage_pair(channels)
    expected = structural_similarity(
        hazy,
        clean,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
        channel_axis=2,
    )
    assert 0.2 < expected < 0.9
    for dtype in (torch.float64, torch.float32):
        ours = ssim(
            torch.from_numpy(hazy).permute(2, 0, 1).to(dtype), torch.from_numpy(clean).permute(2, 0, 1).to(dtype)
        )
        assert ours == pytest.approx(expected, abs=1e-6)


def test_ssim_batch_is_the_mean_and_small_images_shrink_the_window() -> None:
    clean, hazy = (torch.from_numpy(x).permute(2, 0, 1).float() for x in _skimage_pair(3))
    pair_values = [ssim(hazy, clean), ssim(clean, clean)]
    assert ssim(torch.stack([hazy, clean]), torch.stack([clean, clean])) == pytest.approx(np.mean(pair_values))
    for size in [(7, 9), (10, 30), (1, 5)]:
        tiny_a, tiny_b = _image(4, size, channels=3), _image(5, size, channels=3)
        assert ssim(tiny_a, tiny_a.clone()) == pytest.approx(1.0, abs=1e-6)
        assert -1.0 <= ssim(tiny_a, tiny_b) < 1.0


def test_spectral_distance_identical_is_zero_and_scaling_is_log4() -> None:
    image = _image(3)
    assert spectral_distance(image, image.clone()) == 0.0
    # Halving the image divides the power in every bin by 4: |log P_a − log P_b| = log 4 (empty bins add 0).
    distance = spectral_distance(image, image * 0.5)
    assert 0.9 * math.log(4.0) < distance <= math.log(4.0) + 1e-9


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="same shape"):
        psnr(_image(0, (8, 8)), _image(0, (8, 9)))


def _write_pairs(tmp_path: Path) -> list[tuple[Path, Path]]:
    rng = np.random.default_rng(0)
    pairs = []
    for index, (height, width) in enumerate([(24, 32), (40, 28), (33, 33)]):
        clean = rng.uniform(0.2, 0.9, size=(height, width, 1)).astype(np.float32)
        hazy = 0.6 * clean + 0.4 * 0.9
        clean_path, hazy_path = tmp_path / "clean" / f"{index}.png", tmp_path / "hazy" / f"{index}.png"
        save_image(clean, clean_path)
        save_image(hazy, hazy_path)
        pairs.append((hazy_path, clean_path))
    return pairs


def test_evaluate_pairs_hazy_row_averages_per_image_metrics(tmp_path: Path) -> None:
    pairs = _write_pairs(tmp_path)
    result = evaluate_pairs(None, pairs, channels=1, fid=False, progress=False)
    expected = []
    for hazy_path, clean_path in pairs:
        hazy = to_tensor(read_image(hazy_path, channels=1))[None]
        clean = to_tensor(read_image(clean_path, channels=1))[None]
        expected.append((psnr(hazy, clean), ssim(hazy, clean), spectral_distance(hazy, clean)))
    assert result["count"] == 3
    assert result["fid"] is None
    assert result["psnr"] == pytest.approx(np.mean([e[0] for e in expected]))
    assert result["ssim"] == pytest.approx(np.mean([e[1] for e in expected]))
    assert result["spectral_distance"] == pytest.approx(np.mean([e[2] for e in expected]))
    identity = evaluate_pairs(lambda x: x, pairs, channels=1, fid=False, progress=False)
    assert identity["psnr"] == pytest.approx(result["psnr"])


def test_evaluate_pairs_inverting_the_haze_scores_better(tmp_path: Path) -> None:
    pairs = _write_pairs(tmp_path)
    hazy_row = evaluate_pairs(None, pairs, fid=False, progress=False)
    dehazed = evaluate_pairs(lambda x: (x - 0.4 * 0.9) / 0.6, pairs, fid=False, progress=False)
    assert dehazed["psnr"] > hazy_row["psnr"] + 10
    assert dehazed["ssim"] > hazy_row["ssim"]
    assert dehazed["spectral_distance"] < hazy_row["spectral_distance"]


def test_evaluate_pairs_rejects_wrong_output_size(tmp_path: Path) -> None:
    pairs = _write_pairs(tmp_path)
    with pytest.raises(DehazeError, match="dehazed output has shape"):
        evaluate_pairs(lambda x: x[1:], pairs, fid=False, progress=False)
    with pytest.raises(DehazeError, match="no image pairs"):
        evaluate_pairs(None, [], fid=False, progress=False)
