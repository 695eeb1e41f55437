"""Load test of the real ``dehaze-app`` (issue 37): concurrent ``gradio_client`` users, a burst, hang-ups, a kill.

    OMP_NUM_THREADS=1 python scripts/load_test.py --clients 8 32 64 --duration 90 --sizes 0.3 1 3 8 12 24 \\
        --burst 500 --max-queue 16 --keep-files 60 --out benchmarks/results/load_test.json

Phases, against one app on 127.0.0.1 (``--concurrency``, ``--max-queue``, ``--keep-files`` passed on):
1. for each ``--clients`` level, that many users send random photos and strengths for ``--duration`` seconds;
   every served PNG must equal ``dehaze-infer``'s for that photo and strength (none lost, none swapped);
2. ``--burst`` requests of the largest photo at once: past the queue each must be answered busy within
   ``--busy-limit-s`` (p95), and the peak RSS must stay within 256 MB of the levels' peak;
3. hang-ups: a half-sent upload, and a client process killed with SIGKILL mid-request;
4. after ``--keep-files`` seconds the work folder must be back to its size and the app must still serve right;
5. SIGKILL the app mid-burst, start it again: it serves right, and the killed app's folder is gone.
Prints a JSON report (also to ``--out``); exit code 1 when a target is missed (any error other than busy, a wrong or
lost result, peak RSS over ``--rss-limit-gb``, a folder not cleaned, the app not serving).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from load_clients import STRENGTHS, App, Requester, Tally, expected_hashes, make_photos, start_clients

from dehaze.app.workdir import folder_size

SWEEP_WAIT = 6.0  # seconds past --keep-files for the app's sweeper (every 2 s) to run
FLAT_MB = 256  # a burst may raise the peak RSS this much over the levels' peak (same photos, same concurrency)


class RssMonitor:
    """Samples the app's resident memory every 0.2 s; :meth:`take` returns the peak since the last call."""

    def __init__(self, app: App) -> None:
        self.app, self.peak, self._stop = app, 0, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak = max(self.peak, self.app.rss())
            except (OSError, ValueError):
                return

    def take(self) -> float:
        peak, self.peak = max(self.peak, self.app.rss()), 0
        return round(peak / 2**20, 1)

    def stop(self) -> None:
        self._stop.set()


def levels(app: App, args: argparse.Namespace, known: tuple[dict, dict], monitor: RssMonitor) -> list[dict]:
    """Phase 1: every client level for ``--duration`` seconds."""
    rows = []
    for clients in args.clients:
        start = time.monotonic()
        seed, timeout = args.seed + clients, args.request_timeout
        tally, threads = start_clients(app.url, clients, args.duration, known, seed, timeout)
        for thread in threads:
            thread.join()
        row = {"clients": clients, "wall_s": round(time.monotonic() - start, 1), **tally.summary()}
        rows.append({**row, "peak_rss_mb": monitor.take()})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def burst(app: App, size: int, known: tuple[dict, dict], monitor: RssMonitor, timeout: float) -> dict:
    """Phase 2: ``size`` requests of the largest photo at once, from up to 32 sessions and 128 threads."""
    expected, photos = known
    name = max(photos, key=lambda key: photos[key].stat().st_size)
    users = [Requester(app.url, expected, photos) for _ in range(min(size, 32))]
    monitor.take()
    tally, start = Tally(), time.monotonic()
    with ThreadPoolExecutor(max_workers=min(size, 128)) as pool:
        for index in range(size):
            pool.submit(users[index % len(users)].send, name, STRENGTHS[0], tally, timeout)
    for user in users:
        user.close()
    return {
        "requests": size,
        "wall_s": round(time.monotonic() - start, 1),
        **tally.summary(),
        "peak_rss_mb": monitor.take(),
    }


def hang_ups(app: App, photos: dict[str, Path]) -> dict:
    """Phase 3: a client that stops half-way through an upload, and one killed while its request runs."""
    with socket.create_connection(("127.0.0.1", app.port)) as connection:
        head = '--X\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
        request = "POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50000000\r\n"
        request += "Content-Type: multipart/form-data; boundary=X\r\n\r\n" + head
        connection.sendall(request.encode() + os.urandom(1 << 20))
        stray_seen = _wait_for(lambda: bool(_strays(app)), 30.0)  # Gradio's temp file of the upload under way
    largest = max(photos.values(), key=lambda path: path.stat().st_size)
    code = "import sys; from gradio_client import Client, handle_file; Client(sys.argv[1], verbose=False)"
    code += ".predict(handle_file(sys.argv[2]), 'auto', 1.0, api_name='/dehaze')"
    client = subprocess.Popen([sys.executable, "-c", code, app.url, str(largest)], stderr=subprocess.DEVNULL)
    time.sleep(4.0)
    client.kill()
    client.wait()
    _wait_for(lambda: not _strays(app), 30.0)
    return {"half_upload_temp_seen": stray_seen, "half_upload_temp_left": _strays(app)}


def _strays(app: App) -> list[str]:
    """Files at the top of the apps' folders: where Gradio writes an upload while it arrives."""
    return [path.name for folder in app.folders() for path in folder.iterdir() if path.is_file()]


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


def serves_right(app: App, known: tuple[dict, dict]) -> str:
    """One request of the smallest photo: "served" when answered with ``dehaze-infer``'s PNG, else what it got."""
    expected, photos = known
    user, tally = Requester(app.url, expected, photos), Tally()
    try:
        kind = user.send(min(photos, key=lambda key: photos[key].stat().st_size), 1.0, tally, 300.0)
        return kind if kind == "served" else f"{kind}: {(tally.errors + tally.wrong + [''])[0]}"
    finally:
        user.close()


def kill_and_restart(app: App, args: argparse.Namespace, known: tuple[dict, dict]) -> tuple[App, dict]:
    """Phase 5: SIGKILL the app while clients send, start a new one on the same work root; it must clean up."""
    clients = max(2, min(args.clients))
    start_clients(app.url, clients, args.kill_after + 5, known, args.seed, 30.0)  # daemon threads, not waited for
    time.sleep(args.kill_after)
    killed_folders = app.folders()
    app.stop(kill=True)
    left = [folder for folder in killed_folders if folder.exists()]
    fresh = App(app.workdir, app.log, app.options).start()
    report = {
        "folders_left_by_the_kill": len(left),
        "left_after_restart": sum(folder.exists() for folder in left),
        "restarted_serves": serves_right(fresh, known),
    }
    return fresh, report


def stopped_cleanly(app: App) -> bool:
    """SIGTERM: the app stops and removes its own folder."""
    folders = app.folders()
    app.stop()
    return not any(folder.exists() for folder in folders)


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def _machine() -> dict:
    load = os.getloadavg()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_1_5_15": [round(value, 2) for value in load],
        "cpus": os.cpu_count(),
    }


def failures(report: dict, args: argparse.Namespace) -> list[str]:
    """Every missed target of ``report``, in words."""
    missed = []
    for row in [*report["levels"], report.get("burst") or {}]:
        for key in ("errors", "wrong", "lost"):
            if row.get(key):
                missed.append(f"{row.get('clients', 'burst')}: {row[key]} {key}")
    if report["peak_rss_mb"] > args.rss_limit_gb * 1024:
        missed.append(f"peak RSS {report['peak_rss_mb']} MB over {args.rss_limit_gb} GB")
    burst, level_peak = report.get("burst") or {}, max(row["peak_rss_mb"] for row in report["levels"])
    if burst.get("busy_p95_s") and burst["busy_p95_s"] > args.busy_limit_s:
        missed.append(f"burst: busy answers took {burst['busy_p95_s']} s (p95), over {args.busy_limit_s} s")
    if burst and burst["peak_rss_mb"] > level_peak + FLAT_MB:
        missed.append(f"burst: peak RSS {burst['peak_rss_mb']} MB, more than {FLAT_MB} MB over the levels'")
    checks = {
        "half-sent upload left a temp file": report["hang_ups"]["half_upload_temp_left"],
        "work folder not back to its size": report["after"]["folder_bytes"] > report["before"]["folder_bytes"],
        "app does not serve after the test": report["after"]["serves"] != "served",
        "killed app's folder left after restart": report["kill"]["left_after_restart"],
        "restarted app does not serve": report["kill"]["restarted_serves"] != "served",
        "app's folder left after SIGTERM": not report["stopped_cleanly"],
    }
    return missed + [text for text, bad in checks.items() if bad]


def run(args: argparse.Namespace, scratch: Path) -> dict:
    """Every phase; the report."""
    say(f"photos {args.sizes} MP and dehaze-infer's PNGs")
    photos = make_photos(scratch / "photos", args.sizes, args.seed)
    known = (expected_hashes(photos, scratch, args.checkpoint), {photo.name: photo for photo in photos})
    options = ["--concurrency", str(args.concurrency), "--max-queue", str(args.max_queue)]
    options += ["--keep-files", str(args.keep_files)]
    options += ["--checkpoint", str(args.checkpoint)] if args.checkpoint else []
    workdir = args.workdir or scratch / "work"
    app = App(workdir, scratch / "app.log", options).start()
    monitor = RssMonitor(app)
    report: dict = {**_machine(), "options": options, "sizes_mp": args.sizes, "duration_s": args.duration}
    report["before"] = {"folder_bytes": folder_size(workdir)}
    say(f"app on {app.url}, folder {folder_size(workdir)} bytes; levels {args.clients}")
    report["levels"] = levels(app, args, known, monitor)
    say(f"burst of {args.burst}")
    report["burst"] = burst(app, args.burst, known, monitor, args.request_timeout) if args.burst else None
    say("hang-ups")
    report["hang_ups"] = hang_ups(app, known[1])
    say("waiting for --keep-files")
    time.sleep(args.keep_files + SWEEP_WAIT)
    report["after"] = {"folder_bytes": folder_size(workdir), "serves": serves_right(app, known)}
    report["peak_rss_mb"] = round(app.peak_rss() / 2**20, 1)
    monitor.stop()
    say("kill and restart")
    app, report["kill"] = kill_and_restart(app, args, known)
    report["stopped_cleanly"] = stopped_cleanly(app)
    report["load_after"] = _machine()["load_1_5_15"]
    report["failures"] = failures(report, args)
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32, 64], help="client levels, one phase each")
    parser.add_argument("--duration", type=float, default=90.0, help="seconds each level sends (default 90)")
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.3, 1, 3, 8, 12, 24], help="photo sizes, MP")
    parser.add_argument("--burst", type=int, default=500, help="requests sent at once in phase 2 (0: none)")
    parser.add_argument("--concurrency", type=int, default=1, help="the app's --concurrency")
    parser.add_argument("--max-queue", type=int, default=16, help="the app's --max-queue")
    parser.add_argument("--keep-files", type=float, default=60.0, help="the app's --keep-files (seconds)")
    parser.add_argument("--kill-after", type=float, default=5.0, help="seconds of the burst before the SIGKILL")
    parser.add_argument("--checkpoint", type=Path, help="the app's and dehaze-infer's --checkpoint")
    parser.add_argument("--workdir", type=Path, help="the app's --workdir (default: a fresh temporary folder)")
    parser.add_argument("--rss-limit-gb", type=float, default=4.0, help="peak RSS target (default 4)")
    parser.add_argument("--busy-limit-s", type=float, default=2.0, help="p95 of a busy answer's time, target")
    parser.add_argument("--request-timeout", type=float, default=900.0, help="seconds before a request is lost")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dehaze-load-") as scratch:
        try:
            report = run(args, Path(scratch))
        finally:
            App.stop_all()  # only those still running: an early stop (an error, Ctrl-C) leaves no app behind
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    for line in report["failures"]:
        print(f"missed: {line}", file=sys.stderr)
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
