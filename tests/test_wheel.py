"""The wheel a user installs holds the package and the shipped weights: no fuzz harness, no tests, no test data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What setup.cfg reads, plus the tests (harness and corpus included) so that leaving them out is what is checked
SOURCES = ["setup.cfg", "pyproject.toml", "README.md", "dehaze", "tests", "checkpoints/dehaze-gray-default.safetensors"]
SOURCES += ["checkpoints/dehaze-rgb-default.safetensors"]


def _copy_sources(target: Path) -> Path:
    """A clean copy of what a build reads (no stale ``build/`` beside it); returns its root."""
    source = target / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path, copy = ROOT / name, source / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(path, copy, ignore=ignore) if path.is_dir() else shutil.copy2(path, copy)
    return source


def _build_wheel(tmp_path: Path) -> list[str]:
    """The names inside the wheel built from a copy of this tree."""
    source, out = _copy_sources(tmp_path), tmp_path / "wheel"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source)]
    done = subprocess.run([*command, "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("guided_dehaze-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_holds_no_fuzz_code_and_no_test_data(tmp_path: Path) -> None:
    names = _build_wheel(tmp_path)
    folders = {name.split("/")[0] for name in names}
    assert {folder for folder in folders if not folder.startswith("guided_dehaze-")} == {"dehaze"}
    assert "dehaze/__init__.py" in names and "dehaze/metrics/data/niqe_pris_params.npz" in names
    assert [name for name in names if "fuzz" in name or "test" in name] == []
    shipped = sorted(name.rsplit("/", 1)[-1] for name in names if name.split("/")[0].endswith(".data"))
    assert shipped == ["dehaze-gray-default.safetensors", "dehaze-rgb-default.safetensors"]
