"""Average the weights of several generator checkpoints of one run (a "model soup" of milestones, as stochastic
weight averaging does over one run's late steps):

    python scripts/average_checkpoints.py runs/long_real2/milestones/step{10000,12500,15000}.safetensors \\
        -o runs/long_real2/soups/soup_10000-15000.safetensors

Every floating-point tensor is the mean of the inputs' (batch-norm running statistics included); integer tensors
(batch-norm step counters) are the last input's. The model options and metadata are the last input's, with
``averaged_from`` added. All inputs must have the same architecture; the result is loaded back before it is kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from dehaze.checkpoint import load_generator, read_generator_file, save_generator
from dehaze.cli.common import run_cli
from dehaze.config import ModelConfig
from dehaze.errors import DehazeError
from dehaze.models import build_generator


def average(sources: list[Path]) -> tuple[dict[str, torch.Tensor], ModelConfig, dict[str, str]]:
    """The mean state dict of ``sources``, with the last one's model config and metadata."""
    states = [read_generator_file(path) for path in sources]
    tensors, model_cfg, metadata = states[-1]
    for path, (other, other_cfg, _) in zip(sources, states, strict=True):
        if other_cfg != model_cfg or other.keys() != tensors.keys():
            raise DehazeError(f"{path}: another architecture than {sources[-1]}; only one run's checkpoints average")
    mean = {
        key: torch.stack([state[0][key].double() for state in states]).mean(0).to(value.dtype)
        if value.is_floating_point()
        else value
        for key, value in tensors.items()
    }
    return mean, model_cfg, metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)

    def body() -> int:
        if len(args.sources) < 2:
            raise DehazeError("give at least two checkpoints to average")
        mean, model_cfg, metadata = average(args.sources)
        model = build_generator(model_cfg)
        model.load_state_dict(mean)
        extra = {k: v for k, v in metadata.items() if k not in ("format", "model_config")}
        extra["averaged_from"] = " ".join(str(p) for p in args.sources)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        save_generator(model, model_cfg, args.output, extra_metadata=extra)
        load_generator(args.output)  # loads back, or raises with the file named
        print(f"wrote {args.output}: the mean of {len(args.sources)} checkpoints")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
