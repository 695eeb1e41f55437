"""The pieces of ``scripts/load_test.py``: test photos, a ``dehaze-app`` process, its memory, and client threads.

Clients are ``gradio_client`` users, each with its own session, as a team's would be. Every served PNG is compared
byte for byte with the one ``dehaze-infer`` writes for that photo and strength, so a lost or swapped result shows.
A busy answer is either the app's upload gate (HTTP 503 before the photo is read) or Gradio's queue refusing the join.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from dehaze.app.gate import BUSY_TEXT

STRENGTHS = (1.0, 0.6)
REQUEST_TIMEOUT = 900.0  # seconds; a request with no answer by then counts as lost
HTTP_TIMEOUT = 60.0  # seconds for one HTTP call (upload, join, download); httpx's own 5 s fails on a loaded machine


def make_photos(folder: Path, megapixels: list[float], seed: int = 0) -> list[Path]:
    """One hazy-looking JPEG per size (4:3, a smooth scene with grain), each different, named by its size."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = []
    for index, mp in enumerate(megapixels):
        width = max(8, round((mp * 1e6 * 4 / 3) ** 0.5))
        height = max(6, round(width * 3 / 4))
        small = (rng.random((12, 16, 3)) * 120 + 110).astype(np.uint8)  # bright, low contrast: haze
        scene = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
        grain = rng.integers(-6, 7, size=(height, 1, 1), dtype=np.int16)  # row grain: cheap at 24 MP
        pixels = np.clip(np.asarray(scene, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
        path = folder / f"photo{index}_{mp:g}mp.jpg"
        Image.fromarray(pixels).save(path, quality=92)
        photos.append(path)
    return photos


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def expected_hashes(photos: list[Path], work: Path, checkpoint: Path | None) -> dict[tuple[str, float], str]:
    """``dehaze-infer``'s PNG for every photo and strength: {(photo name, strength): sha256}."""
    from dehaze.cli.infer import main as infer_main

    expected = {}
    for strength in STRENGTHS:
        out = work / f"infer-{strength:g}"
        command = [str(photos[0].parent), "-o", str(out), "--quiet", "--strength", str(strength)]
        if infer_main(command + (["--checkpoint", str(checkpoint)] if checkpoint else [])) != 0:
            raise RuntimeError(f"dehaze-infer failed on {photos[0].parent}")
        for photo in photos:
            expected[(photo.name, strength)] = file_hash(out / (photo.stem + ".png"))
    return expected


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class App:
    """A ``dehaze-app`` process on 127.0.0.1 with its log; :meth:`start` waits until the page answers.
    Every started app is in :data:`App.started`, for :meth:`stop_all` to end when the test stops early."""

    started: list[App] = []

    def __init__(self, workdir: Path, log: Path, options: list[str]) -> None:
        self.workdir, self.log, self.options = workdir, log, options
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 300.0) -> App:
        command = [sys.executable, "-m", "dehaze.cli.app", "--port", str(self.port), "--workdir", str(self.workdir)]
        with self.log.open("a") as log:
            self.process = subprocess.Popen([*command, *self.options], stdout=log, stderr=subprocess.STDOUT)
        App.started.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dehaze-app exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=5):
                    return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"dehaze-app did not answer in {timeout:.0f} s")

    def folders(self) -> list[Path]:
        """The per-app folders under the work root (this app's and any left behind)."""
        return sorted(self.workdir.glob(".app.*.tmp"))

    def peak_rss(self) -> int:
        """The process's peak resident memory so far in bytes (``VmHWM``; Linux)."""
        return _status_kb(self.process.pid, "VmHWM") * 1024

    def rss(self) -> int:
        return _status_kb(self.process.pid, "VmRSS") * 1024

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            self.process.wait(timeout=120)

    @classmethod
    def stop_all(cls) -> None:
        for app in cls.started:
            if app.process is not None and app.process.poll() is None:
                app.process.kill()
                app.process.wait()


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Tally:
    """What a group of requests got: served (right or wrong), busy, errors, lost, and their latencies. A busy answer's
    note says where: "upload" (the app's gate, before the photo was read) or "join" (Gradio's queue, after it)."""

    served: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    busy_at_upload: int = 0
    wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, seconds: float, note: str = "") -> None:
        with self.lock:
            if kind == "served":
                self.served.append(seconds)
            elif kind == "busy":
                self.busy.append(seconds)
                self.busy_at_upload += note == "upload"
            elif kind == "lost":
                self.lost += 1
            else:
                (self.wrong if kind == "wrong" else self.errors).append(note)
                if kind == "wrong":
                    self.served.append(seconds)

    def summary(self) -> dict[str, object]:
        def pct(values: list[float], q: float) -> float | None:
            return round(float(np.percentile(values, q)), 3) if values else None

        return {
            "requests": len(self.served) + len(self.busy) + len(self.errors) + self.lost,
            "served": len(self.served),
            "wrong": len(self.wrong),
            "busy": len(self.busy),
            "busy_at_upload": self.busy_at_upload,
            "errors": len(self.errors),
            "lost": self.lost,
            "p50_s": pct(self.served, 50),
            "p95_s": pct(self.served, 95),
            "busy_p95_s": pct(self.busy, 95),
            "first_errors": sorted(set(self.errors))[:5] + sorted(set(self.wrong))[:5],
        }


def gate_refusal(exc: httpx.HTTPStatusError) -> bool:
    """The app's upload gate said busy (:mod:`dehaze.app.gate`): its 503 with its text; any other HTTP error is not."""
    return exc.response.status_code == 503 and exc.response.text == BUSY_TEXT


class Requester:
    """One ``gradio_client`` user (its own session and download folder) sending photos with known answers."""

    def __init__(self, url: str, expected: dict[tuple[str, float], str], photos: dict[str, Path]) -> None:
        from gradio_client import Client

        self.downloads = Path(tempfile.mkdtemp(prefix="dehaze-load-client-"))
        self.client = Client(
            url,
            verbose=False,
            download_files=str(self.downloads),
            analytics_enabled=False,
            httpx_kwargs={"timeout": HTTP_TIMEOUT},
        )
        self.expected, self.photos = expected, photos

    def send(self, name: str, strength: float, tally: Tally, timeout: float = REQUEST_TIMEOUT) -> str:
        """One request; its outcome goes into ``tally`` and is returned ("served", "busy", ...)."""
        from gradio_client import handle_file
        from gradio_client.utils import QueueError

        start = time.monotonic()
        job = self.client.submit(handle_file(str(self.photos[name])), "auto", strength, api_name="/dehaze")
        try:
            result = job.result(timeout=timeout)
        except QueueError:
            kind, note = "busy", "join"  # Gradio refused the join (the queue filled while the photo was uploaded)
        except httpx.HTTPStatusError as exc:
            kind, note = ("busy", "upload") if gate_refusal(exc) else ("error", f"HTTPStatusError: {str(exc)[:200]}")
        except TimeoutError:
            kind, note = "lost", ""
        except Exception as exc:  # noqa: BLE001 - every other answer is an error, named in the report
            kind, note = "error", f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            right = file_hash(result) == self.expected[(name, strength)]
            kind, note = ("served", "") if right else ("wrong", f"{name} at {strength:g}: not dehaze-infer's PNG")
            shutil.rmtree(Path(result).parent, ignore_errors=True)
        tally.add(kind, time.monotonic() - start, note)
        return kind

    def close(self) -> None:
        shutil.rmtree(self.downloads, ignore_errors=True)


def start_clients(
    url: str, clients: int, duration: float, known: tuple[dict, dict[str, Path]], seed: int, timeout: float
) -> tuple[Tally, list[threading.Thread]]:
    """``clients`` users, each sending random photos and strengths one after another until ``duration`` is up
    (at least one each; a busy answer: wait 0.5 s and go on); ``known`` = (expected hashes, photos by name).
    Returns the running threads: join them to wait for the requests under way at the end."""
    tally, deadline = Tally(), time.monotonic() + duration
    expected, photos = known

    def user(index: int) -> None:
        rng, requester = random.Random(f"{seed}:{index}"), None
        try:
            requester = Requester(url, expected, photos)
            while True:  # at least one request, however long the client took to connect
                if requester.send(rng.choice(sorted(photos)), rng.choice(STRENGTHS), tally, timeout) == "busy":
                    time.sleep(0.5)
                if time.monotonic() >= deadline:
                    break
        except Exception as exc:  # noqa: BLE001 - a user that cannot connect counts as an error
            tally.add("error", 0.0, f"client: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            if requester is not None:
                requester.close()

    threads = [threading.Thread(target=user, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    return tally, threads
