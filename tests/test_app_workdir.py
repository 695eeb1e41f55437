"""``dehaze-app``'s work folder and load options, without Gradio: cleaning after killed apps, sweeping old files and
abandoned uploads (never an open one), and one-line refusals of bad ``--concurrency``/``--max-queue``/``--keep-files``
/``--workdir``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dehaze.app.workdir import STRAY_AGE, WorkFolder, folder_size
from dehaze.cli.app import main as app_main


def _app_folder(root: Path, pid: int) -> Path:
    folder = root / f".app.{pid}.abcd1234.tmp"
    (folder / "results" / "tmpx").mkdir(parents=True)
    (folder / "results" / "tmpx" / "a.png").write_bytes(b"x" * 100)
    return folder


def test_open_removes_what_killed_apps_left_and_never_a_live_apps_folder(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        left, running = _app_folder(tmp_path, dead.pid), _app_folder(tmp_path, live.pid)
        other = tmp_path / "photos"
        other.mkdir()
        with WorkFolder(tmp_path, keep=60) as work:
            assert work.removed == [left] and not left.exists()
            assert running.exists() and other.exists()
            assert work.path.parent == tmp_path.resolve() and work.results.is_dir()
            mine = work.path
        assert not mine.exists()  # closed: this app's folder goes too
    finally:
        live.kill()
        live.wait()


def test_sweep_deletes_old_files_and_abandoned_uploads_but_not_open_or_recent_ones(tmp_path: Path) -> None:
    with WorkFolder(tmp_path, keep=30) as work:
        result = work.results / "tmpa" / "photo.png"
        result.parent.mkdir()
        result.write_bytes(b"png")
        upload = work.path / "0123abcd" / "photo.jpg"  # a finished upload, kept like a result
        upload.parent.mkdir()
        upload.write_bytes(b"jpg")
        abandoned, sending = work.path / "tmpdead", work.path / "tmplive"  # half-sent uploads
        abandoned.write_bytes(b"half")
        with sending.open("wb") as handle:
            handle.write(b"still coming")
            now = time.time()
            assert work.sweep(now) == []  # nothing is old yet
            assert work.sweep(now + STRAY_AGE + 1) == [abandoned]  # the open one is being written
            assert sorted(work.sweep(now + 31)) == sorted([upload, result])
        assert work.sweep(now + STRAY_AGE + 1) == [sending]
        work.sweep(now + 40)
        assert sorted(p.name for p in work.path.iterdir()) == ["results"] and folder_size(work.path) == 0
        assert list(work.results.iterdir()) == []


def test_sweep_keeps_the_upload_of_a_waiting_request(tmp_path: Path) -> None:
    with WorkFolder(tmp_path, keep=5) as work:
        waiting, done = work.path / "aa" / "waiting.jpg", work.path / "bb" / "done.jpg"
        for upload in (waiting, done):
            upload.parent.mkdir()
            upload.write_bytes(b"jpg")
        assert work.sweep(time.time() + 10, in_use=lambda: {str(waiting)}) == [done]
        assert waiting.exists()
        assert work.sweep(time.time() + 10) == [waiting]  # its request ran: it goes at the next sweep


def test_the_sweeper_thread_runs_until_close(tmp_path: Path) -> None:
    work = WorkFolder(tmp_path, keep=60)
    work.open()
    stray = work.path / "tmpgone"
    stray.write_bytes(b"half")
    os.utime(stray, (time.time() - 100, time.time() - 100))  # ctime stays new: the sweep waits STRAY_AGE
    work.start_sweeper(0.2)
    deadline = time.monotonic() + STRAY_AGE + 10
    while stray.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stray.exists()
    work.close()
    assert not work.path.exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--concurrency", "0", "--concurrency must be in 1..10000, got 0"),
        ("--max-queue", "-1", "--max-queue must be in 1..10000, got -1"),
        ("--keep-files", "nan", "--keep-files must be in 10..10000000 seconds, got nan"),
        ("--keep-files", "2", "--keep-files must be in 10..10000000 seconds, got 2.0"),
        ("--workdir", "FILE", "cannot make the app's work folder there: "),
    ],
)
def test_bad_load_options_are_one_line(tmp_path: Path, capsys, option: str, value: str, message: str) -> None:
    if value == "FILE":
        value = str(tmp_path / "a-file")
        Path(value).write_text("not a folder")
    assert app_main(["--port", str(_free_port()), option, value]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
