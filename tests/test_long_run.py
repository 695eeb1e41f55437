"""The long runs' tooling (issue "hours"): which shipped model a milestone is paired with, how a gray run is told
from an RGB one, and the gray long run's script starting, saving and resuming (a tiny 2 + 1 step run)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import TINY_TRAIN_ARGS, make_hazy_photos, make_pairs
from safetensors import safe_open

from dehaze.checkpoint import save_generator
from dehaze.config import ModelConfig
from dehaze.models.build import build_generator

ROOT = Path(__file__).resolve().parent.parent
GRAY = ROOT / "checkpoints" / "dehaze-gray-default.safetensors"
RGB = ROOT / "checkpoints" / "dehaze-rgb-default.safetensors"


@pytest.fixture
def benchmarks(monkeypatch):
    """benchmarks/long_run.py and benchmarks/scorecard.py as modules (they import each other by file name)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import long_run
    import scorecard

    return long_run, scorecard


def test_each_milestone_is_paired_gray_first_with_the_other_shipped_model(benchmarks, tmp_path, monkeypatch) -> None:
    _, scorecard = benchmarks
    files = {name: tmp_path / f"{name}.safetensors" for name in ("dehaze-gray-default", "dehaze-rgb-default", "a", "b")}
    for path in files.values():
        path.write_bytes(b"weights")
    gray, rgb = files["dehaze-gray-default"], files["dehaze-rgb-default"]
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(gray))
    monkeypatch.setenv("DEHAZE_RGB_CHECKPOINT", str(rgb))
    runs = {"start": files["a"], "long 2500": files["b"]}
    rgb_pairs, gray_pairs = scorecard.pair_specs(runs, 3), scorecard.pair_specs(runs, 1)
    assert rgb_pairs == [f"start={gray}+{files['a']}", f"long 2500={gray}+{files['b']}"]
    assert gray_pairs == [f"start={files['a']}+{rgb}", f"long 2500={files['b']}+{rgb}"]
    columns = [scorecard.parse_candidate(spec) for spec in gray_pairs]
    assert [(c.name, c.files) for c in columns] == [("start", (files["a"], rgb)), ("long 2500", (files["b"], rgb))]


def fake_run(run: Path, init: Path) -> None:
    """A run folder with one kept (and already retagged) milestone, one finished session and a load log."""
    (run / "milestones").mkdir(parents=True)
    (run / "kept").mkdir()
    shutil.copy(init, run / "init.safetensors")
    shutil.copy(init, run / "kept" / "step002500.safetensors")
    shutil.copy(init, run / "milestones" / "step2500.safetensors")
    sessions = [{"start": 1000.0, "step": 0, "previous_end": None}, {"end": 1000.0 + 7200, "step": 5000}]
    (run / "sessions.jsonl").write_text("".join(json.dumps(s) + "\n" for s in sessions))
    (run / "load.log").write_text("1000 2.0\n2000 4.0\n")


@pytest.mark.parametrize(
    ("init", "scorer", "name"),
    [(GRAY, "score_gray_runs", "long_gray"), (RGB, "score_rgb_runs", "long_run")],
    ids=["gray", "rgb"],
)
def test_the_start_weights_tell_a_gray_run_from_an_rgb_one(
    benchmarks, tmp_path, monkeypatch, init, scorer, name
) -> None:
    long_run, scorecard = benchmarks
    assert long_run.model_channels(init) == (1 if init == GRAY else 3)
    calls, starts = [], []
    rows = {row: 0.5 for row in (*long_run.PLOTTED, *long_run.GRAY_PLOTTED)}
    card = {
        "columns": {c: rows for c in ("shipped", "start", "DCP", "hazy input", "long 2500")},
        "gate": {"long 2500": [{"row": "gray_test/psnr", "worse": False}]},
    }

    def fake_score(which: str, columns: dict, out_name: str, data: Path) -> dict:
        calls.append((which, sorted(columns), out_name))
        starts.append(columns["start"])
        return card

    for each in ("score_gray_runs", "score_rgb_runs"):
        monkeypatch.setattr(scorecard, each, functools.partial(fake_score, each))
    monkeypatch.setattr(long_run, "RESULTS", tmp_path / "results")
    fake_run(tmp_path / "run", init)
    assert long_run.main([str(tmp_path / "run")]) == 0
    assert calls == [(scorer, ["long 2500", "start"], name)]
    # the start weights are scored as they ship, like every milestone: retagged with the split on
    [start] = starts
    assert start == tmp_path / "run" / "milestones" / "start.safetensors"
    assert json.loads(safe_open(str(start), "pt").metadata()["model_config"])["detail_eps"] == 1e-4
    written = json.loads((tmp_path / "results" / f"{name}.json").read_text())
    [entry] = written["milestones"]
    assert entry["steps"] == 2500 and entry["wall_hours"] == 1.0 and entry["load"] == 3.0
    assert entry["gate"] == "passes"
    assert (tmp_path / "results" / f"{name}.png").stat().st_size > 1000
    assert written["start_weights_step"] == step_of(init)


def test_finished_runs_are_placed_at_the_step_they_reached(benchmarks, tmp_path, monkeypatch) -> None:
    long_run, _ = benchmarks
    monkeypatch.setattr(long_run, "RESULTS", tmp_path)
    rows = {"sots/psnr": 20.5}
    for name, start in (("late30", 30000), ("late22", 22500)):
        milestones = [{"steps": 500, "rows": {}}, {"steps": 1000, "rows": rows}]
        (tmp_path / f"{name}.json").write_text(json.dumps({"start_weights_step": start, "milestones": milestones}))
    assert long_run.finished_points(["late30", "late22"]) == [(23500, rows), (31000, rows)]
    (tmp_path / "old.json").write_text(json.dumps({"milestones": []}))
    with pytest.raises(SystemExit, match="old.json has no start_weights_step"):
        long_run.finished_points(["old"])


def run_script(script: str, args: list[str], env: dict[str, str], log: Path) -> None:
    """``bash scripts/SCRIPT ARGS`` from the repository root; output to a file (the minute logger's sleep may outlive
    the script, and would hold a pipe open)."""
    with log.open("w") as out:
        done = subprocess.run(["bash", f"scripts/{script}", *args], cwd=ROOT, env=env, stdout=out, stderr=out)
    assert done.returncode == 0, log.read_text()[-3000:]


def step_of(weights: Path) -> int:
    return int(safe_open(str(weights), "pt").metadata()["step"])


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="the run freezes its code with git archive")
def test_a_start_stopped_before_its_first_checkpoint_adds_no_training_time(benchmarks, tmp_path: Path) -> None:
    """Two starts stopped before their first checkpoint carry the older checkpoint's time as ``previous_end``: they
    trained for 0 s, and the hours to a later milestone are the sessions that trained (not fewer)."""
    long_run, _ = benchmarks
    lines = [
        {"start": 0.0, "step": 0, "previous_end": None},
        {"start": 1000.0, "step": 100, "previous_end": 900.0},  # first session: 0 -> 100 in 900 s
        {"start": 2000.0, "step": 100, "previous_end": 900.0},  # killed before saving: no step, no time
        {"start": 3000.0, "step": 100, "previous_end": 900.0},  # the same again
        {"end": 3900.0, "step": 200},  # 100 -> 200 in 900 s
    ]
    (tmp_path / "sessions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    spans = long_run.sessions(tmp_path)
    assert all(end >= start for start, _, end, _ in spans)
    hours, reached = long_run.milestone_time(tmp_path, 200)
    assert hours == pytest.approx(1800 / 3600) and reached == pytest.approx(3900.0)


def test_gray_script_starts_with_the_recipe_saves_and_resumes_on_a_fresh_clone(tmp_path: Path) -> None:
    data, out, saved, again = tmp_path / "data", tmp_path / "out", tmp_path / "saved", tmp_path / "again"
    shutil.copytree(make_pairs(tmp_path / "photos", count=3, size=40) / "clean", data / "sources" / "bsd360")
    make_pairs(data / "val", count=2, size=40)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", SAVED=str(saved))
    tiny = ["--patch-size", "32", "--batch-size", "2", "--device", "cpu"]
    tiny += ["--set", "critic.spatial_width=4", "--set", "critic.frequency_width=4"]
    run_script("train_long_gray.sh", [str(data), str(out), *tiny], dict(env, STEPS="2"), tmp_path / "start.log")
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["model"]["in_channels"] == 1 and config["model"]["global_head"] is False
    assert config["model"]["detail_eps"] == 0 and config["haze"]["families"] == "outdoor"
    assert config["haze"]["near"] == [0, 0] and config["haze"]["airlight"] == [0.5, 1.0]
    assert config["train"]["lr_generator"] == 1e-4 and config["train"]["warmup_steps"] == 0
    assert (config["train"]["keep_every"], config["train"]["checkpoint_every"]) == (2500, 500)
    assert config["train"]["val_data"] == str(data / "val") and config["train"]["batch_size"] == 2
    assert (out / "init.safetensors").read_bytes() == GRAY.read_bytes() and (out / "src" / "dehaze").is_dir()
    assert step_of(out / "last.safetensors") == 2
    run_script("save_long_run.sh", [str(out), str(saved)], env, tmp_path / "save.log")
    run_script("train_long_gray.sh", [str(data), str(again)], dict(env, STEPS="3"), tmp_path / "resume.log")
    assert step_of(again / "last.safetensors") == 3
    assert "resuming from step 2 of 3" in (tmp_path / "resume.log").read_text()
    history = [json.loads(line) for line in (again / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in history if r["group"] == "train"] == [2, 3]  # logged every 10 steps and at the end
    sessions = [sorted(json.loads(line)) for line in (again / "sessions.jsonl").read_text().splitlines()]
    assert sessions == [["previous_end", "start", "step"], ["end", "step"], ["previous_end", "start", "step"]]


def tiny_rgb_weights(path: Path, seed: int) -> Path:
    """A tiny RGB generator's weights (the architecture TINY_TRAIN_ARGS builds) standing in for a long-run milestone."""
    torch.manual_seed(seed)
    cfg = ModelConfig(in_channels=3, out_channels=3, base_width=4, depth=2, width=4, view_size=16)
    save_generator(build_generator(cfg), cfg, path)
    return path


def test_finish_script_starts_from_the_milestone_with_the_old_teacher_and_names_a_missing_one(tmp_path: Path) -> None:
    data, kept, out = tmp_path / "data", tmp_path / "kept", tmp_path / "finish"
    shutil.copytree(make_pairs(tmp_path / "photos", count=3, size=40) / "clean", data / "sources" / "mix_train")
    make_pairs(data / "mix_val", count=2, size=40)
    make_hazy_photos(data / "real_train")
    kept.mkdir()
    milestone = tiny_rgb_weights(kept / "step000002.safetensors", seed=0)
    teacher = tiny_rgb_weights(kept / "step010000.safetensors", seed=1)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = dict(os.environ, PATH=path, KEPT=str(kept), STEPS="2")
    tiny = [
        *TINY_TRAIN_ARGS,
        "--patch-size",
        "16",
        "--batch-size",
        "2",
        "--set",
        "real.batch_size=2",
        "--device",
        "cpu",
    ]
    run_script("finish_long_run.sh", ["2", str(data), str(out), *tiny], env, tmp_path / "finish.log")
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["real"]["teacher"] == str(teacher) and config["real"]["adversarial_weight"] == 2
    assert config["real"]["teacher_weight"] == 20 and config["real"]["flat_detail_weight"] == 2
    assert config["train"]["keep_every"] == 500 and config["train"]["lr_generator"] == 1e-4
    assert (out / "init.safetensors").read_bytes() == milestone.read_bytes() and step_of(out / "last.safetensors") == 2
    missing = subprocess.run(
        ["bash", "scripts/finish_long_run.sh", "7500", str(data), str(tmp_path / "none")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and not (tmp_path / "none").exists()
    assert f"{kept / 'step007500.safetensors'}: the long run kept no such milestone" in missing.stderr
