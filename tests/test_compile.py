"""``train.compile``: compiled training passes train as the eager ones do, checkpoints keep the eager keys, a compiled
run resumes exactly, and a machine that cannot compile is refused in one line.

The runs use ``train.compile_backend=eager``: dynamo traces the generator and both critics (the real branch's too)
and runs the captured graphs with the eager kernels, so the results must equal the eager run's bit for bit. Inductor
itself is not run here: a cold inductor compile of the tiny recipe took 3.5 minutes at one thread on a loaded
machine; benchmarks/bench_compile.py runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch._dynamo
from conftest import make_pairs
from PIL import Image
from safetensors.torch import load_file

from dehaze.cli.train import main as train_main

COMPILED = ["--set", "train.compile=true", "--set", "train.compile_backend=eager"]


@pytest.fixture(autouse=True)
def no_graphs_left_behind() -> Iterator[None]:
    """Later tests in this process start with no compiled graphs of ours."""
    yield
    torch._dynamo.reset()


@pytest.fixture
def recipe(tmp_path: Path, tiny_train_args: list[str]) -> list[str]:
    """A tiny run with the real-photo branch, so both critics and every generator call of a step take part."""
    data = make_pairs(tmp_path / "pairs", count=8, size=24)
    fog = tmp_path / "fog"
    fog.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        coarse = (rng.random((5, 5, 3)) * 120 + 120).astype(np.uint8)
        Image.fromarray(coarse).resize((40 + 7 * i, 30 + 5 * i), Image.BICUBIC).save(fog / f"fog{i}.jpg")
    return ["--data", str(data), "--real-hazy", str(fog), "--no-fid", *tiny_train_args, "--set", "real.batch_size=2"]


def assert_same_tree(a: object, b: object, where: str = "") -> None:
    """Equal nested dicts of tensors: the same keys at every level and equal tensors."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {set(a) ^ set(b)}"
        for key in a:
            assert_same_tree(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where


def train(args: list[str]) -> int:
    """One run, as its own process would start it: no graphs from an earlier run (each would count towards
    dynamo's recompile limit, past which it runs a function eagerly)."""
    torch._dynamo.reset()
    return train_main(args)


def test_compiled_training_equals_eager_keeps_its_keys_and_resumes(tmp_path: Path, recipe: list[str]) -> None:
    eager, compiled, split = tmp_path / "eager", tmp_path / "compiled", tmp_path / "split"
    assert train([*recipe, "--out", str(eager), "--steps", "2"]) == 0
    assert train([*recipe, *COMPILED, "--out", str(compiled), "--steps", "2"]) == 0
    assert train([*recipe, *COMPILED, "--out", str(split), "--steps", "1"]) == 0
    assert train(["--out", str(split), "--steps", "2", "--resume", "--no-fid"]) == 0  # compiled: its config.yaml
    weights = load_file(str(compiled / "last.safetensors"))
    assert not any("_orig_mod" in key for key in weights)
    for other in (eager, split):
        assert_same_tree(weights, load_file(str(other / "last.safetensors")), str(other))
    state = torch.load(compiled / "last.state.pt", weights_only=True)
    assert state["real_critic"] and not any("_orig_mod" in key for key in state["critic"])
    assert_same_tree(state, torch.load(eager / "last.state.pt", weights_only=True), "eager")
    resumed = torch.load(split / "last.state.pt", weights_only=True)
    del state["rng"], resumed["rng"]  # the torch RNG differs after a resume in eager runs too
    assert_same_tree(state, resumed, "split")


def test_a_machine_that_cannot_compile_is_refused_in_one_line(
    tmp_path: Path, recipe: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_compiler(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found\n\nSet TORCHDYNAMO_VERBOSE=1 ...")

    monkeypatch.setattr(torch, "compile", no_compiler)
    assert train_main([*recipe, *COMPILED, "--out", str(tmp_path / "run"), "--steps", "1"]) == 1
    err = capsys.readouterr().err
    assert "train.compile" in err and "No working C++ compiler found" in err and "Traceback" not in err
