"""The commands read their arguments before torch is imported: --help, --version and argument errors answer at once.

Checked by what a fresh interpreter has imported after ``--help`` (not by timing; benchmarks/bench_cli.py times it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "torchvision", "kornia", "scipy", "skimage", "cv2", "pytorch_fid", "numpy", "gradio")
COMMANDS = ("infer", "train", "fid", "synth", "app")


def _imported_after(command: str, argv: list[str]) -> tuple[list[str], int]:
    code = (
        "import sys\n"
        f"from dehaze.cli.{command} import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print('imported:' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("imported:"), result.stderr
    return [m for m in last.removeprefix("imported:").split(",") if m], result.returncode


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["--no-such-option"]])
def test_help_version_and_bad_options_import_no_heavy_library(command: str, argv: list[str]) -> None:
    imported, code = _imported_after(command, argv)
    assert imported == []
    assert code == (2 if argv == ["--no-such-option"] else 0)


def test_missing_input_is_refused_before_torch(tmp_path: Path) -> None:
    imported, code = _imported_after("infer", [str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "out")])
    assert code == 1 and imported == []


def test_bad_training_config_is_refused_before_torch(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("loss:\n  l1_weight: -1\n")
    imported, code = _imported_after("train", ["--out", str(tmp_path / "run"), "--config", str(config)])
    assert code == 1 and imported == []


def test_depth_family_names_match_the_depth_module() -> None:
    from dehaze.defaults import DEPTH_FAMILY_NAMES
    from dehaze.depth import DEPTH_FAMILIES

    assert DEPTH_FAMILY_NAMES == tuple(DEPTH_FAMILIES)


def test_error_line_follows_what_was_printed_in_order() -> None:
    """stdout is flushed before the error, so both streams on one pipe read as separate lines, in order."""
    code = (
        "from dehaze.cli.common import run_cli\n"
        "from dehaze.errors import DehazeError\n"
        "def body():\n"
        "    print('device: cpu (2 threads)')\n"
        "    raise DehazeError('bad config')\n"
        "raise SystemExit(run_cli(body))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as in a pipe
    result = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert result.returncode == 1
    assert result.stdout == "device: cpu (2 threads)\nerror: bad config\n"


def test_app_refuses_a_busy_port_before_gradio_and_torch() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        imported, code = _imported_after("app", ["--port", str(busy.getsockname()[1])])
    assert code == 1 and imported == []
