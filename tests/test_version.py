"""One version, printed by ``python -m dehaze --version`` and every command's ``--version``."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

import dehaze
from dehaze.cli import fid, infer, synth, train

ROOT = Path(__file__).resolve().parent.parent


def test_setup_cfg_reads_the_package_version() -> None:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    assert parser["metadata"]["name"] == "guided-dehaze"  # `dehaze` on PyPI is an unrelated package
    assert parser["metadata"]["version"] == "attr: dehaze.__version__"
    assert dehaze.__version__.count(".") == 2


@pytest.mark.parametrize("module", [infer, train, fid, synth])
def test_every_command_prints_the_version(module: object, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--version"])  # type: ignore[attr-defined]
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip().endswith(f" {dehaze.__version__}")


def test_python_m_dehaze_version() -> None:
    result = subprocess.run([sys.executable, "-m", "dehaze", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"dehaze {dehaze.__version__}"
