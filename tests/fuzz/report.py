"""The campaign's tally: cases per reader and verdict, failures by signature, the slowest case, peak memory;
written as JSON and printed as a short summary."""

from __future__ import annotations

import json
import platform
import resource
from pathlib import Path
from typing import Any

from dehaze.atomic import atomic_write_text

MAX_CASES_LISTED = 20  # case numbers kept per failure signature


class Tally:
    """Everything the campaign counts (updated from the workers' JSON lines)."""

    def __init__(self, targets: list[str]) -> None:
        self.per_target = {name: {"cases": 0, "accepted": 0, "refused": 0, "failed": 0} for name in targets}
        self.failures: dict[str, dict[str, Any]] = {}
        self.slowest: dict[str, Any] = {"seconds": 0.0}
        self.peak_case: dict[str, Any] = {"rss_kb": 0}
        self.children_rss_kb = 0
        self.wall_s = 0.0

    def _fail(self, signature: str, number: int, target: str, detail: str, case_file: Path) -> None:
        failure = self.failures.setdefault(
            signature, {"target": target, "count": 0, "cases": [], "detail": detail[:300], "case_file": ""}
        )
        failure["count"] += 1
        if len(failure["cases"]) < MAX_CASES_LISTED:
            failure["cases"].append(number)
        if not failure["case_file"] and case_file.is_file():
            failure["case_file"] = str(case_file)

    def add(self, record: dict[str, Any], case_file: Path) -> None:
        """One judged case (a worker's ``done`` line)."""
        counts = self.per_target[record["target"]]
        counts["cases"] += 1
        counts[record["status"]] += 1
        if record["status"] == "failed":
            self._fail(record["signature"], record["case"], record["target"], record["detail"], case_file)
        if record["seconds"] > self.slowest["seconds"]:
            keys = ("case", "target", "seconds", "status", "bytes", "detail")
            self.slowest = {key: record[key] for key in keys}
        if record["rss_kb"] > self.peak_case["rss_kb"]:  # the case during which the child's peak RSS rose last
            self.peak_case = {key: record[key] for key in ("case", "target", "rss_kb", "bytes")}

    def lost_case(self, number: int, kind: str, case_file: Path, target: str = "?") -> None:
        """A case whose child hung (killed after the timeout) or died (``target``: the reader its start named)."""
        target = json.loads(case_file.read_text())["target"] if case_file.is_file() else target
        counts = self.per_target.setdefault(target, {"cases": 0, "accepted": 0, "refused": 0, "failed": 0})
        counts["cases"] += 1
        counts["failed"] += 1
        self._fail(f"{kind} ({target})", number, target, kind, case_file)

    def note_children_rss(self) -> None:
        """ru_maxrss of the children waited for so far (the largest of them)."""
        self.children_rss_kb = max(self.children_rss_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

    @property
    def cases(self) -> int:
        return sum(counts["cases"] for counts in self.per_target.values())

    @property
    def failed(self) -> int:
        return sum(counts["failed"] for counts in self.per_target.values())

    def to_dict(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The JSON report: settings (command, seed, bounds), counts, failures, slowest case, peak memory."""
        return {
            **settings,
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "cases": self.cases,
            "failed": self.failed,
            "wall_s": round(self.wall_s, 1),
            "per_target": self.per_target,
            "failures": self.failures,
            "slowest_case": self.slowest,
            "peak_rss_mb_children": round(self.children_rss_kb / 1024, 1),
            "peak_rss_case": self.peak_case,
        }

    def write(self, path: Path, settings: dict[str, Any]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(path), json.dumps(self.to_dict(settings), indent=1) + "\n")

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [f"{self.cases} cases in {self.wall_s:.0f} s, {self.failed} failed"]
        for name, counts in self.per_target.items():
            lines.append(
                f"  {name:15} {counts['cases']:7} cases: {counts['accepted']} read, {counts['refused']} refused, "
                f"{counts['failed']} failed"
            )
        for signature, failure in self.failures.items():
            where = failure.get("reproducer", "not kept")
            detail = failure["detail"][:120].encode("unicode_escape").decode("ascii")  # one line, whatever it holds
            lines.append(f"  FAILED x{failure['count']} {signature}: {detail} -> {where}")
        lines.append(f"  peak RSS of a child: {self.children_rss_kb / 1024:.0f} MB")
        slow = self.slowest
        if "case" in slow:
            lines.append(
                f"  slowest case: {slow['seconds']:.2f} s (case {slow['case']}, {slow['target']}, {slow['status']})"
            )
        return "\n".join(lines)
