"""Copy a generator checkpoint with changed inference-time options (weights untouched), e.g. the structure/noise
split that the shipped models use but were not trained with:

    python scripts/retag_checkpoint.py runs/gray/last.safetensors checkpoints/dehaze-gray-default.safetensors \\
        --set model.detail_eps=1e-4 --meta note="final EMA weights, step 4000"

Only options that do not change the weights' shapes may be set (``detail_radius``, ``detail_eps``, ``guide_radius``,
``guide_eps``, ``view_size``, ``removal``, ``shadow_floor``); the result is loaded back and checked before it is
written.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from dehaze.checkpoint import load_generator, read_generator_file, save_generator
from dehaze.cli.common import run_cli
from dehaze.config import Config, apply_overrides, validate_model_config
from dehaze.errors import DehazeError

SAFE_OPTIONS = {"detail_radius", "detail_eps", "guide_radius", "guide_eps", "view_size", "removal", "shadow_floor"}


def retag(source: Path, target: Path, overrides: list[str], notes: list[str]) -> int:
    _, model_cfg, metadata = read_generator_file(source)
    for item in overrides:
        key = item.partition("=")[0].strip()
        if not key.startswith("model.") or key[len("model.") :] not in SAFE_OPTIONS:
            raise DehazeError(f"--set {item}: only model.{{{', '.join(sorted(SAFE_OPTIONS))}}} can be changed")
    config = Config(model=dataclasses.replace(model_cfg))
    apply_overrides(config, overrides)
    validate_model_config(config.model)
    model, _ = load_generator(source)
    extra = {k: v for k, v in metadata.items() if k not in ("format", "model_config")}
    extra.update(dict(note.partition("=")[::2] for note in notes))
    extra["retagged_from"] = str(source)
    save_generator(model, config.model, target, extra_metadata=extra)
    load_generator(target)  # refuse to leave a file that does not load
    print(f"wrote {target}: {config.model}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="model.KEY=VALUE")
    parser.add_argument("--meta", action="append", default=[], metavar="KEY=TEXT", help="extra metadata")
    args = parser.parse_args(argv)
    return run_cli(lambda: retag(args.source, args.target, args.overrides, args.meta))


if __name__ == "__main__":
    sys.exit(main())
