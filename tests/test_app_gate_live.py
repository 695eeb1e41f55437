"""``dehaze-app``'s upload gate against a real app whose queue is full (issue 37).

The app runs with its dehazing held (``--max-queue 1``: one job held running and one waiting fill the queue); a
real upload of a few MB with httpx, a ``gradio_client`` request (counted as the load test counts it) and a photo
dropped on the page in Chromium must each get the gate's busy answer at once; once the jobs are let go, uploads
pass again. :mod:`tests.test_app_gate` tests the gate's rules alone.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dehaze.app.gate import BUSY_TEXT, RETRY_AFTER

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")

HELD_APP = """
import sys, time
from pathlib import Path
from dehaze.app import service
hold, real = Path(sys.argv[1]), service.DehazeService.dehaze_to_png
def held(self, *args, **kwargs):
    while hold.exists():
        time.sleep(0.05)
    return real(self, *args, **kwargs)
service.DehazeService.dehaze_to_png = held
from dehaze.cli.app import main
sys.exit(main(sys.argv[2:]))
"""  # dehaze-app whose dehazing jobs wait while the file argv[1] exists


class BusyApp:
    """A running ``dehaze-app`` whose queue is full: its URL, work root, hold file, held jobs and a 3 MB photo."""

    def __init__(self, url: str, work: Path, hold: Path, jobs: list, photo: Path) -> None:
        self.url, self.work, self.hold, self.jobs, self.photo = url, work, hold, jobs, photo


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


def _start(root: Path, hold: Path) -> tuple[subprocess.Popen, str]:
    from dehaze.checkpoint import save_generator
    from dehaze.config import ModelConfig
    from dehaze.models.build import build_generator

    config = ModelConfig(arch="guided", in_channels=3, out_channels=3, width=8, view_size=16)
    save_generator(build_generator(config), config, root / "rgb.safetensors")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ["--checkpoint", str(root / "rgb.safetensors"), "--port", str(port), "--max-queue", "1"]
    command = [sys.executable, "-c", HELD_APP, str(hold), *options, "--workdir", str(root / "work")]
    with (root / "app.log").open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}/"
        time.sleep(0.5)
    process.kill()
    raise RuntimeError((root / "app.log").read_text()[-3000:])


@pytest.fixture(scope="module")
def busy_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BusyApp]:
    """``--max-queue 1``: a held job running and one waiting fill the queue."""
    gradio_client = pytest.importorskip("gradio_client", reason="dehaze-app needs the app extra")
    from gradio_client.utils import Status

    root = tmp_path_factory.mktemp("gate")
    hold = root / "hold"
    hold.touch()
    small, big = root / "small.png", root / "big.jpg"
    Image.fromarray((np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)).save(small)
    Image.fromarray((np.random.default_rng(1).random((1500, 2000, 3)) * 255).astype(np.uint8)).save(big, quality=95)
    process, url = _start(root, hold)
    try:
        client = gradio_client.Client(url, verbose=False, download_files=str(root / "downloads"))
        jobs, deadline = [], time.monotonic() + 300
        for wanted in (Status.PROCESSING, Status.IN_QUEUE):  # one at a time: the gate judges each upload on arrival
            jobs.append(client.submit(gradio_client.handle_file(str(small)), "auto", 1.0, api_name="/dehaze"))
            while jobs[-1].status().code != wanted:
                assert time.monotonic() < deadline, [job.status().code for job in jobs]
                time.sleep(0.1)
        yield BusyApp(url, root / "work", hold, jobs, big)
    finally:
        hold.unlink(missing_ok=True)
        process.terminate()
        process.wait(timeout=60)


def test_a_few_mb_upload_to_a_full_queue_is_refused_at_once_unread(busy_app: BusyApp) -> None:
    import httpx

    before, size = _files(busy_app.work), busy_app.photo.stat().st_size
    with httpx.Client(timeout=60) as client:  # twice on one client: the closed connection is replaced
        for _ in range(2):
            start = time.monotonic()
            with busy_app.photo.open("rb") as photo:
                response = client.post(busy_app.url + "gradio_api/upload", files=[("files", ("big.jpg", photo))])
            seconds = time.monotonic() - start
            print(f"busy answer to a {size / 2**20:.1f} MB upload: {seconds:.3f} s, load {os.getloadavg()}")
            assert response.status_code == 503 and response.text == BUSY_TEXT
            assert response.headers["retry-after"] == str(RETRY_AFTER)
            assert seconds < 5.0  # measured 0.01-0.07 s at load 3-4 on 2 busy cores (nice 19)
    assert _files(busy_app.work) <= before  # nothing of the upload reached Gradio's temp files


def test_gradio_client_gets_the_503_and_the_load_test_counts_it_busy(
    busy_app: BusyApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from load_clients import Requester, Tally

    user, tally = Requester(busy_app.url, {}, {busy_app.photo.name: busy_app.photo}), Tally()
    try:
        assert user.send(busy_app.photo.name, 1.0, tally, timeout=120) == "busy"
    finally:
        user.close()
    assert tally.busy_at_upload == 1 and tally.errors == [] and tally.busy[0] < 5.0


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium")
def test_the_page_says_busy_when_a_photo_is_dropped_on_a_full_queue(busy_app: BusyApp) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install -e '.[dev]'")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)  # a loaded machine starts Chromium and Gradio's page slowly
            page.goto(busy_app.url)
            page.locator("#photos input[type=file]").set_input_files([str(busy_app.photo)])
            toast = page.get_by_text(BUSY_TEXT).first  # Gradio's error toast: "HTTP 503: " + the gate's text
            toast.wait_for(timeout=120_000)
            shown = toast.inner_text()
        finally:
            browser.close()
    assert BUSY_TEXT in shown  # shown as "HTTP 503: dehaze-app is busy: ... try again in a few seconds."


def test_once_the_jobs_are_done_uploads_pass_again(busy_app: BusyApp) -> None:
    import httpx

    busy_app.hold.unlink()
    assert all(Path(job.result(timeout=300)).is_file() for job in busy_app.jobs)
    with busy_app.photo.open("rb") as photo:
        response = httpx.post(busy_app.url + "gradio_api/upload", files=[("files", ("big.jpg", photo))], timeout=60)
    assert response.status_code == 200 and response.json()[0].endswith("big.jpg")
