"""scripts/average_checkpoints.py: the mean of one run's checkpoints; other architectures are refused."""

from __future__ import annotations

import runpy
from pathlib import Path

import torch
from safetensors.torch import load_file

from dehaze.checkpoint import save_generator
from dehaze.config import ModelConfig
from dehaze.models.build import build_generator

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "average_checkpoints.py"


def _main():
    return runpy.run_path(str(SCRIPT))["main"]


def _saved(path: Path, cfg: ModelConfig, seed: int, step: int) -> Path:
    torch.manual_seed(seed)
    save_generator(build_generator(cfg), cfg, path, extra_metadata={"step": step})
    return path


def test_average_is_the_mean_of_the_float_tensors(tmp_path: Path) -> None:
    cfg = ModelConfig(width=4, view_size=16)
    a, b = _saved(tmp_path / "a.safetensors", cfg, 0, 10), _saved(tmp_path / "b.safetensors", cfg, 1, 20)
    out = tmp_path / "mean.safetensors"
    assert _main()([str(a), str(b), "-o", str(out)]) == 0
    ta, tb, mean = load_file(str(a)), load_file(str(b)), load_file(str(out))
    assert mean.keys() == ta.keys()
    differing = [k for k in ta if ta[k].is_floating_point() and not torch.equal(ta[k], tb[k])]
    assert differing  # the two inputs really differ, so the mean is not trivially either
    for key in ta:
        expected = (ta[key] + tb[key]) / 2 if ta[key].is_floating_point() else tb[key]
        assert torch.allclose(mean[key], expected, atol=1e-6), key


def test_average_refuses_another_architecture(tmp_path: Path, capsys) -> None:
    a = _saved(tmp_path / "a.safetensors", ModelConfig(width=4, view_size=16), 0, 10)
    b = _saved(tmp_path / "b.safetensors", ModelConfig(width=8, view_size=16), 0, 10)
    assert _main()([str(a), str(b), "-o", str(tmp_path / "m.safetensors")]) == 1
    assert "another architecture" in capsys.readouterr().err
    assert not (tmp_path / "m.safetensors").exists()
