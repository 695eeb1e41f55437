"""``dehaze-export MODEL.onnx``: the shipped guided generator, or a checkpoint's, as an ONNX file.

    dehaze-export model.onnx [--checkpoint PATH] [--color rgb|gray] [--strength S]

One input ``hazy`` (float32 N×C×H×W in [0, 1], N, H and W dynamic), one output ``dehazed`` of the same shape. When
onnxruntime is installed, the file is run once at a few sizes and compared with PyTorch before the command ends.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from dehaze.cli.common import EXIT_OK, add_version_option, refuse_missing, run_cli
from dehaze.defaults import STRENGTH_RANGE, check_strength_range
from dehaze.errors import DehazeError

CHANNELS = {"rgb": 3, "gray": 1}
TOLERANCE = 1.0  # levels of 255: onnxruntime must agree with PyTorch within this on every pixel


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dehaze-export",
        description="Write the guided generator as ONNX: input 'hazy', output 'dehazed', float32 N×C×H×W in "
        "[0, 1] with N, H and W dynamic. Needs the onnx extra (pip install -e '.[onnx]').",
    )
    add_version_option(parser)
    parser.add_argument("output", type=Path, metavar="MODEL.onnx", help="the ONNX file to write")
    parser.add_argument(
        "--checkpoint", type=Path, help="generator .safetensors (default: the shipped model of --color)"
    )
    parser.add_argument(
        "--color",
        choices=tuple(CHANNELS),
        default=None,
        help="rgb (default): the shipped RGB model, 3 channels; gray: the shipped gray model, 1 channel "
        "(with --checkpoint: the channels it must have)",
    )
    parser.add_argument(
        "--strength",
        type=float,
        default=1.0,
        metavar="S",
        help=f"how much haze the exported model removes, {STRENGTH_RANGE[0]:g} to {STRENGTH_RANGE[1]:g} "
        "(default 1), fixed in the file",
    )
    return parser


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise DehazeError(f"dehaze-export needs the '{module}' package: pip install -e '.[onnx]'")


def _body(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    check_strength_range(args.strength)
    refuse_missing([("--checkpoint", args.checkpoint)])
    if args.output.is_dir():
        raise DehazeError(f"{args.output}: is a folder; name the .onnx file to write")
    _require("onnx")
    from dehaze.export import ExportOptions, check_export, export_onnx

    channels = CHANNELS[args.color] if args.color else (None if args.checkpoint else 3)
    options = ExportOptions(checkpoint=args.checkpoint, channels=channels, strength=args.strength)
    generator = export_onnx(options, args.output)
    size = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size:.1f} MB, {generator.in_channels} channel(s), strength {args.strength:g})")
    if importlib.util.find_spec("onnxruntime") is None:
        print("onnxruntime is not installed: the file was not run")
        return EXIT_OK
    worst = check_export(args.output, generator, args.strength)
    if worst > TOLERANCE:
        args.output.unlink(missing_ok=True)
        raise DehazeError(f"{args.output}: onnxruntime differs from PyTorch by {worst:.2f} levels; file removed")
    print(f"onnxruntime agrees with PyTorch within {worst:.3f} levels of 255")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: _body(argv))


if __name__ == "__main__":
    sys.exit(main())
