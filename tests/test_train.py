"""End-to-end checks of dehaze-train on tiny models and a tiny folder of pairs no test has seen before."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_TRAIN_ARGS
from safetensors.torch import load_file

from dehaze.cli.train import main as train_main

TINY = TINY_TRAIN_ARGS


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_short_run_writes_weights_metrics_and_reports(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = train_main(["--data", str(data_root), "--out", str(run), "--steps", "4", *TINY])
    assert code == 0
    weights = load_file(str(run / "best.safetensors"))
    assert weights and all(torch.isfinite(t).all() for t in weights.values())
    assert (run / "last.safetensors").is_file() and (run / "config.yaml").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    row = metrics["results"]["dehaze (best)"]
    for key in ("psnr", "ssim", "fid", "fid_margin", "spectral_distance"):
        assert np.isfinite(row[key]), key
    assert metrics["results"]["hazy input"]["psnr"] > 0
    assert sorted(p.name for p in (run / "samples").glob("step_*.png")) == ["step_000002.png", "step_000004.png"]
    assert (run / "loss_curve.png").stat().st_size > 1000
    assert list((run / "tb").glob("events.out.tfevents.*"))
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in history if r["group"] == "train"] == [1, 2, 3, 4]
    assert {"g", "d", "l1", "g_adv"} <= set(history[0])


def test_resume_is_exact(data_root: Path, tmp_path: Path) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ["--data", str(data_root), "--no-fid", *TINY]
    assert train_main([*common, "--out", str(straight), "--steps", "6"]) == 0
    assert train_main([*common, "--out", str(split), "--steps", "3"]) == 0
    assert train_main(["--out", str(split), "--steps", "6", "--resume", "--no-fid"]) == 0
    a, b = load_file(str(straight / "last.safetensors")), load_file(str(split / "last.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    state_a = torch.load(straight / "last.state.pt", weights_only=True)
    state_b = torch.load(split / "last.state.pt", weights_only=True)
    for key in state_a["critic"]:
        assert torch.equal(state_a["critic"][key], state_b["critic"][key]), key


def test_refuses_to_clobber_a_run_and_to_resume_nothing(data_root: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert train_main(["--out", str(run), "--resume", *TINY]) == 1
    assert "nothing to resume" in capsys.readouterr().err
    assert train_main(["--data", str(data_root), "--out", str(run), "--steps", "1", "--no-fid", *TINY]) == 0
    before = digest(run / "last.safetensors")
    assert train_main(["--data", str(data_root), "--out", str(run), "--steps", "1", "--no-fid", *TINY]) == 1
    assert "--resume" in capsys.readouterr().err
    assert digest(run / "last.safetensors") == before


def test_nan_loss_stops_and_keeps_last_good_checkpoint(data_root: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    run = tmp_path / "run"
    common = ["--data", str(data_root), "--no-fid", *TINY]
    assert train_main([*common, "--out", str(run), "--steps", "2"]) == 0
    good = {name: digest(run / name) for name in ("last.safetensors", "last.state.pt")}
    import dehaze.train.objective as objective_module

    monkeypatch.setattr(objective_module.F, "l1_loss", lambda a, b: (a - b).abs().mean() * float("nan"))
    assert train_main(["--out", str(run), "--steps", "5", "--resume", "--no-fid"]) == 1
    err = capsys.readouterr().err
    assert "became nan at step 3" in err and "Traceback" not in err
    assert {name: digest(run / name) for name in good} == good


def test_corrupt_training_file_is_named_without_traceback(data_root: Path, tmp_path: Path, capsys) -> None:
    (data_root / "hazy" / "img03.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code = train_main(["--data", str(data_root), "--out", str(tmp_path / "run"), "--steps", "2", "--no-fid", *TINY])
    err = capsys.readouterr().err
    assert code == 1
    assert "img03.png" in err and "Traceback" not in err
    code = train_main(
        ["--data", str(data_root), "--out", str(tmp_path / "run2"), "--steps", "2", "--no-fid", "--skip-bad", *TINY]
    )
    assert code == 0
    assert "img03.png" in capsys.readouterr().out


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from dehaze.cli.train import main; sys.exit(main())", *args]


def test_kill_9_leaves_a_resumable_run(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["--data", str(data_root), "--out", str(run), "--steps", "400", "--no-fid", *TINY]
    proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (run / "last.state.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.7)  # let it get into the middle of further checkpoint writes
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run / "last.state.pt").exists(), "no checkpoint was written before the kill"
    assert load_file(str(run / "last.safetensors"))
    state = torch.load(run / "last.state.pt", weights_only=True)
    assert 1 <= state["step"] < 400
    resumed = subprocess.run(
        _cli("--out", str(run), "--steps", str(state["step"] + 2), "--resume", "--no-fid"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert torch.load(run / "last.state.pt", weights_only=True)["step"] == state["step"] + 2


@pytest.mark.parametrize(
    "extra", [[], ["--set", "train.compile=true", "--set", "train.compile_backend=eager"]], ids=["eager", "compiled"]
)
def test_ddp_two_cpu_ranks_hold_identical_weights(data_root: Path, tmp_path: Path, extra: list[str]) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "dehaze.cli.train",
        "--data",
        str(data_root),
        "--out",
        str(run),
        "--steps",
        "3",
        "--no-fid",
        "--set",
        "train.save_rank_weights=true",
        *TINY,
        *extra,
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = load_file(str(run / "rank0.safetensors")), load_file(str(run / "rank1.safetensors"))
    initial = torch.load(run / "last.state.pt", weights_only=True)["step"]
    assert initial == 3
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    assert (run / "metrics.json").is_file()


def test_ctrl_c_saves_and_exits_cleanly(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [
        "--data",
        str(data_root),
        "--out",
        str(run),
        "--steps",
        "400",
        "--no-fid",
        *TINY,
        "--set",
        "train.checkpoint_every=1000",
    ]
    proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list((run / "samples").glob("step_*.png")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert "checkpoint saved" in out + err
    step = torch.load(run / "last.state.pt", weights_only=True)["step"]
    assert 2 <= step < 400  # saved on the way out, not at a periodic checkpoint


def test_resume_can_lower_the_learning_rate(data_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    constant = ["--set", "train.lr_schedule=constant", "--set", "train.warmup_steps=0"]
    common = ["--data", str(data_root), "--no-fid", *TINY, *constant]
    assert train_main([*common, "--out", str(run), "--steps", "2"]) == 0
    lower = ["--set", "train.lr_generator=1e-5"]
    assert train_main(["--out", str(run), "--steps", "3", "--resume", "--no-fid", *lower]) == 0
    state = torch.load(run / "last.state.pt", weights_only=True)
    assert [g["lr"] for g in state["opt_g"]["param_groups"]] == [1e-5]
    assert [g["lr"] for g in state["opt_d"]["param_groups"]] == [2e-4]


def test_export_raw_weights_writes_the_validated_raw_generator(data_root: Path, tmp_path: Path) -> None:
    import runpy

    run = tmp_path / "run"
    assert train_main(["--data", str(data_root), "--out", str(run), "--steps", "2", "--no-fid", *TINY]) == 0
    script = Path(__file__).resolve().parent.parent / "scripts" / "export_raw_weights.py"
    assert runpy.run_path(str(script))["main"]([str(run), str(tmp_path / "raw.safetensors")]) == 0
    raw = load_file(str(tmp_path / "raw.safetensors"))
    state = torch.load(run / "last.state.pt", weights_only=True)
    assert raw.keys() == state["generator"].keys()
    assert all(torch.equal(raw[key], state["generator"][key]) for key in raw)
