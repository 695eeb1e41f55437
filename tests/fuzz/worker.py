"""The campaign's child process: ``python -m fuzz.worker``.

``run`` mode generates cases ``start..stop-1`` of a seed (case ``k`` from ``random.Random(f"{seed}:{k}")``, for
target ``targets[k % len(targets)]``) and checks them under the memory ceiling. Before each case it writes the case
to ``WORK/case-K.json`` and prints ``{"event": "start", ...}``; after it, one JSON line with the verdict and the
process's peak RSS so far. The parent kills a case that hangs and finds it in that file.

``shrink`` mode minimises one failing case file while its failure signature stays the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import tempfile
from pathlib import Path
from random import Random

from fuzz.case import FuzzCase
from fuzz.check import MEMORY_BOUND_BYTES, Verdict, check_case, memory_ceiling
from fuzz.targets import TARGETS


def generate(seed: int, number: int, targets: list[str]) -> FuzzCase:
    """Case ``number`` of campaign ``seed``: the same bytes on every machine and in every batch layout."""
    target = targets[number % len(targets)]
    return TARGETS[target].generate(Random(f"{seed}:{number}"))


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _warm_up(targets: list[str], folder: Path) -> None:
    """Import every reader and make the cached base inputs before the memory ceiling is set."""
    for number, target in enumerate(targets):
        check_case(TARGETS[target].generate(Random(f"warm-up:{number}")), folder)


def run_cases(args: argparse.Namespace) -> None:
    targets, work = args.targets.split(","), Path(args.work)
    with tempfile.TemporaryDirectory(prefix="dehaze-fuzz-") as scratch:
        _warm_up(targets, Path(scratch))
        with memory_ceiling(args.memory):
            for number in range(args.start, args.stop):
                _emit({"event": "start", "case": number, "target": targets[number % len(targets)]})
                case = generate(args.seed, number, targets)  # a generator's own bug names its case and reader
                record = work / f"case-{number}.json"
                record.write_text(case.to_json())
                with tempfile.TemporaryDirectory(dir=scratch) as folder:
                    verdict = check_case(case, Path(folder))
                if not verdict.failed:
                    record.unlink()
                done = {"event": "done", "case": number, "target": case.target, "bytes": len(case.data)}
                _emit({**done, **dataclasses.asdict(verdict), "detail": verdict.detail[:300], "rss_kb": _peak_rss_kb()})


def _same_failure(signature: str, folder: Path):  # noqa: ANN202 - a predicate
    def still_fails(candidate: FuzzCase) -> bool:
        verdict: Verdict = check_case(candidate, folder)
        return verdict.failed and verdict.signature == signature

    return still_fails


def shrink_case(args: argparse.Namespace) -> None:
    from fuzz.shrink import Budget, shrink

    case = FuzzCase.from_json(Path(args.shrink).read_text())
    with tempfile.TemporaryDirectory(prefix="dehaze-fuzz-shrink-") as folder, memory_ceiling(args.memory):
        smaller = shrink(case, _same_failure(args.signature, Path(folder)), Budget(seconds=args.seconds))
    Path(args.out).write_text(smaller.to_json())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fuzz.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--stop", type=int, default=0)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--work", default=".")
    parser.add_argument("--memory", type=int, default=MEMORY_BOUND_BYTES, help="address space beyond the start")
    parser.add_argument("--shrink", help="minimise this case file (needs --signature and --out)")
    parser.add_argument("--signature", default="")
    parser.add_argument("--out", default="")
    parser.add_argument("--seconds", type=float, default=120.0, help="time budget of --shrink")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    shrink_case(args) if args.shrink else run_cases(args)


if __name__ == "__main__":
    main()
