"""scripts/retag_checkpoint.py: inference-time options change, weights do not, unsafe options are refused."""

from __future__ import annotations

import runpy
from pathlib import Path

import torch
from safetensors.torch import load_file

from dehaze.checkpoint import load_generator, save_generator
from dehaze.config import ModelConfig
from dehaze.models.build import build_generator

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "retag_checkpoint.py"


def _main():
    return runpy.run_path(str(SCRIPT))["main"]


def test_retag_changes_the_option_and_keeps_the_weights(tmp_path: Path) -> None:
    cfg = ModelConfig(width=4, view_size=16, detail_eps=0.0)
    source, target = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_generator(build_generator(cfg), cfg, source, extra_metadata={"step": 7})
    assert _main()([str(source), str(target), "--set", "model.detail_eps=3e-4", "--meta", "note=hello"]) == 0
    _, new_cfg = load_generator(target)
    assert new_cfg.detail_eps == 3e-4 and new_cfg.width == 4
    old, new = load_file(str(source)), load_file(str(target))
    assert all(torch.equal(old[k], new[k]) for k in old) and old.keys() == new.keys()


def test_retag_refuses_options_that_change_the_weights(tmp_path: Path, capsys) -> None:
    cfg = ModelConfig(width=4, view_size=16)
    source = tmp_path / "a.safetensors"
    save_generator(build_generator(cfg), cfg, source)
    assert _main()([str(source), str(tmp_path / "b.safetensors"), "--set", "model.width=8"]) == 1
    assert "only model." in capsys.readouterr().err
    assert not (tmp_path / "b.safetensors").exists()
