"""Config dataclasses: YAML round trip, typed --set overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dehaze.cli.train import build_parser, resolve_config
from dehaze.config import Config, apply_overrides
from dehaze.errors import DehazeError


def test_yaml_round_trip_keeps_every_value(tmp_path: Path) -> None:
    config = Config()
    apply_overrides(config, ["model.base_width=12", "critic.cutoffs=[0.2, 0.5]", "train.amp=false"])
    config.save(tmp_path / "c.yaml")
    loaded = Config.load(tmp_path / "c.yaml")
    assert loaded == config
    assert loaded.critic.cutoffs == (0.2, 0.5) and loaded.train.amp is False and loaded.model.base_width == 12


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.widht=3", "model has: arch, in_channels"),
        ("nope.x=1", "unknown option"),
        ("train.steps=many", "expected a number"),
        ("train.amp=3", "expected true/false"),
        ("critic.cutoffs=[0.1]", "expected 2 values"),
        ("train.steps", "section.key=value"),
    ],
)
def test_bad_overrides_are_named(override: str, message: str) -> None:
    with pytest.raises(DehazeError, match=message):
        apply_overrides(Config(), [override])


def test_precedence_file_then_flags_then_set(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("train:\n  steps: 50\n  batch_size: 4\nloss:\n  l1_weight: 10\n")
    args = build_parser().parse_args(
        ["--config", str(tmp_path / "c.yaml"), "--steps", "70", "--set", "loss.l1_weight=20", "--out", str(tmp_path)]
    )
    config = resolve_config(args, tmp_path / "run")
    assert (config.train.steps, config.train.batch_size, config.loss.l1_weight) == (70, 4, 20.0)


def test_bad_yaml_and_bad_lambda_are_clear(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("- just\n- a list\n")
    with pytest.raises(DehazeError, match="mapping"):
        Config.load(tmp_path / "c.yaml")
    args = build_parser().parse_args(["--spatial-weight", "1.5", "--out", str(tmp_path / "run")])
    with pytest.raises(DehazeError, match=r"\[0, 1\]"):
        resolve_config(args, tmp_path / "run")
