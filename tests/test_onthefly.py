"""On-the-fly haze: reproducible samples, every size, tinted colour airlight, and training from clean photos."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from dehaze.cli.synth import main as synth_main
from dehaze.cli.train import main as train_main
from dehaze.config import HazeConfig
from dehaze.data.onthefly import OnTheFlyHaze, degrade
from dehaze.haze import HazeRanges
from dehaze.synth import read_manifest
from dehaze.train.schedule import learning_rate_factor


def _photos(folder: Path, sizes: list[tuple[int, int]], colour: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate(sizes):
        coarse = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
        image = Image.fromarray(coarse).resize((w, h), Image.BICUBIC)
        path = folder / f"photo{i}.png"
        (image if colour else image.convert("L")).save(path)
        paths.append(path)
    return paths


def test_same_seed_same_pair_new_seed_new_haze(tmp_path: Path) -> None:
    dataset = OnTheFlyHaze(_photos(tmp_path, [(60, 90)]), channels=3, patch_size=32)
    a, b, c = dataset.get(0, seed=7), dataset.get(0, seed=7), dataset.get(0, seed=8)
    assert torch.equal(a["hazy"], b["hazy"]) and torch.equal(a["clean"], b["clean"])
    assert not torch.equal(a["hazy"], c["hazy"])
    assert a["hazy"].shape == a["clean"].shape == (3, 32, 32)
    assert a["hazy"].min() >= 0 and a["hazy"].max() <= 1


@pytest.mark.parametrize("size", [(10, 14), (32, 32), (200, 50)])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_photo_size_gives_patch_sized_pairs(tmp_path: Path, size: tuple[int, int], channels: int) -> None:
    dataset = OnTheFlyHaze(_photos(tmp_path, [size]), channels=channels, patch_size=24)
    item = dataset.get(0, seed=1)
    assert item["hazy"].shape == item["clean"].shape == (channels, 24, 24)


def test_haze_makes_images_brighter_and_flatter_towards_the_airlight() -> None:
    rng = np.random.default_rng(0)
    clean = rng.uniform(0.0, 0.4, (48, 48, 1)).astype(np.float32)
    haze = HazeConfig(
        beta=(2.0, 2.0), airlight=(0.9, 0.9), brightness=(1, 1), gamma=(1, 1), noise_std=(0, 0), jpeg_probability=0
    )
    for family in ("outdoor", "segments", "room", "street"):
        target, hazy = degrade(clean, dataclasses.replace(haze, families=family), rng)
        assert np.array_equal(target, clean)  # brightness and gamma 1: the target is the photo itself
        assert hazy.mean() > clean.mean() + 0.2, family
        assert (np.abs(hazy - 0.9) <= np.abs(clean - 0.9) + 1e-6).all()  # every pixel moves towards the airlight


def test_near_haze_veils_even_the_nearest_point() -> None:
    clean = np.zeros((40, 40, 1), np.float32)
    base = HazeConfig(beta=(1.0, 1.0), airlight=(1, 1), brightness=(1, 1), gamma=(1, 1), noise_std=(0, 0))
    base = dataclasses.replace(base, jpeg_probability=0, nonhomogeneous=(0, 0), families="room")
    _, open_near = degrade(clean, dataclasses.replace(base, near=(0, 0)), np.random.default_rng(1))
    _, veiled = degrade(clean, dataclasses.replace(base, near=(0.5, 0.5)), np.random.default_rng(1))
    assert open_near.min() < 0.02  # the nearest point is clear: t = 1 there, black stays black
    assert veiled.min() == pytest.approx(1 - np.exp(-0.5), abs=0.02)  # t = exp(-β·near) at the nearest point


def test_darker_scenes_darken_the_target_too() -> None:
    clean = np.full((32, 32, 3), 0.8, np.float32)
    haze = HazeConfig(brightness=(0.5, 0.5), gamma=(2.0, 2.0), noise_std=(0, 0), jpeg_probability=0)
    target, _ = degrade(clean, haze, np.random.default_rng(0))
    assert target == pytest.approx(np.full_like(clean, 0.5 * 0.8**2))


def test_colour_airlight_tint_follows_the_ranges() -> None:
    ranges = HazeRanges(airlight=(0.6, 0.9), tint=(0.05, 0.1))
    rng = np.random.default_rng(0)
    for _ in range(50):
        light = ranges.airlight_per_channel(0.8, 3, rng)
        tint = light[2] / light[1] - 1.0
        assert 0.05 - 1e-6 <= tint <= 0.1 + 1e-6
        assert light[0] / light[1] == pytest.approx(1.0 - tint, abs=1e-5)
    assert ranges.airlight_per_channel(0.8, 1, rng) == 0.8


def test_synth_colour_tint_follows_the_given_range(tmp_path: Path) -> None:
    _photos(tmp_path / "clean", [(30, 40)] * 4)
    args = [str(tmp_path / "clean"), str(tmp_path / "out"), "--color", "--variants", "3", "--quiet"]
    assert synth_main([*args, "--tint", "-0.12", "-0.04", "--airlight", "0.6", "0.8"]) == 0
    for row in read_manifest(tmp_path / "out" / "manifest.csv"):
        red, green, blue = map(float, row["airlight_rgb"].split())
        assert green == pytest.approx(float(row["airlight"]), abs=1e-3)
        assert -0.12 - 1e-3 <= blue / green - 1.0 <= -0.04 + 1e-3  # yellow-brown: less blue, more red
        assert red > green > blue


def test_learning_rate_warms_up_then_decays_by_cosine() -> None:
    assert learning_rate_factor(0, 1000, "cosine", 100) == pytest.approx(0.01)
    assert learning_rate_factor(99, 1000, "cosine", 100) == pytest.approx(1.0)
    assert learning_rate_factor(100, 1000, "cosine", 100) == pytest.approx(1.0)
    assert learning_rate_factor(550, 1000, "cosine", 100) == pytest.approx(0.525, abs=1e-3)
    assert learning_rate_factor(1000, 1000, "cosine", 100) == pytest.approx(0.05)
    assert learning_rate_factor(500, 1000, "constant", 0) == 1.0


def test_training_from_clean_photos_resumes_exactly_with_ema(tmp_path: Path, tiny_train_args: list[str]) -> None:
    clean = tmp_path / "clean"
    _photos(clean, [(40, 56)] * 6, colour=False)
    val = tmp_path / "val"
    assert synth_main([str(clean), str(val), "--quiet"]) == 0
    common = ["--clean", str(clean), "--val", str(val), "--no-fid", *tiny_train_args, "--set", "train.warmup_steps=2"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_main([*common, "--out", str(straight), "--steps", "4"]) == 0
    assert train_main([*common, "--out", str(split), "--steps", "4", "--set", "train.checkpoint_every=1"]) == 0
    # a second run stopped after 2 steps and resumed must match the straight one bit for bit
    resumed = tmp_path / "resumed"
    assert train_main([*common, "--out", str(resumed), "--steps", "2"]) == 0
    assert train_main(["--out", str(resumed), "--steps", "4", "--resume", "--no-fid"]) == 0
    a, b = load_file(str(straight / "last.safetensors")), load_file(str(resumed / "last.safetensors"))
    for key in a:
        assert torch.equal(a[key], b[key]), key
    metrics = json.loads((straight / "metrics.json").read_text())
    assert {"hazy input", "dark channel prior", "dehaze (best)"} <= set(metrics["results"])


def test_clean_without_val_is_a_clear_error(tmp_path: Path, capsys, tiny_train_args: list[str]) -> None:
    _photos(tmp_path / "clean", [(30, 30)])
    code = train_main(
        ["--clean", str(tmp_path / "clean"), "--out", str(tmp_path / "run"), "--steps", "1", *tiny_train_args]
    )
    assert code == 1 and "--clean needs --val" in capsys.readouterr().err


def test_gray_samples_are_gray_in_all_three_channels_and_keep_their_share() -> None:
    """``gray_probability`` turns that share of colour samples into gray photos (hazy and target alike)."""
    rng = np.random.default_rng(0)
    clean = rng.random((24, 24, 3)).astype(np.float32)
    haze = HazeConfig(gray_probability=0.5, noise_std=(0, 0), jpeg_probability=0, brightness=(1, 1), gamma=(1, 1))
    gray = 0
    for seed in range(40):
        target, hazy = degrade(clean, haze, np.random.default_rng(seed))
        if np.allclose(target[..., 0], target[..., 2]):
            gray += 1
            assert np.allclose(hazy[..., 0], hazy[..., 1]) and np.allclose(hazy[..., 1], hazy[..., 2])
            luma = clean @ np.array([0.299, 0.587, 0.114], np.float32)
            assert np.allclose(target[..., 0], luma, atol=1e-5)  # the scene as shot, in gray
    assert 10 <= gray <= 30
    never = dataclasses.replace(haze, gray_probability=0.0)
    first, _ = degrade(clean, never, np.random.default_rng(3))
    assert not np.allclose(first[..., 0], first[..., 2])
