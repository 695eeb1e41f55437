"""Write the raw (not averaged) generator weights of a run's training state as a generator checkpoint.

    python scripts/export_raw_weights.py runs/ablation/dual runs/ablation/dual/raw.safetensors [--set model.KEY=V]

Short runs (a few hundred steps) are better judged on their raw final weights than on an EMA that still remembers
the initialisation. ``--set`` changes inference-time options of the written file (see retag_checkpoint.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dehaze.checkpoint import TrainingState, save_generator
from dehaze.cli.common import run_cli
from dehaze.config import Config, apply_overrides
from dehaze.models.build import build_generator
from dehaze.train.run_dir import RunDir


def export(run_dir: Path, target: Path, overrides: list[str]) -> int:
    run = RunDir(run_dir)
    config = Config.load(run.config)
    apply_overrides(config, overrides)
    model = build_generator(config.model)
    state = TrainingState.load(run.state)
    state.validate(run.state, modules={"generator": model})
    model.load_state_dict(state.generator)
    save_generator(model, config.model, target, extra_metadata={"step": state.step, "weights": "raw"})
    print(f"wrote {target} (raw weights at step {state.step})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="model.KEY=VALUE")
    args = parser.parse_args(argv)
    return run_cli(lambda: export(args.run_dir, args.target, args.overrides))


if __name__ == "__main__":
    sys.exit(main())
