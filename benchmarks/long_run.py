"""Score the long run's milestones on the whole scorecard and plot its curve (issue "hours").

    python benchmarks/long_run.py [RUN (default runs/long_real)]

Every ``RUN/kept/stepNNNNNN.safetensors`` (``train.keep_every``) is retagged with the shipped models' inference
options (``detail_eps`` 1e-4, as ``scripts/ship.py`` ships them) and scored by ``benchmarks/scorecard.py`` as one
more column, paired with the shipped gray model (the run fine-tunes the RGB model only); columns already scored
come from its cache. Each milestone's wall hours come from ``RUN/sessions.jsonl`` (one line per start or resume:
its time, step and the previous session's last checkpoint time), its load from ``RUN/load.log`` (the 1-minute load
average, once a minute). Writes ``benchmarks/results/long_run.json`` (one entry
per milestone: ``steps``, ``wall_hours``, ``load``, ``gate``, ``worse_rows`` and every row under the scorecard's
keys), the scorecard itself as ``scorecard_long_run.{json,md}`` and the curve ``long_run.png``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import scorecard

from dehaze.atomic import atomic_write_text
from dehaze.checkpoint import shipped_checkpoint_files

RESULTS = Path("benchmarks/results")
PLOTTED = (
    "sots/psnr",
    "colour_test/psnr",
    "indoor_test/psnr",
    "urban_test/psnr",
    "real_val/fade",
    "real_val/niqe",
    "real_val/brisque",
    "real_val/crushed_change",
)


def milestone_files(run: Path) -> dict[int, Path]:
    """Step → retagged weights of every kept milestone (retagged once, next to the kept file's folder)."""
    files = {}
    for kept in sorted((run / "kept").glob("step*.safetensors")):
        step = int(kept.stem.removeprefix("step"))
        tagged = run / "milestones" / f"step{step}.safetensors"
        if not tagged.is_file():
            tagged.parent.mkdir(exist_ok=True)
            subprocess.run(
                [
                    sys.executable,
                    "scripts/retag_checkpoint.py",
                    str(kept),
                    str(tagged),
                    "--set",
                    "model.detail_eps=1e-4",
                ],
                check=True,
                capture_output=True,
            )
        files[step] = tagged
    return files


def wall_hours(run: Path, kept: Path) -> float:
    """Training hours up to the time ``kept`` was written, summed over the run's sessions."""
    sessions = [json.loads(line) for line in (run / "sessions.jsonl").read_text().splitlines() if line.strip()]
    written, total = kept.stat().st_mtime, 0.0
    for index, session in enumerate(sessions):
        following = sessions[index + 1] if index + 1 < len(sessions) else None
        end = following["previous_end"] if following and following["previous_end"] else written
        if session["start"] >= written:
            break
        total += min(end, written) - session["start"]
    return total / 3600.0


def mean_load(run: Path, until: float) -> float | None:
    """Mean 1-minute load average logged up to ``until`` (the whole run so far)."""
    log = run / "load.log"
    if not log.is_file():
        return None
    values = [
        float(load)
        for stamp, load in (line.split() for line in log.read_text().splitlines() if line.strip())
        if float(stamp) <= until
    ]
    return round(sum(values) / len(values), 2) if values else None


def plot(entries: list[dict], card: dict, out: Path) -> None:
    """Each plotted row against steps (bottom axis) with the shipped model and DCP as lines; wall hours on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    steps = [e["steps"] for e in entries]
    for axis, row in zip(axes.flat, PLOTTED, strict=True):
        axis.plot(steps, [e["rows"].get(row) for e in entries], "o-", label="long run")
        for name, style in (("shipped", "--"), ("DCP", ":")):
            value = card["columns"].get(name, {}).get(row)
            if value is not None:
                axis.axhline(value, linestyle=style, color="gray", label=name)
        axis.set_title(row)
        axis.set_xlabel("steps")
        top = axis.secondary_xaxis("top", functions=(lambda s: s, lambda s: s))
        top.set_xticks(steps, [f"{e['wall_hours']:.1f} h" for e in entries], fontsize=7)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", type=Path, default=Path("runs/long_real"))
    parser.add_argument("--data", type=Path, default=Path("runs/data"))
    args = parser.parse_args(argv)
    files = milestone_files(args.run)
    if not files:
        raise SystemExit(f"error: {args.run}/kept holds no milestone yet")
    names = {step: f"long {step}" for step in files}
    card_json, card_md = RESULTS / "scorecard_long_run.json", RESULTS / "scorecard_long_run.md"
    gray = next(p for p in shipped_checkpoint_files() if "gray" in p.name)  # the run fine-tunes the RGB model only
    scorecard.main(
        [
            *(f"{names[s]}={gray}+{p}" for s, p in files.items()),
            "--data",
            str(args.data),
            "--out-json",
            str(card_json),
            "--out-md",
            str(card_md),
        ]
    )
    card = json.loads(card_json.read_text())
    entries = []
    for step, path in files.items():
        kept = args.run / "kept" / f"step{step:06d}.safetensors"
        verdicts = card["gate"][names[step]]
        entries.append(
            {
                "steps": step,
                "wall_hours": round(wall_hours(args.run, kept), 3),
                "load": mean_load(args.run, kept.stat().st_mtime),
                "gate": "fails" if any(v["worse"] for v in verdicts) else "passes",
                "worse_rows": [v["row"] for v in verdicts if v["worse"]],
                "rows": card["columns"][names[step]],
                "weights": str(path),
            }
        )
    reference = {name: card["columns"][name] for name in ("shipped", "DCP", "hazy input")}
    atomic_write_text(
        RESULTS / "long_run.json",
        json.dumps({"run": str(args.run), "reference": reference, "milestones": entries}, indent=2),
    )
    plot(entries, card, RESULTS / "long_run.png")
    for entry in entries:
        print(
            f"{entry['steps']:>6} steps {entry['wall_hours']:.2f} h load {entry['load']}: {entry['gate']} "
            f"{', '.join(entry['worse_rows'])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
