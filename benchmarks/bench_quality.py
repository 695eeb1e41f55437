"""Quality benchmark: hazy input, dark channel prior and the learned rows on the held-out synthetic test set.

    bash scripts/prepare_data.sh && bash scripts/train_ablation.sh   # data and the four equal-budget runs
    python benchmarks/bench_quality.py [--runs runs/ablation] [--data runs/data/test]

Prints one table (PSNR, SSIM, FID, spectral distance) and writes benchmarks/results/quality.{json,md}; the work is
done by ``dehaze-fid --checkpoint ... --dcp``, so the numbers are exactly what users get from that command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dehaze.cli.fid import main as fid_main

RUNS = ("l1", "spatial", "freq", "dual")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/ablation"), help="folder with l1/ spatial/ freq/ dual/")
    parser.add_argument("--data", type=Path, default=Path("runs/data/test"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    checkpoints = [args.runs / name / "best.safetensors" for name in RUNS]
    missing = [str(c) for c in checkpoints if not c.is_file()]
    if missing:
        print(f"error: missing runs ({', '.join(missing)}); train them with scripts/train_ablation.sh", file=sys.stderr)
        return 1
    argv = [
        "--data",
        str(args.data),
        "--dcp",
        "--checkpoint",
        *map(str, checkpoints),
        "--out-json",
        str(args.out / "quality.json"),
        "--out-md",
        str(args.out / "quality.md"),
    ]
    if args.device:
        argv += ["--device", args.device]
    return fid_main(argv)


if __name__ == "__main__":
    sys.exit(main())
