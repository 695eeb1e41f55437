"""Scorecard: every test the project has, for the shipped models, the earlier releases, DCP and any candidates.

    bash scripts/prepare_data.sh                                   # the synthetic tests and real_val
    python benchmarks/scorecard.py                                 # shipped, releases, DCP, hazy
    python benchmarks/scorecard.py runs/universal/last.safetensors new=runs/g/last.safetensors+runs/c/last.safetensors

A candidate is one checkpoint (an RGB model then also serves gray photos, as ``dehaze-infer`` does with it) or a
``GRAY+RGB`` pair, optionally named ``NAME=...``. Rows: PSNR and SSIM on the gray test (over luminance), the colour
test, the held-out indoor and urban tests, SOTS-indoor validation; on ``real_val`` FADE (needs
``pip install fade-python``), artefact gain, NIQE, BRISQUE (needs the ``metrics`` extra, which ``dev`` includes),
the mean luminance change and the crushed share (see ``dehaze/metrics/perceptual.py``). Each candidate is compared
with the shipped models row by row, with the noise margin of every difference (see ``dehaze/metrics/scorecard.py``,
which also says why the luminance change is reported but not gated): ``scripts/ship.py`` enforces the verdict.
Per-image scores are cached by checkpoint hash under the dehaze cache, so columns already scored cost nothing.
Writes ``--out-json`` and ``--out-md`` (default ``benchmarks/results/scorecard.{json,md}``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dehaze.atomic import atomic_write_text
from dehaze.cache import cache_dir
from dehaze.checkpoint import shipped_checkpoint_files
from dehaze.metrics.perceptual import BRISQUE_HINT, brisque_available
from dehaze.metrics.scorecard import (
    HIGHER_IS_BETTER,
    EvalSet,
    column_key,
    compare,
    default_sets,
    mean_of,
    score_set,
)

# commits whose checkpoints/ shipped
RELEASES = {"0.2 release": "37d07c5", "0.3 release": "6d5fe47", "0.4 release": "98de8c2"}


@dataclass
class Column:
    """One column: a name, its checkpoint files (none for the hazy input and DCP) and how to build its function."""

    name: str
    files: tuple[Path, ...] = ()
    kind: str = "model"  # "hazy", "dcp" or "model"

    def key(self) -> str:
        return column_key(self.kind, self.files)

    def dehaze(self):
        if self.kind == "hazy":
            return None
        if self.kind == "dcp":
            from dehaze.dcp import dark_channel_prior

            return dark_channel_prior
        from dehaze.inference import Dehazer

        dehazer = Dehazer.from_checkpoint(self.files[0], device="cpu")
        if len(self.files) == 2:
            dehazer.companion = Dehazer.from_checkpoint(self.files[1], device="cpu")
        return dehazer.dehaze_array


def release_files(commit: str) -> tuple[Path, Path]:
    """The gray and RGB checkpoints shipped at ``commit``, extracted once into the cache."""
    folder = cache_dir() / "releases" / commit
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in ("dehaze-gray-default", "dehaze-rgb-default"):
        path = folder / f"{name}.safetensors"
        if not path.is_file():
            blob = subprocess.run(
                ["git", "show", f"{commit}:checkpoints/{name}.safetensors"], check=True, capture_output=True
            ).stdout
            path.write_bytes(blob)
        files.append(path)
    return files[0], files[1]


def parse_candidate(spec: str) -> Column:
    """``[NAME=]FILE`` or ``[NAME=]GRAY+RGB``."""
    name, _, files = spec.rpartition("=") if "=" in spec else ("", "", spec)
    paths = tuple(Path(part) for part in files.split("+"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing or len(paths) > 2:
        raise SystemExit(f"error: {spec}: expected FILE or GRAY+RGB of existing files (missing: {', '.join(missing)})")
    return Column(name or spec, paths)


def score_column(column: Column, sets: list[EvalSet], refresh: bool) -> dict[str, dict]:
    """Per-image scores of one column on every set, from the cache when it has them."""
    results, dehaze, key = {}, None, column.key()  # the key hashes the checkpoint files: once per column
    for test in sets:
        listing = hashlib.sha256("\n".join(sorted(p.name for p in test.path.rglob("*"))).encode()).hexdigest()[:12]
        cached = cache_dir() / "scorecard" / f"{key}-{test.name}-{listing}.json"
        if cached.is_file() and not refresh:
            results[test.name] = json.loads(cached.read_text())
            continue
        if dehaze is None and column.kind != "hazy":
            dehaze = column.dehaze()
        print(f"scoring {column.name} on {test.name} ...", file=sys.stderr, flush=True)
        results[test.name] = score_set(test, dehaze)
        atomic_write_text(cached, json.dumps(results[test.name]))
    return results


def default_columns() -> tuple[list[Column], Column]:
    """Hazy, DCP, the earlier releases and the shipped models (the gate's reference)."""
    shipped = Column("shipped", shipped_checkpoint_files())
    columns = [Column("hazy input", kind="hazy"), Column("DCP", kind="dcp")]
    columns += [Column(name, release_files(commit)) for name, commit in RELEASES.items()]
    return [*columns, shipped], shipped


def render_markdown(card: dict) -> str:
    """The scorecard as Markdown: one row per test and metric, then each candidate's gate verdict."""
    names = list(card["columns"])
    lines = ["| test / metric | images | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for row, info in card["rows"].items():
        cells = [_cell(card["columns"][name].get(row)) for name in names]
        arrow = {True: "↑", False: "↓"}.get(info["higher_is_better"], "(reported)")
        lines.append(f"| {row} {arrow} | {info['images']} | " + " | ".join(cells) + " |")
    for name, verdicts in card["gate"].items():
        passed = not any(v["worse"] for v in verdicts)
        lines += ["", f"**{name}** against the shipped models: {'passes' if passed else 'fails'} the ship gate", ""]
        lines += [
            "| row | candidate | shipped | improvement ± margin | verdict | better release | improvement ± margin |",
            "|---|---:|---:|---:|---|---:|---:|",
        ]
        for v, r in zip(verdicts, card["releases"][name], strict=True):
            lines.append(
                f"| {v['row']} | {_cell(v['candidate'])} | {_cell(v['reference'])} | "
                f"{v['improvement']:+.3f} ± {v['margin']:.3f} | {_verdict(v)} | {_cell(r['reference'])} | "
                f"{r['improvement']:+.3f} ± {r['margin']:.3f} ({_verdict(r)}) |"
            )
    return "\n".join(lines) + "\n"


def _verdict(v: dict) -> str:
    if not v.get("gated", True):
        return "reported"
    return "worse" if v["worse"] else ("better" if v["improvement"] > v["margin"] else "within noise")


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"


def build_card(columns: list[Column], candidates: list[Column], shipped: Column, sets: list[EvalSet], refresh: bool):
    """Score every column and compare every candidate with the shipped models."""
    scores = {column.name: score_column(column, sets, refresh) for column in [*columns, *candidates]}
    card: dict = {"sets": {t.name: str(t.path) for t in sets}, "columns": {}, "rows": {}, "gate": {}, "releases": {}}
    for test in sets:
        for metric in test.metrics:
            row = f"{test.name}/{metric}"
            count = len(scores[shipped.name][test.name]["images"])
            card["rows"][row] = {"images": count, "higher_is_better": HIGHER_IS_BETTER[metric]}
            for name, result in scores.items():
                card["columns"].setdefault(name, {})[row] = mean_of(result[test.name][metric])
    for column in candidates:
        verdicts = compare(scores[column.name], scores[shipped.name], sets)
        card["gate"][column.name] = [dict(v.__dict__, worse=v.worse) for v in verdicts]
        against = [compare(scores[column.name], scores[name], sets) for name in RELEASES]
        best = [min(row, key=lambda v: v.improvement) for row in zip(*against, strict=True)]  # the better release
        card["releases"][column.name] = [dict(v.__dict__, worse=v.worse) for v in best]
    card["files"] = {c.name: [str(p) for p in c.files] for c in [*columns, *candidates]}
    card["hashes"] = {c.name: c.key() for c in [*columns, *candidates]}
    return card


def pair_specs(models: dict[str, Path], channels: int) -> list[str]:
    """``NAME=GRAY+RGB`` candidates that pair each model (column name → weights) with the other shipped model: an
    RGB model (``channels`` 3) with the shipped gray one, a gray model (1) with the shipped RGB one."""
    other = next(p for p in shipped_checkpoint_files() if ("gray" if channels == 3 else "rgb") in p.name)
    if channels == 3:
        return [f"{column}={other}+{path}" for column, path in models.items()]
    return [f"{column}={path}+{other}" for column, path in models.items()]


def _score_pairs(pairs: list[str], name: str, data: Path) -> dict:
    """Score the candidates ``pairs`` into ``benchmarks/results/scorecard_NAME.{json,md}``; the card."""
    out = Path("benchmarks/results") / f"scorecard_{name}"
    main([*pairs, "--data", str(data), "--out-json", f"{out}.json", "--out-md", f"{out}.md"])
    return json.loads(Path(f"{out}.json").read_text())


def score_rgb_runs(rgb: dict[str, Path], name: str, data: Path) -> dict:
    """The scorecard of RGB fine-tunes (column name → weights), each paired with the shipped gray model as it would
    ship (an RGB file alone would also serve the gray test, through its RGB maps); written as
    ``benchmarks/results/scorecard_NAME.{json,md}`` and returned."""
    return _score_pairs(pair_specs(rgb, 3), name, data)


def score_gray_runs(gray: dict[str, Path], name: str, data: Path) -> dict:
    """The scorecard of gray fine-tunes (column name → weights), each paired with the shipped RGB model as it would
    ship (``GRAY+RGB``: the gray model serves the gray test and any gray photo of the other sets); written as
    ``benchmarks/results/scorecard_NAME.{json,md}`` and returned."""
    return _score_pairs(pair_specs(gray, 1), name, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", help="[NAME=]FILE or [NAME=]GRAY+RGB")
    parser.add_argument("--data", type=Path, default=Path("runs/data"))
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--sets", nargs="*", help="only these tests (default: all)")
    parser.add_argument("--refresh", action="store_true", help="score again instead of reading the cache")
    parser.add_argument("--out-json", type=Path, default=Path("benchmarks/results/scorecard.json"))
    parser.add_argument("--out-md", type=Path, default=Path("benchmarks/results/scorecard.md"))
    args = parser.parse_args(argv)
    import torch

    torch.set_grad_enabled(False)
    sets = [t for t in default_sets(args.data, args.shared) if not args.sets or t.name in args.sets]
    missing = [str(t.path) for t in sets if not t.path.is_dir()]
    if missing:
        raise SystemExit(f"error: missing test folders (run scripts/prepare_data.sh): {', '.join(missing)}")
    if any(t.kind == "real" for t in sets) and not brisque_available():
        raise SystemExit(f"error: the real-photo rows need BRISQUE: {BRISQUE_HINT}")
    columns, shipped = default_columns()
    card = build_card(columns, [parse_candidate(s) for s in args.candidates], shipped, sets, args.refresh)
    atomic_write_text(args.out_json, json.dumps(card, indent=2))
    atomic_write_text(args.out_md, render_markdown(card))
    print(render_markdown(card))
    return 0


if __name__ == "__main__":
    sys.exit(main())
