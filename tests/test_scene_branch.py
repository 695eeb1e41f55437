"""The scene branch: whole hazy training photos of the right frame, a pure function of (index, seed) and of the
step, an L1 that reaches the global head, no change when off, exact resume when on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_pairs
from PIL import Image
from safetensors.torch import load_file

from dehaze.cli.train import main as train_main
from dehaze.data.scenes import WholeScenes, centre_crop, scene_frame, scene_samples
from dehaze.models.guided import GuidedGenerator
from dehaze.train.precision import Precision
from dehaze.train.scene_branch import SceneBranch

# (width, height) of the test photos: landscape 3:2, portrait, square
SIZES = [(36, 24), (20, 30), (24, 24)]


def _photos(folder: Path) -> list[Path]:
    """Three smooth photos whose left half is dark and right half bright (so a whole scene shows both)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    paths = []
    for i, (width, height) in enumerate(SIZES):
        pixels = (rng.random((height, width, 3)) * 40 + 20).astype(np.uint8)
        pixels[:, width // 2 :] += 180
        paths.append(folder / f"photo{i}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def test_frames_are_4_to_3_in_the_photos_orientation() -> None:
    assert scene_frame(300, 400, 96) == (96, 128)
    assert scene_frame(400, 300, 96) == (128, 96)
    assert scene_frame(50, 50, 96) == (96, 128)
    image = np.arange(6 * 12, dtype=np.float32).reshape(6, 12, 1)
    assert centre_crop(image, 3, 4)[:, :, 0].tolist() == image[:, 2:10, 0].tolist()  # trims the sides equally


def test_whole_scenes_have_the_frame_and_the_whole_photo(tmp_path: Path) -> None:
    scenes = WholeScenes(_photos(tmp_path / "clean"), channels=3, scene_size=8)
    shapes = [tuple(scenes.get(i, seed=1)["hazy"].shape) for i in range(3)]
    assert shapes == [(3, 8, 11), (3, 11, 8), (3, 8, 11)]
    clean = scenes.scene(0)  # before hazing: the dark left half and the bright right half both in view
    assert clean[:, 0].mean() < 0.3 and clean[:, -1].mean() > 0.75
    item = scenes.get(1, seed=1)
    assert 0.0 <= float(item["hazy"].min()) and float(item["hazy"].max()) <= 1.0 and item["name"] == "photo1"


def test_scenes_are_a_pure_function_of_index_and_seed(tmp_path: Path) -> None:
    paths = _photos(tmp_path / "clean")
    a, b = WholeScenes(paths, 3, 8), WholeScenes(paths, 3, 8)  # a second reader: nothing carried over
    first, again, other = a.get(2, seed=7), b.get(2, seed=7), a.get(2, seed=8)
    assert torch.equal(first["hazy"], again["hazy"]) and torch.equal(first["clean"], again["clean"])
    assert not torch.equal(first["hazy"], other["hazy"])


def test_every_photo_once_per_epoch_and_batches_fixed_by_the_step(tmp_path: Path) -> None:
    epoch = scene_samples(0, 3, 3, seed=5)
    assert sorted(index for index, _ in epoch) == [0, 1, 2]
    assert scene_samples(4, 2, 3, seed=5) == scene_samples(4, 2, 3, seed=5) != scene_samples(4, 2, 3, seed=6)
    scenes = WholeScenes(_photos(tmp_path / "clean"), 3, 8)
    groups = scenes.batch(0, 3, seed=5)  # one epoch: two landscape frames, then the portrait one
    assert [tuple(hazy.shape) for hazy, _ in groups] == [(2, 3, 8, 11), (1, 3, 11, 8)]
    again = WholeScenes(scenes.paths, 3, 8).batch(0, 3, seed=5)
    pairs = [(x, y) for group, twin in zip(groups, again, strict=True) for x, y in zip(group, twin, strict=True)]
    assert all(torch.equal(x, y) for x, y in pairs)


@pytest.mark.parametrize("workers", [0, 1])
def test_branch_loss_is_finite_and_reaches_the_global_head(tmp_path: Path, workers: int) -> None:
    torch.manual_seed(0)
    generator = GuidedGenerator(3, width=4, view_size=8)
    branch = SceneBranch(WholeScenes(_photos(tmp_path / "clean"), 3, 16), 3, weight=100.0, seed=0, workers=workers)
    loss, logs = branch.loss(generator, 0, torch.device("cpu"), Precision.choose(False, torch.device("cpu")))
    assert torch.isfinite(loss) and loss.item() > 0 and loss.item() == pytest.approx(100 * logs["scene_l1"].item())
    loss.backward()
    head = generator.net.global_head.weight.grad
    assert head is not None and float(head.abs().sum()) > 0
    again, _ = branch.loss(generator, 1, torch.device("cpu"), Precision.choose(False, torch.device("cpu")))
    assert torch.isfinite(again)  # the next step comes from the running stream


def _scene_run(tmp_path: Path, name: str, args: list[str], *overrides: str, steps: int = 4) -> Path:
    run = tmp_path / name
    sets = [item for override in overrides for item in ("--set", override)]
    assert train_main([*args, "--out", str(run), "--steps", str(steps), *sets]) == 0
    return run


def test_training_with_scenes_adds_the_loss_resumes_exactly_and_is_silent_when_off(
    tmp_path: Path, tiny_train_args: list[str]
) -> None:
    _photos(tmp_path / "clean")
    val = make_pairs(tmp_path / "val", count=2, size=24)
    args = ["--clean", str(tmp_path / "clean"), "--val", str(val), "--no-fid", *tiny_train_args]
    args += ["--set", "model.view_size=8", "--set", "train.scene_size=16"]
    off = load_file(str(_scene_run(tmp_path, "off", args) / "last.safetensors"))
    zero = load_file(
        str(_scene_run(tmp_path, "zero", args, "train.scene_batch=2", "loss.scene_weight=0") / "last.safetensors")
    )
    assert all(torch.equal(off[key], zero[key]) for key in off)  # the branch touches no other stream or RNG
    straight = _scene_run(tmp_path, "straight", args, "train.scene_batch=2")
    on = load_file(str(straight / "last.safetensors"))
    assert any(not torch.equal(off[key], on[key]) for key in off)
    history = [json.loads(line) for line in (straight / "history.jsonl").read_text().splitlines()]
    assert all(np.isfinite(row["scene_l1"]) and row["scene_l1"] > 0 for row in history if row["group"] == "train")
    split = _scene_run(tmp_path, "split", args, "train.scene_batch=2", steps=2)
    assert train_main(["--out", str(split), "--steps", "4", "--resume", "--no-fid"]) == 0
    resumed = load_file(str(split / "last.safetensors"))
    assert all(torch.equal(on[key], resumed[key]) for key in on)


def test_scenes_need_clean_photos(tmp_path: Path, capsys, tiny_train_args: list[str]) -> None:
    args = ["--data", str(make_pairs(tmp_path / "pairs", count=4)), "--out", str(tmp_path / "r"), "--steps", "1"]
    assert train_main([*args, *tiny_train_args, "--set", "train.scene_batch=2"]) == 1
    assert "train.scene_batch needs --clean" in capsys.readouterr().err
