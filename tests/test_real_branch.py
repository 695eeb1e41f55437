"""The real-photo branch: guard rails, the unconditional dual critic, exact resume, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import make_hazy_photos, make_pairs
from safetensors.torch import load_file

from dehaze.checkpoint import save_generator
from dehaze.cli.train import main as train_main
from dehaze.config import CriticConfig, ModelConfig, RealHazeConfig
from dehaze.data.real_hazy import RealHazyPhotos
from dehaze.models.guided import GuidedGenerator
from dehaze.train.real_branch import RealHazeBranch, judge, rehaze_error, unconditional_critic
from dehaze.train.real_priors import below_zero, shifted_pair


def test_rehaze_error_is_zero_for_one_airlight_and_grows_with_several() -> None:
    slope = 1.0 + torch.rand(2, 1, 6, 8) * 4
    airlight = torch.tensor([0.8, 0.9, 1.0]).view(1, 3, 1, 1)
    offset = airlight * (1.0 - slope)
    assert rehaze_error(slope, offset).item() < 1e-10
    varying = offset * (1.0 + 0.2 * torch.rand_like(offset))  # a different airlight in every pixel
    assert rehaze_error(slope, varying).item() > 1e-4


def test_real_batches_are_a_pure_function_of_the_step(tmp_path: Path) -> None:
    photos = RealHazyPhotos(sorted(make_hazy_photos(tmp_path / "fog").iterdir()), 3, 24, max_side=32)
    a, b, c = photos.batch(5, 3, seed=0), photos.batch(5, 3, seed=0), photos.batch(6, 3, seed=0)
    assert a.shape == (3, 3, 24, 24) and torch.equal(a, b) and not torch.equal(a, c)
    assert max(photos.image(3).shape[:2]) <= 32  # shrunk once on reading


@pytest.mark.parametrize("spatial_weight", [0.0, 0.5, 1.0])
def test_unconditional_critic_judges_the_output_alone_and_trains_the_generator(spatial_weight: float) -> None:
    cfg = CriticConfig(spatial_width=4, frequency_width=4, spatial_layers=2)
    critic = unconditional_critic(cfg, RealHazeConfig(spatial_weight=spatial_weight), channels=3)
    generator = GuidedGenerator(3, width=4, view_size=16)
    out = generator(torch.rand(2, 3, 32, 32))
    logits = judge(critic, out)
    assert logits.shape[0] == 2 and torch.isfinite(logits).all()
    (logits.square().mean()).backward()
    grads = [p.grad for p in generator.parameters() if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0  # the frequency path is differentiable too


def test_branch_terms_are_logged_and_the_teacher_stays_frozen() -> None:
    generator = GuidedGenerator(3, width=4, view_size=16)
    cfg = RealHazeConfig()
    branch = RealHazeBranch(generator, CriticConfig(spatial_width=4, frequency_width=4), cfg, "lsgan", 1e-3)
    hazy = torch.rand(2, 3, 32, 32)
    dehazed = generator(hazy)
    assert "real_d" in branch.critic_step(torch.rand(2, 3, 32, 32), dehazed)
    loss, logs = branch.generator_loss(generator, hazy, dehazed)
    assert set(logs) == {"real_rehaze", "real_dark", "real_tv", "real_teacher", "real_adv"}
    loss.backward()
    assert all(p.grad is None for p in branch.teacher.parameters())
    assert logs["real_teacher"].item() == pytest.approx(0.0, abs=1e-6)  # it starts as the generator itself


def test_below_zero_counts_only_what_the_clamp_would_crush() -> None:
    assert below_zero(torch.tensor([0.0, 0.5, 1.2])).item() == 0.0
    assert below_zero(torch.tensor([-0.4, 0.0, 0.3, 0.9])).item() == pytest.approx(0.1)


def test_shifted_pair_is_a_pure_function_of_the_batch() -> None:
    hazy = torch.rand(2, 3, 32, 32)
    first, second = shifted_pair(hazy)
    again = shifted_pair(hazy.clone())
    assert torch.equal(first, again[0]) and torch.equal(second, again[1])
    shift = 32 - first.shape[-1]
    assert 2 <= shift <= 8 and first.shape == second.shape
    assert 0.003 < (second - hazy[..., :-shift, :-shift]).std().item() < 0.02  # noise σ 0.01 (clamped at 0 and 1)


def test_new_terms_are_logged_and_a_flat_light_change_is_consistent() -> None:
    generator = GuidedGenerator(3, width=4, view_size=16)
    cfg = RealHazeConfig(below_zero_weight=100.0, light_consistency_weight=10.0)
    branch = RealHazeBranch(generator, CriticConfig(spatial_width=4, frequency_width=4), cfg, "lsgan", 1e-3)
    hazy = torch.rand(2, 3, 32, 32)
    loss, logs = branch.generator_loss(generator, hazy, generator(hazy))
    assert {"real_below_zero", "real_light"} <= set(logs)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())


NEW_TERMS = ["--set", "real.below_zero_weight=100", "--set", "real.light_consistency_weight=10"]


@pytest.mark.parametrize("extra", [[], NEW_TERMS])
def test_training_with_real_hazy_photos_resumes_exactly(
    tmp_path: Path, tiny_train_args: list[str], extra: list[str]
) -> None:
    data = make_pairs(tmp_path / "pairs", count=8, size=24)
    fog = make_hazy_photos(tmp_path / "fog")
    common = ["--data", str(data), "--real-hazy", str(fog), "--no-fid", "--patch-size", "16", "--batch-size", "2"]
    common += [*tiny_train_args, "--set", "real.batch_size=2", *extra]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train_main([*common, "--out", str(straight), "--steps", "4"]) == 0
    assert train_main([*common, "--out", str(resumed), "--steps", "2"]) == 0
    assert train_main(["--out", str(resumed), "--steps", "4", "--resume", "--no-fid"]) == 0
    a, b = load_file(str(straight / "last.safetensors")), load_file(str(resumed / "last.safetensors"))
    assert all(torch.equal(a[key], b[key]) for key in a)
    paired_only = tmp_path / "paired_only"
    no_real = [arg for arg in common if arg not in ("--real-hazy", str(fog))]
    assert train_main([*no_real, "--out", str(paired_only), "--steps", "4"]) == 0
    c = load_file(str(paired_only / "last.safetensors"))
    assert any(not torch.equal(a[key], c[key]) for key in a)  # the real branch changed the training
    assert "dehaze (best)" in json.loads((straight / "metrics.json").read_text())["results"]


def test_real_hazy_needs_the_guided_generator(tmp_path: Path, capsys, tiny_train_args: list[str]) -> None:
    data = make_pairs(tmp_path / "pairs", count=4, size=24)
    args = ["--data", str(data), "--real-hazy", str(make_hazy_photos(tmp_path / "fog")), "--out", str(tmp_path / "r")]
    code = train_main([*args, "--steps", "1", *tiny_train_args, "--set", "model.arch=unet"])
    assert code == 1 and "needs the guided generator" in capsys.readouterr().err


def test_init_weights_start_the_run_and_a_mismatch_is_one_line(tmp_path: Path, tiny_train_args: list[str]) -> None:
    data = make_pairs(tmp_path / "pairs", count=6, size=24)
    first = tmp_path / "first"
    assert train_main(["--data", str(data), "--out", str(first), "--steps", "1", "--no-fid", *tiny_train_args]) == 0
    args = ["--data", str(data), "--init", str(first / "last.safetensors"), "--steps", "1", "--no-fid"]
    assert train_main([*args, "--out", str(tmp_path / "second"), *tiny_train_args]) == 0
    code = train_main([*args, "--out", str(tmp_path / "third"), *tiny_train_args, "--set", "model.width=6"])
    assert code == 1


def test_keep_every_keeps_the_milestone_weights(tmp_path: Path, tiny_train_args: list[str]) -> None:
    data = make_pairs(tmp_path / "pairs", count=8, size=24)
    out = tmp_path / "run"
    args = ["--data", str(data), "--no-fid", "--patch-size", "16", "--batch-size", "2", *tiny_train_args]
    args += ["--set", "train.keep_every=2", "--set", "train.checkpoint_every=1", "--out", str(out), "--steps", "4"]
    assert train_main(args) == 0
    assert sorted(p.name for p in (out / "kept").iterdir()) == ["step000002.safetensors", "step000004.safetensors"]
    last, kept = load_file(str(out / "last.safetensors")), load_file(str(out / "kept" / "step000004.safetensors"))
    assert all(torch.equal(last[key], kept[key]) for key in last)


def test_teacher_weights_come_from_their_own_file(tmp_path: Path, capsys, tiny_train_args: list[str]) -> None:
    torch.manual_seed(0)
    student, other = GuidedGenerator(3, width=4, view_size=16), GuidedGenerator(3, width=4, view_size=16)
    model_cfg = ModelConfig(in_channels=3, out_channels=3, width=4, view_size=16)
    save_generator(other, model_cfg, tmp_path / "teacher.safetensors")
    cfg = RealHazeConfig(teacher=str(tmp_path / "teacher.safetensors"))
    branch = RealHazeBranch(student, CriticConfig(spatial_width=4, frequency_width=4), cfg, "lsgan", 1e-3)
    hazy = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(branch.teacher(hazy), other(hazy)) and not torch.equal(branch.teacher(hazy), student(hazy))
    data = make_pairs(tmp_path / "pairs", count=4, size=24)
    args = ["--data", str(data), "--real-hazy", str(make_hazy_photos(tmp_path / "fog")), "--out", str(tmp_path / "r")]
    code = train_main([*args, "--steps", "1", *tiny_train_args, "--set", f"real.teacher={tmp_path / 'gone.st'}"])
    err = capsys.readouterr().err
    assert code == 1 and "gone.st: no such file or folder (real.teacher)" in err and "Traceback" not in err
