"""The scorecard's per-image scores and noise margins, and the ship gate that enforces them."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from conftest import make_pairs
from PIL import Image

from dehaze.checkpoint import save_generator
from dehaze.config import ModelConfig
from dehaze.inference import Dehazer
from dehaze.metrics.perceptual import brisque_available
from dehaze.metrics.scorecard import EvalSet, column_key, compare, paired_difference, score_set
from dehaze.models.build import build_generator

SHIP = Path(__file__).resolve().parent.parent / "scripts" / "ship.py"


def test_identical_columns_differ_by_nothing_and_a_uniform_loss_is_caught() -> None:
    rng = np.random.default_rng(0)
    reference = list(rng.normal(20.0, 2.0, 40))
    groups = [f"g{i}" for i in range(40)]
    assert paired_difference(reference, reference, groups) == (0.0, 0.0)
    difference, margin = paired_difference([v - 0.5 for v in reference], reference, groups)
    assert difference == pytest.approx(-0.5) and margin == pytest.approx(0.0, abs=1e-9)
    noisy = [v + n for v, n in zip(reference, rng.normal(-0.05, 1.0, 40), strict=True)]
    difference, margin = paired_difference(noisy, reference, groups)
    assert margin > abs(difference)  # a small loss inside the image-to-image noise is not "worse"


def test_groups_widen_the_margin_when_images_of_a_scene_move_together() -> None:
    rng = np.random.default_rng(1)
    scene_effect = np.repeat(rng.normal(0.0, 1.0, 5), 10)  # 5 scenes × 10 hazy versions
    candidate = list(20.0 + scene_effect + rng.normal(0, 0.05, 50))
    reference = [20.0] * 50
    by_image = paired_difference(candidate, reference, [str(i) for i in range(50)])[1]
    by_scene = paired_difference(candidate, reference, [str(i // 10) for i in range(50)])[1]
    assert by_scene > 2.0 * by_image


def test_scores_are_per_image_and_a_better_method_passes_the_comparison(tmp_path: Path) -> None:
    root = make_pairs(tmp_path / "pairs", count=6, size=32)
    test = EvalSet("tiny", root, channels=1)

    def unhaze(hazy: np.ndarray) -> np.ndarray:  # the exact inverse of make_pairs' haze
        return np.clip((hazy - 0.4 * 230 / 255) / 0.6, 0, 1)

    hazy, dehazed = score_set(test, None), score_set(test, unhaze)
    assert hazy["images"] == dehazed["images"] and len(hazy["psnr"]) == 6
    assert min(dehazed["psnr"]) > max(hazy["psnr"]) and min(dehazed["ssim"]) > 0.99
    verdicts = {v.row: v for v in compare({"tiny": dehazed}, {"tiny": hazy}, [test])}
    assert not verdicts["tiny/psnr"].worse and verdicts["tiny/psnr"].improvement > 5
    backwards = {v.row: v for v in compare({"tiny": hazy}, {"tiny": dehazed}, [test])}
    assert backwards["tiny/psnr"].worse and backwards["tiny/ssim"].worse


def test_real_photo_sets_score_every_no_reference_row(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("dehaze.metrics.perceptual.fade_score", lambda image: None)  # optional package, slow JIT
    (tmp_path / "real").mkdir()
    rng = np.random.default_rng(2)
    for i in range(3):
        Image.fromarray((rng.random((40, 200, 3)) * 255).astype(np.uint8)).save(tmp_path / "real" / f"p{i}.png")
    test = EvalSet("real", tmp_path / "real", kind="real")
    scores, darker = score_set(test, None), score_set(test, lambda hazy: hazy * 0.5)
    assert scores["artefact_gain"] == pytest.approx([1.0, 1.0, 1.0])
    assert scores["luminance_change"] == [0.0] * 3 and scores["crushed_change"] == [0.0] * 3
    assert scores["niqe"] == [None] * 3  # under two 96×96 blocks
    assert all(change < -0.2 for change in darker["luminance_change"])
    if brisque_available():
        assert all(value is not None and np.isfinite(value) for value in scores["brisque"])


def test_the_gate_checks_crushing_and_only_reports_the_luminance_change() -> None:
    test = EvalSet("real_val", Path("unused"), kind="real")
    rng = np.random.default_rng(4)
    shipped = {metric: list(rng.normal(5.0, 1.0, 30)) for metric in test.metrics}
    shipped.update(images=[f"p{i}" for i in range(30)], groups=[f"p{i}" for i in range(30)])
    darker = dict(shipped, luminance_change=[v - 0.3 for v in shipped["luminance_change"]])
    crushing = dict(shipped, crushed_change=[v + 2.0 for v in shipped["crushed_change"]])
    verdicts = {v.row: v for v in compare({"real_val": darker}, {"real_val": shipped}, [test])}
    assert not any(v.worse for v in verdicts.values())
    assert not verdicts["real_val/luminance_change"].gated
    assert verdicts["real_val/luminance_change"].improvement == pytest.approx(-0.3)  # the plain change
    verdicts = {v.row: v for v in compare({"real_val": crushing}, {"real_val": shipped}, [test])}
    assert [row for row, v in verdicts.items() if v.worse] == ["real_val/crushed_change"]


def _rgb_model(path: Path, seed: int) -> Path:
    import torch

    torch.manual_seed(seed)
    cfg = ModelConfig(width=4, view_size=16, in_channels=3, out_channels=3)
    save_generator(build_generator(cfg), cfg, path)
    return path


def _card(tmp_path: Path, shipped: tuple[Path, ...], candidate: Path, worse: bool) -> Path:
    verdict = {"row": "sots/psnr", "candidate": 19.0, "reference": 20.0, "improvement": -1.0, "margin": 0.2}
    card = {
        "gate": {"new": [dict(verdict, worse=worse)]},
        "files": {"new": [str(candidate)]},
        "hashes": {"shipped": column_key("model", shipped), "new": column_key("model", [candidate])},
    }
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    return path


def test_ship_gate_refuses_a_worse_row_and_installs_a_passing_rgb_model_for_gray_too(tmp_path, monkeypatch) -> None:
    gray_slot, rgb_slot = tmp_path / "slots" / "gray.safetensors", tmp_path / "slots" / "rgb.safetensors"
    gray_slot.parent.mkdir()
    cfg = ModelConfig(width=4, view_size=16)
    save_generator(build_generator(cfg), cfg, gray_slot)
    _rgb_model(rgb_slot, 0)
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(gray_slot))
    monkeypatch.setenv("DEHAZE_RGB_CHECKPOINT", str(rgb_slot))
    candidate = _rgb_model(tmp_path / "candidate.safetensors", 1)
    ship = runpy.run_path(str(SHIP))["main"]
    assert ship(["new", "--scorecard", str(_card(tmp_path, (gray_slot, rgb_slot), candidate, worse=True))]) == 1
    assert gray_slot.is_file() and rgb_slot.read_bytes() != candidate.read_bytes()
    stale = _card(tmp_path, (rgb_slot,), candidate, worse=False)  # made against other shipped models
    assert ship(["new", "--scorecard", str(stale)]) == 1
    assert ship(["new", "--scorecard", str(_card(tmp_path, (gray_slot, rgb_slot), candidate, worse=False))]) == 0
    assert rgb_slot.read_bytes() == candidate.read_bytes() and not gray_slot.exists()
    monkeypatch.delenv("DEHAZE_CHECKPOINT")  # the default slots, not a gray model named explicitly
    slots = {1: gray_slot, 3: rgb_slot}
    monkeypatch.setattr("dehaze.checkpoint.generator.default_checkpoint_path", lambda channels=1: slots[channels])
    dehazer = Dehazer.from_checkpoint(None)  # the RGB model alone now serves gray photos
    gray = np.random.default_rng(3).random((20, 24), dtype=np.float32)
    assert dehazer.channels == 3 and dehazer.dehaze_array(gray).shape == (20, 24)
