"""Start-up time and peak memory of every command's ``--help``, ``--version``, an invalid option and a missing path.

python benchmarks/bench_cli.py [--repeat 5] [--out benchmarks/results/cli.json]

Each case runs as its own process (the installed console script); the time is the median wall time of the repeats,
the memory the largest peak RSS (``wait4``). Targets: --help < 0.5 s and < 150 MB; refusals < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

MISSING = "/nonexistent/dehaze-bench"
CASES: dict[str, list[str]] = {
    "--help": ["--help"],
    "--version": ["--version"],
    "invalid option": ["--no-such-option"],
}
MISSING_PATH: dict[str, list[str]] = {  # each command's missing input
    "dehaze-infer": [MISSING, "-o", "/tmp/dehaze-bench-out"],
    "dehaze-train": ["--data", MISSING, "--out", "/tmp/dehaze-bench-run", "--steps", "1"],
    "dehaze-fid": [MISSING, MISSING + "2"],
    "dehaze-synth": [MISSING, "/tmp/dehaze-bench-pairs"],
    "dehaze-app": ["--checkpoint", MISSING + ".safetensors"],
}


def run_once(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, process.returncode


def measure(argv: list[str], repeat: int) -> dict[str, float]:
    runs = [run_once(argv) for _ in range(repeat)]
    return {
        "seconds": round(statistics.median(r[0] for r in runs), 3),
        "peak_rss_mb": round(max(r[1] for r in runs), 1),
        "exit_code": runs[-1][2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    print(f"{'command':<14}{'case':<16}{'median s':>10}{'peak MB':>10}{'exit':>6}")
    for command, missing in MISSING_PATH.items():
        executable = shutil.which(command)
        if executable is None:
            raise SystemExit(f"{command} not found: pip install -e . first")
        cases = {**CASES, "missing path": missing}
        for case, argv in cases.items():
            result = measure([executable, *argv], args.repeat)
            results.setdefault(command, {})[case] = result
            row = f"{result['seconds']:>10.3f}{result['peak_rss_mb']:>10.1f}{result['exit_code']:>6}"
            print(f"{command:<14}{case:<16}{row}")
    if args.out:
        args.out.write_text(json.dumps({"load_average": os.getloadavg()[0], "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
