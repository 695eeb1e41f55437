#!/usr/bin/env python
"""The fuzz campaign over every reader a user can hand a file to (docs/reliability_fuzz.md).

    OMP_NUM_THREADS=1 python scripts/fuzz.py --cases 100000 --seed 1

Cases are spread evenly over the readers; each batch runs in a child process with a memory ceiling and a per-case
timeout. Failures are minimised into tests/fuzz_corpus/ (the test suite replays it); the tally goes to
benchmarks/results/fuzz_campaign.json and a summary is printed. Exit code 1 when any case failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the harness (tests/fuzz/) lives beside the tests, not in the package


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from fuzz.check import MEMORY_BOUND_BYTES, TIME_BOUND_S
    from fuzz.targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="how many generated cases in all (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="campaign seed: case k is the same for the same seed")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"readers, comma-separated ({', '.join(TARGETS)})")
    parser.add_argument("--batch", type=int, default=500, help="cases per child process")
    parser.add_argument("--case-timeout", type=float, default=2 * TIME_BOUND_S, help="seconds before a case is a hang")
    parser.add_argument("--memory", type=int, default=MEMORY_BOUND_BYTES, help="bytes a child may add after warm-up")
    parser.add_argument("--shrink-seconds", type=float, default=120.0, help="time to minimise each failure")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "fuzz_corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz_campaign.json")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.targets.split(",")) - set(TARGETS))
    if unknown or args.cases < 1 or args.batch < 1:
        parser.error(f"unknown targets {unknown}" if unknown else "--cases and --batch must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    args = parse_args(argv)
    from fuzz.campaign import CampaignConfig, run_campaign

    targets = args.targets.split(",")
    config = CampaignConfig(
        args.cases, args.seed, targets, args.corpus, args.batch, args.case_timeout, args.memory, args.shrink_seconds
    )
    with tqdm(total=args.cases, unit="case", desc="fuzz", dynamic_ncols=True) as progress:
        tally = run_campaign(config, progress)
    settings = {
        "command": " ".join(["python scripts/fuzz.py", *(argv if argv is not None else sys.argv[1:])]),
        "seed": args.seed,
        "targets": targets,
        "memory_bound_bytes": args.memory,
        "case_timeout_s": args.case_timeout,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    tally.write(args.out, settings)
    print(tally.summary())
    print(f"report: {args.out}")
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
