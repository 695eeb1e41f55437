"""``dehaze-app`` end to end: a real server process, its ``/dehaze`` API (gradio_client) and the page in headless
Chromium (Playwright with the system's /usr/bin/chromium). Results must equal ``dehaze-infer``'s pixel for pixel.

Needs the ``[app]`` extra (Gradio), ``playwright`` (the Python package; its own browser download is never used) and
Debian's ``chromium``; ``.ci/run`` installs all three.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dehaze.checkpoint import save_generator
from dehaze.cli.infer import main as infer_main
from dehaze.config import ModelConfig
from dehaze.models.build import build_generator

gradio_client = pytest.importorskip("gradio_client", reason="dehaze-app needs the app extra: pip install -e '.[app]'")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [  # a closed network: no background connections, no sandbox as root
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _photo(path: Path, gray: bool = False, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:60, 0:84] / 84.0
    scene = np.stack([0.4 + 0.3 * np.sin(7 * x + k) * (y > 0.3) for k in range(3)], axis=-1)
    hazy = scene * 0.5 + 0.45 + rng.normal(0, 0.01, scene.shape)
    pixels = (np.clip(hazy, 0, 1) * 255).round().astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[..., 0] if gray else pixels).save(path)
    return path


def _infer(photo: Path, out: Path, checkpoint: Path, *options: str) -> np.ndarray:
    assert infer_main([str(photo), "-o", str(out), "--checkpoint", str(checkpoint), "--quiet", *options]) == 0
    return np.asarray(Image.open(out / (photo.stem + ".png")))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A ``dehaze-app`` process with a small guided checkpoint, on a free port of 127.0.0.1: (URL, checkpoint)."""
    root = tmp_path_factory.mktemp("app")
    config = ModelConfig(arch="guided", in_channels=3, out_channels=3, width=8, view_size=16)
    checkpoint = root / "rgb.safetensors"
    save_generator(build_generator(config), config, checkpoint)
    port = _free_port()
    command = [sys.executable, "-m", "dehaze.cli.app", "--checkpoint", str(checkpoint), "--port", str(port)]
    log = (root / "app.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            if process.poll() is not None:
                raise RuntimeError((root / "app.log").read_text())
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        yield url, checkpoint
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.parametrize(
    ("gray", "color", "strength"), [(False, "auto", 1.0), (False, "gray", 0.6), (True, "auto", 1.4)]
)
def test_api_returns_what_dehaze_infer_writes(app, tmp_path: Path, gray: bool, color: str, strength: float) -> None:
    url, checkpoint = app
    photo = _photo(tmp_path / "in" / "a.png", gray=gray)
    client = gradio_client.Client(url, verbose=False)
    result = client.predict(gradio_client.handle_file(str(photo)), color, strength, api_name="/dehaze")
    options = ["--color", color, "--strength", str(strength)]
    expected = _infer(photo, tmp_path / "cli", checkpoint, *options)
    assert np.array_equal(np.asarray(Image.open(result)), expected)


def test_api_names_a_bad_file_and_keeps_serving(app, tmp_path: Path) -> None:
    url, _ = app
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    client = gradio_client.Client(url, verbose=False)
    with pytest.raises(Exception, match=r"notes\.jpg: not an image") as error:
        client.predict(gradio_client.handle_file(str(text)), "auto", 1.0, api_name="/dehaze")
    assert "Traceback" not in str(error.value)
    result = client.predict(gradio_client.handle_file(str(_photo(tmp_path / "b.png"))), "auto", 1.0, api_name="/dehaze")
    assert Image.open(result).size == (84, 60)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium")
def test_page_in_chromium_uploads_dehazes_and_downloads(app, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install -e '.[dev]'")
    url, checkpoint = app
    photos = [_photo(tmp_path / "in" / "a.png", seed=1), _photo(tmp_path / "in" / "b.png", gray=True, seed=2)]
    bad = tmp_path / "in" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(accept_downloads=True)
            page.goto(url)
            page.locator("#photos input[type=file]").set_input_files([str(p) for p in [*photos, bad]])
            page.locator("#strength input[type=number]").fill("0.7")
            page.locator("#strength input[type=number]").press("Enter")
            page.click("#run")
            page.wait_for_selector("#download a", timeout=120_000)
            messages = page.locator("#messages textarea").input_value()
            with page.expect_download() as download:
                page.locator("#download a").first.click()
            archive = tmp_path / "dehazed.zip"
            download.value.save_as(archive)
        finally:
            browser.close()
    assert messages.splitlines()[0] == "dehazed 2 photo(s); failed 1"
    assert "broken.jpg: " in messages and "Traceback" not in messages
    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == ["a.png", "b.png"]
        zipped.extractall(tmp_path / "unzipped")
    for photo in photos:
        expected = _infer(photo, tmp_path / "cli", checkpoint, "--strength", "0.7", "--overwrite")
        assert np.array_equal(np.asarray(Image.open(tmp_path / "unzipped" / (photo.stem + ".png"))), expected)
