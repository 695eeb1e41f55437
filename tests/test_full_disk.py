"""A full disk, simulated with ``RLIMIT_FSIZE`` in a subprocess (``SIGXFSZ`` ignored, so a write past the limit
fails with ``EFBIG`` like ``ENOSPC`` would): every CLI stops with one line naming the file it could not write,
leaves no partial file behind, and keeps what was there before."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dehaze.atomic import atomic_write_bytes, atomic_write_text
from dehaze.checkpoint import load_generator, load_training_state, save_generator
from dehaze.cli.synth import main as synth_main
from dehaze.cli.train import main as train_main
from dehaze.config import ModelConfig
from dehaze.errors import DehazeError, WriteError
from dehaze.models.build import build_generator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX-only")

DRIVER = """
import importlib, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
limit, module, *argv = sys.argv[1:]
main = importlib.import_module(module).main
resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
sys.exit(main(argv))
"""

TINY_TRAIN = [
    *("--set", "model.arch=unet", "--set", "model.base_width=4", "--set", "model.depth=2"),
    *("--set", "critic.spatial_width=4", "--set", "critic.frequency_width=4", "--set", "critic.spatial_layers=2"),
    *("--set", "train.num_workers=0", "--set", "train.log_every=1", "--set", "train.sample_every=1000"),
    *("--set", "train.val_every=1", "--set", "train.checkpoint_every=1", "--set", "train.val_max_images=2"),
    *("--set", "train.test_fraction=0.3", "--batch-size", "2", "--patch-size", "16", "--device", "cpu", "--no-fid"),
]


def run_limited(limit: int, module: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``module.main(argv)`` in a subprocess that may not write files larger than ``limit`` bytes."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    cmd = [sys.executable, "-c", DRIVER, str(limit), module, *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exactly one ``error: ...`` line on stderr and no traceback."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    return errors[0]


def noise_png(path: Path, size: int = 64, seed: int = 0, rgb: bool = False) -> Path:
    """Random pixels: a PNG of several kB, larger than the limits used here."""
    shape = (size, size, 3) if rgb else (size, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def flat_png(path: Path, size: int = 64, rgb: bool = False) -> Path:
    """One grey level: a PNG (and a dehazed PNG) of a few hundred bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3) if rgb else (size, size), 140, np.uint8)).save(path)
    return path


# ----------------------------------------------------------------------------- atomic writes


def test_atomic_write_failure_names_the_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "weights.bin"
    atomic_write_bytes(target, b"old")

    def full_disk(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    from dehaze.atomic import atomic_write

    with pytest.raises(WriteError) as info:
        atomic_write(target, full_disk)
    assert str(info.value) == f"cannot write {target}: No space left on device; the previous weights.bin is intact"
    assert info.value.disk_full and isinstance(info.value, DehazeError) and isinstance(info.value, OSError)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["weights.bin"]
    with pytest.raises(WriteError, match="nothing was written"):
        atomic_write(tmp_path / "new.bin", full_disk)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.bin"]


def test_unwritable_folder_is_a_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WriteError, match="cannot write .*file/out.txt"):
        atomic_write_text(blocker / "out.txt", "x")


# ----------------------------------------------------------------------------- dehaze-train


def test_training_on_a_full_disk_stops_and_keeps_the_previous_checkpoints(tmp_path: Path, data_root: Path) -> None:
    run = tmp_path / "run"
    data = data_root
    assert train_main(["--data", str(data), "--out", str(run), "--steps", "1", *TINY_TRAIN]) == 0
    kept = {name: digest(run / name) for name in ("last.safetensors", "best.safetensors", "last.state.pt")}
    smaller_than_a_checkpoint = (run / "last.safetensors").stat().st_size - 512
    rewritten_first = [run / "config.yaml", run / "history.jsonl"]  # small files a resumed run writes first
    assert max(p.stat().st_size for p in rewritten_first) < smaller_than_a_checkpoint // 4

    result = run_limited(
        smaller_than_a_checkpoint, "dehaze.cli.train", "--out", str(run), "--steps", "3", "--resume", *TINY_TRAIN
    )
    line = one_error_line(result)
    assert "cannot write" in line and "File too large" in line, line
    assert any(f"{run / name}:" in line and f"the previous {name} is intact" in line for name in kept), line
    assert {name: digest(run / name) for name in kept} == kept
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    for name in ("last.safetensors", "best.safetensors"):
        load_generator(run / name)
    assert load_training_state(run / "last.state.pt")["step"] == 1  # still resumable from where it was


# ----------------------------------------------------------------------------- dehaze-infer


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = ModelConfig(arch="unet", base_width=4, depth=2)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_generator(build_generator(cfg), cfg, path)
    return path


def test_infer_on_a_full_disk_names_the_file_and_leaves_no_partial_output(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    photos, out = tmp_path / "photos", tmp_path / "out"
    flat_png(photos / "a_flat.png")
    noise_png(photos / "b_noise.png", seed=1)
    noise_png(photos / "c_noise.png", seed=2)
    argv = [str(photos), "-o", str(out), "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--quiet"]
    result = run_limited(2048, "dehaze.cli.infer", *argv)
    line = one_error_line(result)
    assert result.returncode == 2, result.stderr  # like an unreadable file, but the run stops here
    assert f"cannot write {out / 'b_noise.png'}: File too large" in line, line
    assert sorted(p.name for p in out.rglob("*")) == ["a_flat.png"]  # the one that fitted; no partial, no temp file
    Image.open(out / "a_flat.png").verify()


def test_infer_with_no_space_at_all_writes_nothing(tmp_path: Path, tiny_checkpoint: Path) -> None:
    image, out = noise_png(tmp_path / "photo.png"), tmp_path / "out"
    result = run_limited(
        0, "dehaze.cli.infer", str(image), "-o", str(out), "--checkpoint", str(tiny_checkpoint), "--quiet"
    )
    line = one_error_line(result)
    assert result.returncode == 2 and str(out / "photo.png") in line and "nothing was written" in line, line
    assert not out.exists() or not any(out.rglob("*"))


# ----------------------------------------------------------------------------- dehaze-synth


def make_photos(folder: Path) -> None:
    flat_png(folder / "a_flat.png", rgb=True)
    noise_png(folder / "b_noise.png", seed=3, rgb=True)
    noise_png(folder / "c_noise.png", seed=4, rgb=True)


def test_synth_on_a_full_disk_leaves_no_half_written_pair_set(tmp_path: Path) -> None:
    make_photos(tmp_path / "photos")
    out = tmp_path / "out"
    result = run_limited(2048, "dehaze.cli.synth", str(tmp_path / "photos"), str(out), "--quiet")
    line = one_error_line(result)
    assert "cannot write" in line and "b_noise" in line and "File too large" in line, line
    assert list(out.iterdir()) == []  # no hazy/, clean/, manifest.csv, nor the staging folder


def test_synth_overwrite_on_a_full_disk_keeps_the_previous_pair_set(tmp_path: Path) -> None:
    make_photos(tmp_path / "photos")
    out = tmp_path / "out"
    assert synth_main([str(tmp_path / "photos"), str(out), "--quiet"]) == 0
    before = tree(out)
    argv = [str(tmp_path / "photos"), str(out), "--overwrite", "--seed", "7", "--quiet"]
    line = one_error_line(run_limited(2048, "dehaze.cli.synth", *argv))
    assert "cannot write" in line, line
    assert tree(out) == before
