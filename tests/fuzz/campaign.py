"""The long fuzz campaign (``scripts/fuzz.py``): batches of generated cases, each batch in a child process with a
memory ceiling and a per-case timeout; a hang or crash ends the child, the campaign goes on after that case.
Failing cases are grouped by signature, minimised and kept in the corpus; the tally goes into a JSON report."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dehaze.errors import DehazeError
from fuzz.case import FuzzCase, save_reproducer
from fuzz.report import Tally

START_TIMEOUT_S = 300.0  # a child's imports and warm-up on a loaded machine
HARNESS_PARENT = Path(__file__).resolve().parents[1]  # tests/, where ``python -m fuzz.worker`` finds the harness


@dataclass
class CampaignConfig:
    """What to run: ``cases`` cases of ``seed`` over ``targets``, ``batch`` per child process."""

    cases: int
    seed: int
    targets: list[str]
    corpus: Path
    batch: int = 500
    case_timeout_s: float = 60.0
    memory: int = 0  # address space a child may add after its warm-up (0: the documented bound)
    shrink_seconds: float = 120.0
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dehaze-fuzz-campaign-")))


def _child_env() -> dict[str, str]:
    """This process's environment with the harness's folder first on ``PYTHONPATH`` (the child runs anywhere)."""
    paths = [str(HARNESS_PARENT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _worker_command(config: CampaignConfig, start: int, stop: int) -> list[str]:
    command = [sys.executable, "-m", "fuzz.worker", "--seed", str(config.seed), "--start", str(start)]
    command += ["--stop", str(stop), "--targets", ",".join(config.targets), "--work", str(config.work)]
    return command + (["--memory", str(config.memory)] if config.memory else [])


def _read_line(process: subprocess.Popen, timeout: float) -> str | None:
    """The child's next stdout line, '' at its end, None when nothing came within ``timeout`` seconds."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else None


def _stop(process: subprocess.Popen) -> None:
    """End the child and its process group (only ever the worker this campaign started)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run_batch(config: CampaignConfig, start: int, stop: int, tally: Tally, progress: Any) -> int:
    """Run cases ``start..stop-1`` in one child; returns the first case not yet judged (after a hang or crash)."""
    log = open(config.work / "worker.log", "ab")  # noqa: SIM115 - the child writes to it while we read its stdout
    process = subprocess.Popen(
        _worker_command(config, start, stop),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
        env=_child_env(),
    )
    current, timeout, target = start, START_TIMEOUT_S, "?"
    try:
        while True:
            line = _read_line(process, timeout)
            if line is None or line == "":
                _stop(process)
                if timeout == START_TIMEOUT_S:  # not one case started: the worker itself is broken
                    raise DehazeError(f"the fuzz worker failed before its first case; see {config.work / 'worker.log'}")
                if current >= stop or (line == "" and process.returncode == 0):
                    return stop
                kind = "hang" if line is None else f"crash (exit {process.returncode})"
                tally.lost_case(current, kind, config.work / f"case-{current}.json", target)
                progress.update(1)
                return current + 1
            record = json.loads(line)
            if record["event"] == "start":
                current, timeout, target = record["case"], config.case_timeout_s, record["target"]
                continue
            tally.add(record, config.work / f"case-{record['case']}.json")
            progress.update(1)
            current = record["case"] + 1
    finally:
        _stop(process)
        log.close()
        tally.note_children_rss()


def minimise(config: CampaignConfig, case_file: Path, signature: str) -> FuzzCase:
    """The smallest case with the same failure the worker's shrinker found within its budget (the case itself for
    hangs and crashes, which cannot be re-run in one process)."""
    case = FuzzCase.from_json(case_file.read_text())
    if signature.startswith(("hang", "crash")):
        return case
    out = config.work / f"min-{case_file.stem}.json"
    command = [sys.executable, "-m", "fuzz.worker", "--shrink", str(case_file), "--signature", signature]
    command += ["--out", str(out), "--seconds", str(config.shrink_seconds)]
    try:
        subprocess.run(
            command, timeout=config.shrink_seconds + START_TIMEOUT_S, check=True, capture_output=True, env=_child_env()
        )
        return FuzzCase.from_json(out.read_text())
    except (subprocess.SubprocessError, OSError):
        return case


def keep_reproducers(config: CampaignConfig, tally: Tally) -> None:
    """One minimised reproducer per failure signature, saved into the corpus (the path goes into the tally)."""
    for signature, failure in tally.failures.items():
        if failure.get("reproducer") or not failure.get("case_file"):
            continue
        case = minimise(config, Path(failure["case_file"]), signature)
        found = {"seed": config.seed, "case": failure["cases"][0], "signature": signature, "detail": failure["detail"]}
        failure["reproducer"] = str(save_reproducer(case, config.corpus, found))
        failure["reproducer_bytes"] = len(case.data)


def run_campaign(config: CampaignConfig, progress: Any) -> Tally:
    """Every case of the campaign, batch by batch; then the reproducers."""
    tally = Tally(config.targets)
    started = time.monotonic()
    number = 0
    while number < config.cases:
        number = run_batch(config, number, min(config.cases, number + config.batch), tally, progress)
    tally.wall_s = time.monotonic() - started
    keep_reproducers(config, tally)
    return tally
