"""``python -m dehaze``: the version (``--version``) and which command does what."""

from __future__ import annotations

import argparse
import sys

from dehaze.cli.common import add_version_option

TOOLS = """commands:
  dehaze-infer   dehaze photos (files or folders) with the shipped or your own model
  dehaze-train   train a generator (with no data: on the embedded default pairs)
  dehaze-fid     FID with its bootstrap ±, PSNR/SSIM of folders or of checkpoints on test pairs
  dehaze-synth   make hazy/clean training pairs from clean photos
  dehaze-app     a local web page that dehazes uploaded photos (the [app] extra)
each takes --help and --version"""


def main(argv: list[str] | None = None) -> int:
    """Print the version (``--version``) or the list of commands."""
    parser = argparse.ArgumentParser(
        prog="dehaze",
        description="Single-image dehazing.",
        epilog=TOOLS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version_option(parser)
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
