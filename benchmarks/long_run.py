"""Score the long run's milestones on the whole scorecard and plot its curve (issue "hours").

    python benchmarks/long_run.py [RUN (default runs/long_real2)] [--name long_run]
    python benchmarks/long_run.py runs/long_gray                  # a gray run: --name long_gray by default

Every ``RUN/kept/stepNNNNNN.safetensors`` (``train.keep_every``) is retagged with the shipped models' inference
options (``detail_eps`` 1e-4, as ``scripts/ship.py`` ships them) and scored by ``benchmarks/scorecard.py`` as one
more column, paired with the shipped gray model (the run fine-tunes the RGB model only); columns already scored
come from its cache. Each milestone's wall hours come from ``RUN/sessions.jsonl`` (each session's start and end
time and step; a milestone's time is interpolated within its session), its load from ``RUN/load.log`` (the 1-minute
load average, once a minute: the mean up to the milestone). Writes ``benchmarks/results/long_run.json`` (one entry
per milestone: ``steps``, ``wall_hours``, ``load``, ``gate``, ``worse_rows`` and every row under the scorecard's
keys), the scorecard itself as ``scorecard_long_run.{json,md}`` and the curve ``long_run.png`` (step 0: the
run's start weights, ``RUN/init.safetensors``, retagged the same way and scored as the column ``start``).
A gray run (``model.in_channels`` 1 in ``RUN/init.safetensors``' metadata, e.g. ``scripts/train_long_gray.sh``)
is scored the same way with each milestone paired with the shipped RGB model instead (``GRAY+RGB``), its curve
plots the gray test's rows, and its results are named ``long_gray`` unless ``--name`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import scorecard
from safetensors import safe_open

from dehaze.atomic import atomic_write_text
from dehaze.checkpoint import read_generator_header

RESULTS = Path("benchmarks/results")
START = "start"  # the scorecard column of the run's start weights (step 0 of the curve)
PLOTTED = (
    "sots/psnr",
    "colour_test/psnr",
    "indoor_test/psnr",
    "urban_test/psnr",
    "real_val/fade",
    "real_val/niqe",
    "real_val/brisque",
    "real_val/crushed_change",
    "real_val/artefact_gain",
)
GRAY_PLOTTED = ("gray_test/psnr", "gray_test/ssim")  # the rows a gray model moves


def retagged(source: Path, tagged: Path) -> Path:
    """``source`` with the shipped models' inference options (``detail_eps`` 1e-4), written once to ``tagged``."""
    if not tagged.is_file():
        tagged.parent.mkdir(exist_ok=True)
        command = [
            sys.executable,
            "scripts/retag_checkpoint.py",
            str(source),
            str(tagged),
            "--set",
            "model.detail_eps=1e-4",
        ]
        subprocess.run(command, check=True, capture_output=True)
    return tagged


def milestone_files(run: Path) -> dict[int, Path]:
    """Step → retagged weights of every kept milestone (retagged once, into ``RUN/milestones``)."""
    files = {}
    for kept in sorted((run / "kept").glob("step*.safetensors")):
        step = int(kept.stem.removeprefix("step"))
        files[step] = retagged(kept, run / "milestones" / f"step{step}.safetensors")
    return files


def start_file(run: Path) -> Path:
    """The run's start weights retagged like its milestones: a finishing run starts from an untagged milestone, which
    would otherwise be scored with the structure/noise split off."""
    return retagged(run / "init.safetensors", run / "milestones" / "start.safetensors")


def sessions(run: Path) -> list[tuple[float, int, float, int]]:
    """``(start time, start step, end time, end step)`` of every session of the run, from ``RUN/sessions.jsonl``
    (``start`` lines written by the training script, ``end`` lines by ``scripts/save_long_run.sh``); the session
    still running ends at the last checkpoint (``last.state.pt``'s time, ``last.safetensors``' step)."""
    records = [json.loads(line) for line in (run / "sessions.jsonl").read_text().splitlines() if line.strip()]
    spans, open_start = [], None
    for record in records:
        if "start" in record:
            if open_start is not None and record.get("previous_end"):  # a session that ended without an end line
                # a start stopped before its first checkpoint leaves the older checkpoint's time: it trained for 0 s
                spans.append((*open_start, max(record["previous_end"], open_start[0]), record["step"]))
            open_start = (record["start"], record["step"])
        elif "end" in record and open_start is not None:
            spans.append((*open_start, record["end"], record["step"]))
            open_start = None
    if open_start is not None:
        step = int(safe_open(str(run / "last.safetensors"), "pt").metadata()["step"])
        spans.append((*open_start, (run / "last.state.pt").stat().st_mtime, step))
    return spans


def milestone_time(run: Path, step: int) -> tuple[float, float]:
    """(training hours up to ``step``, the clock time it was reached), interpolated within its session."""
    hours = 0.0
    for start, first, end, last in sessions(run):
        if step <= last:
            reached = start + (end - start) * (step - first) / max(1, last - first)
            return (hours + reached - start) / 3600.0, reached
        hours += end - start
    raise ValueError(f"step {step} is past the run's last checkpoint")


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


def model_channels(weights: Path) -> int:
    """The input channels of a checkpoint's model (1: gray, 3: RGB), from its metadata's model config."""
    return read_generator_header(weights).model_cfg.in_channels


def finished_points(names: list[str]) -> list[tuple[int, dict]]:
    """(the long run's step it reached, rows) of each finishing run's last milestone, from its results file
    ``RESULTS/NAME.json``: its start weights' step plus its own steps."""
    points = []
    for name in names:
        results = json.loads((RESULTS / f"{name}.json").read_text())
        if "start_weights_step" not in results:
            raise SystemExit(f"error: {RESULTS / name}.json has no start_weights_step: score it again with this script")
        last = results["milestones"][-1]
        points.append((results["start_weights_step"] + last["steps"], last["rows"]))
    return sorted(points, key=lambda point: point[0])


def plot(
    entries: list[dict], card: dict, out: Path, rows: tuple[str, ...] = PLOTTED, finished: list | None = None
) -> None:
    """Each of ``rows`` against steps (bottom axis) with the shipped model and DCP as lines, wall hours on top, and
    the ``finished`` points (:func:`finished_points`) as a second curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    across, down = min(3, len(rows)), -(-len(rows) // 3)  # 3 × 3 for the RGB rows
    fig, axes = plt.subplots(down, across, figsize=(13 * across / 3, 10 * down / 3), squeeze=False)
    steps = [0] + [e["steps"] for e in entries]  # step 0: the weights the run started from (RUN/init.safetensors)
    for axis, row in zip(axes.flat, rows, strict=True):
        values = [card["columns"][START].get(row)] + [e["rows"].get(row) for e in entries]
        axis.plot(steps, values, "o-", label="long run")
        if finished:
            points = [(step, rows_.get(row)) for step, rows_ in finished]
            axis.plot(*zip(*points, strict=True), "D--", color="tab:red", label="finished (recipe)")
        for name, style in (("shipped", "--"), ("DCP", ":")):
            value = card["columns"].get(name, {}).get(row)
            if value is not None:
                axis.axhline(value, linestyle=style, color="gray", label=name)
        axis.set_title(row)
        axis.set_xlabel("steps")
        top = axis.secondary_xaxis("top", functions=(lambda s: s, lambda s: s))
        top.set_xticks(steps, ["0 h"] + [f"{e['wall_hours']:.1f} h" for e in entries], fontsize=7)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", type=Path, default=Path("runs/long_real2"))
    parser.add_argument("--name", help="results' file names (default long_run, long_gray for a gray run)")
    parser.add_argument("--data", type=Path, default=Path("runs/data"))
    parser.add_argument(
        "--finished", nargs="+", default=[], metavar="NAME", help="finishing runs' results (NAME.json) to plot too"
    )
    args = parser.parse_args(argv)
    finished = finished_points(args.finished)
    files = milestone_files(args.run)
    if not files:
        raise SystemExit(f"error: {args.run}/kept holds no milestone yet")
    gray = model_channels(args.run / "init.safetensors") == 1
    args.name = args.name or ("long_gray" if gray else "long_run")
    names = {step: f"long {step}" for step in files}
    columns = {START: start_file(args.run), **{names[s]: p for s, p in files.items()}}
    card = (scorecard.score_gray_runs if gray else scorecard.score_rgb_runs)(columns, args.name, args.data)
    entries = []
    for step, path in files.items():
        hours, reached = milestone_time(args.run, step)
        verdicts = card["gate"][names[step]]
        entries.append(
            {
                "steps": step,
                "wall_hours": round(hours, 3),
                "load": mean_load(args.run, reached),
                "gate": "fails" if any(v["worse"] for v in verdicts) else "passes",
                "worse_rows": [v["row"] for v in verdicts if v["worse"]],
                "rows": card["columns"][names[step]],
                "weights": str(path),
            }
        )
    reference = {name: card["columns"][name] for name in ("shipped", START, "DCP", "hazy input")}
    start = {"start_weights_step": int(read_generator_header(args.run / "init.safetensors").metadata.get("step", 0))}
    atomic_write_text(
        RESULTS / f"{args.name}.json",
        json.dumps({"run": str(args.run), **start, "reference": reference, "milestones": entries}, indent=2),
    )
    plot(entries, card, RESULTS / f"{args.name}.png", GRAY_PLOTTED if gray else PLOTTED, finished)
    for entry in entries:
        print(
            f"{entry['steps']:>6} steps {entry['wall_hours']:.2f} h load {entry['load']}: {entry['gate']} "
            f"{', '.join(entry['worse_rows'])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
