"""Score the real-branch sweep (``scripts/ablate_real_teacher.sh``) on the whole scorecard (issue "hours").

    python benchmarks/real_teacher_sweep.py [OUT (default runs/real_teacher)] [--extra NAME=FILE ...]

Every finished row ``OUT/tT_CRITIC/tT_CRITIC.safetensors`` (retagged by the sweep script) is a scorecard column;
``--extra`` adds rows trained elsewhere (the committed t20 dual candidate, a design row), named
``tT_CRITIC[_DESIGN][_sS]``. The rows fine-tune the RGB model only, so each is scored as the pair shipped gray
model + its RGB weights, as it would ship (an RGB file alone would also serve the gray test, through its RGB maps).
Writes ``benchmarks/results/real_teacher_sweep.json``: one entry per run with ``teacher``, ``critic`` (``dual`` or
``none``), ``seed``, ``steps``, ``design``, the gate verdict against the release the rows started from
(``--start``, default the 0.4 release: what shipped when they ran) and every scorecard row under the scorecard's keys,
and ``dual_vs_none``: for each teacher with both rows, the dual row against the none row with the noise margins
(paired over the same images); the scorecard as ``scorecard_real_teacher.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import scorecard
from safetensors import safe_open

from dehaze.atomic import atomic_write_text
from dehaze.checkpoint import shipped_checkpoint_files
from dehaze.metrics.scorecard import compare, default_sets

RESULTS = Path("benchmarks/results")
NAME = re.compile(r"t(?P<teacher>[\d.]+)_(?P<critic>dual|none)(?:_(?P<design>[a-z_]+?))?(?:_s(?P<seed>\d+))?$")


def describe(name: str, path: Path) -> dict:
    """Teacher, critic, design, seed and steps of one row, from its name and its weights' metadata."""
    match = NAME.match(name)
    if match is None:
        raise SystemExit(f"error: {name}: expected tT_dual or tT_none, optionally _DESIGN and _sSEED")
    metadata = safe_open(str(path), "pt").metadata() or {}
    steps = metadata.get("step") or json.loads(metadata.get("extra", "{}") or "{}").get("step")
    return {
        "teacher": float(match["teacher"]),
        "critic": match["critic"],
        "design": match["design"] or "",
        "seed": int(match["seed"] or 0),
        "steps": int(steps) if steps else None,
    }


def dual_against_none(rows: dict[str, Path], gray: Path, data: Path) -> dict[str, list[dict]]:
    """For each teacher (and design and seed) with a dual and a none row: dual's verdict on every row against none
    (from the scorecard's per-image cache, so nothing is dehazed again)."""
    sets = default_sets(data)
    verdicts = {}
    for name in rows:
        partner = name.replace("_dual", "_none", 1)
        if "_dual" not in name or partner not in rows:
            continue
        dual, none = (scorecard.Column(n, (gray, rows[n])) for n in (name, partner))
        scores = [scorecard.score_column(column, sets, refresh=False) for column in (dual, none)]
        verdicts[f"{name} vs {partner}"] = [dict(v.__dict__, worse=v.worse) for v in compare(*scores, sets)]
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("runs/real_teacher"))
    parser.add_argument("--extra", nargs="*", default=[], help="NAME=FILE rows trained elsewhere")
    parser.add_argument("--data", type=Path, default=Path("runs/data"))
    parser.add_argument("--start", default="0.4 release", help="the release the rows started from (the gate)")
    args = parser.parse_args(argv)
    rows = {p.stem: p for p in sorted(args.out.glob("t*_*/t*_*.safetensors")) if p.stem == p.parent.name}
    rows.update({spec.split("=", 1)[0]: Path(spec.split("=", 1)[1]) for spec in args.extra})
    if not rows:
        raise SystemExit(f"error: no finished row under {args.out}")
    card = scorecard.score_rgb_runs(rows, "real_teacher", args.data)
    gray = next(p for p in shipped_checkpoint_files() if "gray" in p.name)
    sets = default_sets(args.data)
    start = scorecard.Column(args.start, scorecard.release_files(scorecard.RELEASES[args.start]))
    start_scores = scorecard.score_column(start, sets, refresh=False)
    entries = []
    for name, path in rows.items():  # the gate against the model the rows started from, whatever ships now
        scores = scorecard.score_column(scorecard.Column(name, (gray, path)), sets, refresh=False)
        verdicts = [dict(v.__dict__, worse=v.worse) for v in compare(scores, start_scores, sets)]
        entries.append(
            {
                "name": name,
                **describe(name, path),
                "gate": "fails" if any(v["worse"] for v in verdicts) else "passes",
                "worse_rows": [v["row"] for v in verdicts if v["worse"]],
                **card["columns"][name],
            }
        )
    reference = {name: card["columns"][name] for name in (args.start, "shipped", "DCP", "hazy input")}
    versus = dual_against_none(rows, gray, args.data)
    summary = {"reference": reference, "runs": entries, "dual_vs_none": versus}
    atomic_write_text(RESULTS / "real_teacher_sweep.json", json.dumps(summary, indent=2))
    for pair, verdicts in versus.items():
        moved = [
            f"{v['row']} {v['improvement']:+.3f}±{v['margin']:.3f}"
            for v in verdicts
            if v["gated"] and abs(v["improvement"]) > v["margin"]
        ]
        print(f"{pair}: beyond the noise: {', '.join(moved) or 'none'}")
    for entry in entries:
        print(f"{entry['name']}: {entry['gate']} {', '.join(entry['worse_rows'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
