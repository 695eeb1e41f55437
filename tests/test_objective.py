"""Every LossConfig weight, turned on (or changed) in a two-step training run, shows up in the logs and moves the
weights; the objective's terms are named and built only when their weight is above 0."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_TRAIN_ARGS, make_pairs
from safetensors.torch import load_file

from dehaze.cli.train import main as train_main
from dehaze.config import LossConfig
from dehaze.train.objective import reconstruction_terms

# weight -> (value for the test run, the log key its term writes)
WEIGHTS = {
    "adversarial_weight": ("0.5", "g_adv"),
    "l1_weight": ("10", "l1"),
    "ssim_weight": ("1", "ssim"),
    "spectral_weight": ("1", "spectral"),
    "focal_frequency_weight": ("1", "focal_frequency"),
    "frequency_extra_weight": ("2", "d_freq"),
    "r1_weight": ("1", "r1"),
    "feature_matching_weight": ("1", "fm"),
}
TESTED_ELSEWHERE = {"scene_weight"}  # needs --clean photos: tests/test_scene_branch.py


def test_every_loss_weight_has_a_case() -> None:
    weights = {item.name for item in dataclasses.fields(LossConfig) if item.name.endswith("_weight")}
    assert weights == set(WEIGHTS) | TESTED_ELSEWHERE


def test_terms_are_named_and_built_only_when_weighted() -> None:
    assert [term.name for term in reconstruction_terms(LossConfig())] == ["l1"]
    names = [term.name for term in reconstruction_terms(LossConfig(ssim_weight=1, focal_frequency_weight=2))]
    assert names == ["l1", "ssim", "focal_frequency"]


def _train(root: Path, name: str, *overrides: str) -> tuple[dict[str, torch.Tensor], list[dict]]:
    run = root / name
    args = ["--data", str(root / "pairs"), "--out", str(run), "--steps", "2", "--no-fid", *TINY_TRAIN_ARGS]
    for override in overrides:
        args += ["--set", override]
    assert train_main(args) == 0
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    return load_file(str(run / "last.safetensors")), [row for row in history if row["group"] == "train"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    root = tmp_path_factory.mktemp("objective")
    make_pairs(root / "pairs")
    weights, _ = _train(root, "baseline")
    return root, weights


@pytest.mark.parametrize("weight", WEIGHTS)
def test_two_step_run_with_the_weight_on(baseline: tuple[Path, dict[str, torch.Tensor]], weight: str) -> None:
    root, reference = baseline
    value, key = WEIGHTS[weight]
    weights, history = _train(root, weight, f"loss.{weight}={value}")
    assert [row["step"] for row in history] == [1, 2]
    assert all(key in row and torch.isfinite(torch.tensor(row[key])) for row in history), history
    assert all(torch.isfinite(tensor).all() for tensor in weights.values())
    assert any(not torch.equal(weights[name], reference[name]) for name in reference), f"{weight} changed nothing"


def test_gan_start_step_holds_the_critics_back(baseline: tuple[Path, dict[str, torch.Tensor]]) -> None:
    root, _ = baseline
    _, history = _train(root, "gan_start", "train.gan_start_step=1")
    assert "d" not in history[0] and "g_adv" not in history[0]
    assert "d" in history[1] and "g_adv" in history[1]
