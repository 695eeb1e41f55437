"""The app's upload handling without Gradio: the CLI's one-line reasons, the pixel limit, the zip of many."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dehaze.app.service import DehazeService, PhotoResult, summary_lines, zip_results
from dehaze.checkpoint import save_generator
from dehaze.cli.infer import main as infer_main
from dehaze.config import ModelConfig
from dehaze.imageio import LIMITS, set_max_pixels
from dehaze.models.build import build_generator
from dehaze.pipeline import RunOptions


@pytest.fixture
def service(tmp_path: Path) -> DehazeService:
    config = ModelConfig(arch="guided", in_channels=3, out_channels=3, width=4, view_size=16)
    checkpoint = tmp_path / "g.safetensors"
    save_generator(build_generator(config), config, checkpoint)
    return DehazeService(RunOptions(checkpoint=checkpoint), tmp_path / "work")


def _cli_reason(path: Path, out: Path, capsys: pytest.CaptureFixture) -> str:
    assert infer_main([str(path), "-o", str(out), "--dcp", "--quiet"]) == 2
    line = [line for line in capsys.readouterr().err.splitlines() if line.startswith(f"  {path}: ")][0]
    return line.removeprefix(f"  {path}: ")


def test_bad_uploads_get_the_reason_dehaze_infer_gives(service: DehazeService, tmp_path: Path, capsys) -> None:
    good = tmp_path / "in" / "good.png"
    good.parent.mkdir()
    Image.fromarray(np.full((20, 30, 3), 200, np.uint8)).save(good)
    bad = {"text.jpg": b"not an image", "cut.png": good.read_bytes()[:60]}
    results = [service.process(good, "auto", 1.0, with_dcp=True)]
    for name, data in bad.items():
        path = tmp_path / "in" / name
        path.write_bytes(data)
        result = service.process(path, "auto", 1.0, with_dcp=False)
        assert result.after is None and result.error == _cli_reason(path, tmp_path / f"cli-{name}", capsys)
        results.append(result)
    assert results[0].after is not None and results[0].dcp is not None and results[0].error is None
    assert summary_lines(results).splitlines() == [
        "dehazed 1 photo(s); failed 2",
        f"text.jpg: {results[1].error}",
        f"cut.png: {results[2].error}",
    ]


def test_the_pixel_limit_applies(service: DehazeService, tmp_path: Path, capsys) -> None:
    photo = tmp_path / "big.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(photo)
    before = LIMITS.max_pixels
    try:
        set_max_pixels(1000)
        result = service.process(photo, "auto", 1.0, with_dcp=False)
        assert result.error is not None and "1600" in result.error
        assert result.error == _cli_reason(photo, tmp_path / "cli", capsys)
    finally:
        set_max_pixels(before)


def test_zip_of_many_keeps_every_photo_under_a_unique_name(tmp_path: Path) -> None:
    outputs = []
    for index, name in enumerate(["a.png", "a.png", "b.png"]):
        path = tmp_path / str(index) / name
        path.parent.mkdir()
        path.write_bytes(bytes([index]))
        outputs.append(PhotoResult(name, after=path))
    outputs.append(PhotoResult("broken.jpg", error="not an image"))
    with zipfile.ZipFile(zip_results(outputs, tmp_path)) as archive:
        assert archive.namelist() == ["a.png", "a-2.png", "b.png"]
        assert archive.read("a-2.png") == bytes([1])


def test_many_strengths_keep_a_bounded_number_of_dehazers(service: DehazeService) -> None:
    from dehaze.app.service import KEPT_DEHAZERS

    first = service.dehazer("auto", 1.0)
    for step in range(3 * KEPT_DEHAZERS):
        service.dehazer("auto", 0.5 + step / 100)
    assert len(service._dehazers) == KEPT_DEHAZERS
    assert service.dehazer("auto", 0.5 + (3 * KEPT_DEHAZERS - 1) / 100) is service.dehazer("auto", 0.5 + 0.23)
    assert service.dehazer("auto", 1.0) is not first  # the oldest was dropped, and is built again when asked
