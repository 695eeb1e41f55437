"""``dehaze-app``: start the local web page (the optional ``[app]`` extra, Gradio) on 127.0.0.1.

    dehaze-app [--checkpoint PATH] [--device cpu|cuda] [--host 127.0.0.1] [--port 7860] [--max-pixels N]
               [--concurrency N] [--max-queue M] [--workdir DIR] [--keep-files S] [--share] [--analytics]

Nothing leaves the machine unless asked: no public share link (``--share``) and no analytics (``--analytics``).
Under load at most ``--concurrency`` photos are dehazed at once and ``--max-queue`` more wait; a request beyond
that is answered "busy" at once: HTTP 503 before its upload is read (:mod:`dehaze.app.gate`), or Gradio's own 503
when the queue fills between its upload and its join. Uploads and results live in this app's folder under
``--workdir`` (:mod:`dehaze.app.workdir`).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dehaze.cli.common import (
    EXIT_OK,
    add_max_pixels_option,
    add_version_option,
    apply_max_pixels,
    refuse_missing,
    run_cli,
)
from dehaze.errors import DehazeError

if TYPE_CHECKING:
    from dehaze.app.workdir import WorkFolder

MAX_UPLOAD = "200mb"  # per file; the pixel limit (--max-pixels) is checked from each photo's header
SWEEP_PERIOD = 2.0  # seconds between sweeps of the work folder (old files, abandoned uploads)
MIN_KEEP = 10  # seconds: a result must outlive its client's download, which starts once the job is done


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dehaze-app",
        description="A local web page that dehazes uploaded photos exactly as dehaze-infer does (PNG, or a zip "
        "for many), with an API endpoint /dehaze for gradio_client. Needs the app extra: pip install -e '.[app]'.",
    )
    add_version_option(parser)
    parser.add_argument("--checkpoint", type=Path, help="generator .safetensors (default: the shipped models)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link (off by default)")
    parser.add_argument("--analytics", action="store_true", help="allow Gradio's usage analytics (off by default)")
    add_max_pixels_option(parser)
    parser.add_argument("--concurrency", type=int, default=1, help="photos dehazed at once (default 1)")
    parser.add_argument(
        "--max-queue", type=int, default=16, help="requests that may wait; beyond them: busy (default 16)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="root of the apps' work folders (default: $TMPDIR/dehaze-app-<uid>)"
    )
    parser.add_argument(
        "--keep-files", type=float, default=3600, help="seconds uploads and results are kept (default 3600, min 10)"
    )
    return parser


def check_load_options(args: argparse.Namespace) -> None:
    """``--concurrency``, ``--max-queue`` and ``--keep-files`` in range, else one line."""
    for option, value, low in [("--concurrency", args.concurrency, 1), ("--max-queue", args.max_queue, 1)]:
        if not low <= value <= 10_000:
            raise DehazeError(f"{option} must be in {low}..10000, got {value}")
    if not MIN_KEEP <= args.keep_files <= 10**7:  # also refuses nan
        raise DehazeError(f"--keep-files must be in {MIN_KEEP}..10000000 seconds, got {args.keep_files}")


def _import_gradio(analytics: bool) -> None:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "True" if analytics else "False"  # read when gradio is imported
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise DehazeError("dehaze-app needs the app extra: pip install -e '.[app]' (Gradio)") from None


def check_port(host: str, port: int) -> None:
    """Refuse an address this machine cannot listen on (e.g. a port in use) at once, in one line."""
    if not 0 < port < 65536:
        raise DehazeError(f"--port must be in 1..65535, got {port}")
    try:
        with socket.socket() as probe:
            probe.bind((host, port))
    except OSError as exc:
        raise DehazeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None


def _stop_on_sigterm(work: WorkFolder) -> None:
    """SIGTERM removes the work folder and exits at once (status 143), as SIGTERM did before there was a folder:
    no graceful close, which waits for open client streams and, on a loaded machine, for a slow interpreter exit."""

    def stop(signum: int, frame: object) -> None:
        work.close()
        os._exit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)


def serve(args: argparse.Namespace) -> int:
    """Load the model (errors before the server starts), then serve the page until interrupted."""
    from dehaze.app.workdir import WorkFolder, default_root

    refuse_missing([("--checkpoint", args.checkpoint)])
    check_port(args.host, args.port)
    check_load_options(args)
    apply_max_pixels(args)
    with WorkFolder(args.workdir or default_root(), args.keep_files) as work:
        os.environ["GRADIO_TEMP_DIR"] = str(work.path)  # uploads land here; read when gradio is imported
        _import_gradio(args.analytics)
        from dehaze.app.gate import upload_gate
        from dehaze.app.page import JOBS, THEME, build_page, files_in_use
        from dehaze.app.service import DehazeService
        from dehaze.pipeline import RunOptions

        service = DehazeService(RunOptions(checkpoint=args.checkpoint, device=args.device), work.results)
        service.dehazer("auto", 1.0)  # a bad checkpoint fails here, in one line, not at the first upload
        page = build_page(service, analytics=args.analytics, concurrency=args.concurrency)
        work.start_sweeper(SWEEP_PERIOD, lambda: files_in_use(page))  # a waiting request keeps its upload
        _stop_on_sigterm(work)
        page.queue(max_size=args.max_queue).launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            max_file_size=MAX_UPLOAD,
            allowed_paths=[str(work.path)],
            theme=THEME,
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            app_kwargs={"middleware": [upload_gate(page, JOBS, args.concurrency)]},  # busy: 503, unread
        )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(lambda: serve(args))


if __name__ == "__main__":
    sys.exit(main())
