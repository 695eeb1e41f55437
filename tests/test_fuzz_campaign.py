"""The fuzz campaign's machinery: corpus files, the shrinker, and a tiny run of scripts/fuzz.py end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fuzz.case import FuzzCase, corpus_files, save_reproducer
from fuzz.shrink import Budget, shrink

ROOT = Path(__file__).resolve().parents[1]


def test_a_case_survives_its_corpus_file(tmp_path: Path) -> None:
    case = FuzzCase("config_set", b"\x00\xffdata", ".txt", {"overrides": ["a.b=\n"]})
    path = save_reproducer(case, tmp_path, {"seed": 3, "case": 7})
    assert corpus_files(tmp_path) == [path] and path.parent.name == "config_set"
    assert FuzzCase.from_json(path.read_text()) == case
    assert json.loads(path.read_text())["found"] == {"seed": 3, "case": 7}


def test_the_shrinker_keeps_only_what_the_failure_needs() -> None:
    case = FuzzCase("image", b"header" + b"x" * 500 + b"BUG" + b"y" * 300)
    smaller = shrink(case, lambda candidate: b"BUG" in candidate.data)
    assert smaller.data == b"BUG"
    overrides = FuzzCase("config_set", b"", options={"overrides": ["model.width=3", "train.steps=\nbad", "loss.x=1"]})
    smaller = shrink(overrides, lambda candidate: any("\n" in item for item in candidate.options["overrides"]))
    assert smaller.options["overrides"] == ["\n"]


def test_the_shrinker_stops_at_its_budget() -> None:
    calls = []
    never = shrink(FuzzCase("image", bytes(1000)), lambda candidate: calls.append(1) is not None, Budget(tries=5))
    assert len(calls) == 5 and never.data == bytes(1000)


def test_a_small_campaign_writes_its_tally(tmp_path: Path) -> None:
    out, corpus = tmp_path / "campaign.json", tmp_path / "corpus"
    command = [sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--cases", "6", "--seed", "5", "--batch", "4"]
    command += ["--targets", "config_set,config_yaml", "--out", str(out), "--corpus", str(corpus)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["cases"] == 6 and report["failed"] == 0 and report["seed"] == 5
    counts = {name: counts["cases"] for name, counts in report["per_target"].items()}
    assert counts == {"config_set": 3, "config_yaml": 3}
    assert report["peak_rss_mb_children"] > 0 and report["slowest_case"]["seconds"] > 0
    assert "6 cases in" in done.stdout and not corpus.exists()


def test_the_checkpoint_generator_survives_an_emptied_model_config(tmp_path: Path) -> None:
    """Case 8044 of the 100 000-case campaign (seed 1): an earlier mutation left model_config empty and the generator
    itself raised, which the campaign could only report as a crash of an unknown reader. The case now exists, and the
    checkpoint loader keeps its promise on it."""
    from fuzz.check import check_case
    from fuzz.targets import TARGETS
    from fuzz.worker import generate

    case = generate(1, 8044, list(TARGETS))
    verdict = check_case(case, tmp_path)
    assert case.target == "checkpoint" and not verdict.failed, verdict.detail


def test_a_lost_case_names_the_reader_its_start_named(tmp_path: Path) -> None:
    from fuzz.report import Tally

    tally = Tally(["image", "shards"])
    tally.lost_case(12, "crash (exit 1)", tmp_path / "case-12.json", "shards")
    assert tally.per_target["shards"]["failed"] == 1 and "crash (exit 1) (shards)" in tally.failures
