"""Quality benchmark: hazy input, dark channel prior and learned rows on a held-out synthetic test set.

    bash scripts/prepare_data.sh                       # test sets (and clean training photos)
    bash experiments/train_ablation.sh                 # the equal-budget learned rows (optional)
    python benchmarks/bench_quality.py                 # gray: runs/data/test
    python benchmarks/bench_quality.py --color         # colour: runs/data/color_test, colour DCP, RGB model

Rows: hazy input, DCP, every checkpoint given with ``--checkpoint`` (default: the shipped model), then the
ablation runs found under ``--runs`` (l1, spatial, freq, dual; ``--run-file`` of each, by default the raw final
weights that ``scripts/export_raw_weights.py`` writes). The work is done by
``dehaze-fid --data ... --dcp --checkpoint ...``, so the numbers are exactly what users get from that command.
Writes benchmarks/results/quality[_color].{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dehaze.checkpoint import default_checkpoint_path
from dehaze.cli.fid import main as fid_main

RUNS = ("l1", "spatial", "freq", "dual")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--color", action="store_true", help="colour test set, colour DCP and the RGB model")
    parser.add_argument("--checkpoint", type=Path, nargs="*", help="checkpoints to score (default: shipped model)")
    parser.add_argument("--runs", type=Path, default=Path("runs/ablation"), help="folder with l1/ spatial/ ...")
    parser.add_argument("--run-file", default="raw.safetensors", help="file scored in each run (default raw)")
    parser.add_argument("--data", type=Path, help="default: runs/data/test (or color_test)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    channels = 3 if args.color else 1
    data = args.data or Path("runs/data") / ("color_test" if args.color else "test")
    checkpoints = list(args.checkpoint) if args.checkpoint else [default_checkpoint_path(channels)]
    checkpoints += [args.runs / name / args.run_file for name in RUNS if (args.runs / name).is_dir()]
    missing = [str(c) for c in checkpoints if not c.is_file()]
    if missing:
        print(f"error: missing checkpoints: {', '.join(missing)}", file=sys.stderr)
        return 1
    stem = "quality_color" if args.color else "quality"
    argv = ["--data", str(data), "--channels", str(channels), "--dcp", "--checkpoint", *map(str, checkpoints)]
    argv += ["--out-json", str(args.out / f"{stem}.json"), "--out-md", str(args.out / f"{stem}.md")]
    if args.device:
        argv += ["--device", args.device]
    return fid_main(argv)


if __name__ == "__main__":
    sys.exit(main())
