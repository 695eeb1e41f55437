"""``dehaze-app``: start the local web page (the optional ``[app]`` extra, Gradio) on 127.0.0.1.

    dehaze-app [--checkpoint PATH] [--device cpu|cuda] [--host 127.0.0.1] [--port 7860] [--max-pixels N]
               [--share] [--analytics]

Nothing leaves the machine unless asked: no public share link (``--share``) and no analytics (``--analytics``).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path

from dehaze.cli.common import (
    EXIT_OK,
    add_max_pixels_option,
    add_version_option,
    apply_max_pixels,
    refuse_missing,
    run_cli,
)
from dehaze.errors import DehazeError

MAX_UPLOAD = "200mb"  # per file; the pixel limit (--max-pixels) is checked from each photo's header


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
    return parser


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


def serve(args: argparse.Namespace) -> int:
    """Load the model (errors before the server starts), then serve the page until interrupted."""
    refuse_missing([("--checkpoint", args.checkpoint)])
    check_port(args.host, args.port)
    apply_max_pixels(args)
    _import_gradio(args.analytics)
    from dehaze.app.page import THEME, build_page
    from dehaze.app.service import DehazeService
    from dehaze.pipeline import RunOptions

    with tempfile.TemporaryDirectory(prefix="dehaze-app-") as workdir:
        service = DehazeService(RunOptions(checkpoint=args.checkpoint, device=args.device), Path(workdir))
        service.dehazer("auto", 1.0)  # a bad checkpoint fails here, in one line, not at the first upload
        page = build_page(service, analytics=args.analytics)
        page.queue().launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            max_file_size=MAX_UPLOAD,
            allowed_paths=[workdir],
            theme=THEME,
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
        )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(lambda: serve(args))


if __name__ == "__main__":
    sys.exit(main())
