"""Full-size U-Nets: one config per architecture (defaults = the constructors'), pix2pix's width 64 allowed and
trainable, its inference memory bounded by the tile instead of a width cap (opt-in: measured through
``dehaze-infer`` on a 1024×768 photo)."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dehaze.checkpoint import save_generator
from dehaze.config import Config, GuidedConfig, ModelConfig, UNetConfig, apply_overrides
from dehaze.device import resolve_device
from dehaze.inference import Dehazer
from dehaze.models import memory
from dehaze.models.build import build_generator
from dehaze.models.guided import GuidedGenerator
from dehaze.models.unet import UNetGenerator
from dehaze.train.distributed import DistContext
from dehaze.train.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
PIX2PIX = ModelConfig(arch="unet", base_width=64)
PEAK_RSS_LIMIT_MB = 2500


def constructor_defaults(cls: type) -> dict[str, object]:
    return {
        name: p.default for name, p in inspect.signature(cls.__init__).parameters.items() if p.default is not p.empty
    }


def test_unet_config_defaults_are_the_constructors() -> None:
    defaults = constructor_defaults(UNetGenerator)
    assert dataclasses.asdict(UNetConfig()) == {name: defaults[name] for name in dataclasses.asdict(UNetConfig())}


def test_guided_config_defaults_are_the_constructors() -> None:
    defaults = constructor_defaults(GuidedGenerator)
    assert dataclasses.asdict(GuidedConfig()) == {name: defaults[name] for name in dataclasses.asdict(GuidedConfig())}


def test_model_config_is_both_arch_configs_and_set_still_works() -> None:
    assert ModelConfig().unet() == UNetConfig() and ModelConfig().guided() == GuidedConfig()
    config = Config()
    apply_overrides(config, ["model.arch=unet", "model.base_width=64", "model.in_channels=3", "model.out_channels=3"])
    assert config.model.unet() == UNetConfig(in_channels=3, out_channels=3, base_width=64)
    assert config.model.guided().channels == 3
    built = build_generator(ModelConfig(arch="unet"))  # what an old config naming no width always built
    assert built.stem[0][0].out_channels == ModelConfig().base_width == 8


def test_tiles_shrink_with_the_width_and_fit_the_budget() -> None:
    small, wide = UNetConfig(base_width=8), UNetConfig(base_width=64)
    assert memory.fit_tiles(small, 1024, 1) == (1024, 1)
    tile, batch = memory.fit_tiles(wide, 1024, 4)
    assert batch == 1 and 16 <= tile < 1024 and tile % 16 == 0
    assert memory.unet_bytes_per_pixel(wide) * tile**2 <= memory.TILE_ACTIVATION_BUDGET
    assert memory.unet_bytes_per_pixel(wide) * (tile + 16) ** 2 > memory.TILE_ACTIVATION_BUDGET  # the largest
    assert memory.fit_tiles(small, 256, 8, budget=memory.unet_bytes_per_pixel(small) * 256**2 * 3) == (256, 3)
    assert memory.fit_tiles(wide, None, 1)[0] == tile  # whole images are tiled too once they are too large
    assert memory.fit_tiles(wide, 1024, 1, budget=1.0) == (16, 1)  # never below one multiple


def test_dehazer_tiles_a_wide_unet_and_keeps_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = ModelConfig(arch="unet", base_width=64, depth=2)
    budget = memory.unet_bytes_per_pixel(cfg.unet()) * 41**2  # a 40-px tile at most (multiples of 4)
    monkeypatch.setattr(memory, "TILE_ACTIVATION_BUDGET", budget)
    torch.manual_seed(0)
    dehazer = Dehazer(build_generator(cfg), cfg, device="cpu", tile=1024, overlap=32, batch_size=4)
    assert (dehazer.tile, dehazer.batch_size) == (40, 1) and dehazer.overlap < dehazer.tile
    image = np.random.default_rng(0).random((50, 70), dtype=np.float32)
    assert dehazer.dehaze_array(image).shape == image.shape


def test_base_width_64_unet_trains_a_few_steps_on_cpu() -> None:
    config = Config(model=dataclasses.replace(PIX2PIX))
    config.train.device, config.train.amp = "cpu", False
    generator = torch.Generator().manual_seed(0)
    clean = torch.rand(2, 1, 32, 32, generator=generator)
    hazy = clean * 0.6 + 0.35
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp), DistContext(), resolve_device("cpu"))
        before = [p.detach().clone() for p in trainer.generator.parameters()]
        logs = [trainer.train_step(hazy, clean) for _ in range(3)]
    assert trainer.generator.stem[0][0].out_channels == 64
    assert all(torch.isfinite(value).all() for step in logs for value in step.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True))


def _bench_inference():  # noqa: ANN202 - a module loaded from a file
    spec = importlib.util.spec_from_file_location("bench_inference", ROOT / "benchmarks" / "bench_inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not os.environ.get("DEHAZE_SLOW_TESTS"),
    reason="a base-width-64 U-Net on a 1024×768 photo takes about a minute of CPU; set DEHAZE_SLOW_TESTS=1 to run",
)
def test_pix2pix_width_unet_infers_1024x768_under_2_5_gb(tmp_path: Path) -> None:
    """``dehaze-infer`` with a base-width-64 U-Net (random weights: same memory) on a colour 1024×768 photo."""
    bench = _bench_inference()
    for channels in (1, 3):
        cfg = dataclasses.replace(PIX2PIX, in_channels=channels, out_channels=channels)
        torch.manual_seed(0)
        save_generator(build_generator(cfg), cfg, tmp_path / f"unet64_{channels}.safetensors")
    photo = (bench.hazy_photo(768, 1024, channels=3) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg", quality=92)
    infer = [sys.executable, "-m", "dehaze.cli.infer", str(tmp_path / "photo.jpg"), "--quiet", "--overwrite"]
    peaks = {}
    for channels in (1, 3):
        model = ["--checkpoint", str(tmp_path / f"unet64_{channels}.safetensors")]
        peaks[channels] = bench.child_peak_rss_mb(infer + ["-o", str(tmp_path / f"out{channels}"), *model])
    print("peak RSS (MB), gray and RGB base-width-64 U-Net:", {k: round(v) for k, v in peaks.items()})
    assert Image.open(tmp_path / "out3" / "photo.png").size == (1024, 768)
    assert max(peaks.values()) < PEAK_RSS_LIMIT_MB, peaks
