"""End-of-training evaluation: the run's best generator next to the hazy input and the dark channel prior."""

from __future__ import annotations

import json
from typing import Any

import torch

from dehaze.atomic import atomic_write_text
from dehaze.config import Config
from dehaze.data.splits import DataSplits
from dehaze.metrics.report import build_report, checkpoint_method, dcp_method, format_table, hazy_method
from dehaze.train.run_dir import RunDir

BEST_ROW = "dehaze (best)"


def evaluate_run(run: RunDir, config: Config, splits: DataSplits, device: torch.device) -> dict[str, Any]:
    """Test-split (else validation) report of hazy input, DCP and the best checkpoint; writes ``metrics.json``."""
    from dehaze.metrics.inception import load_inception

    pairs = splits.test or splits.val
    split_name = "test" if splits.test else "val"
    channels = config.model.in_channels
    methods = [hazy_method(), dcp_method(), checkpoint_method(run.best, str(device), name=BEST_ROW)]
    inception = load_inception(device=str(device)) if config.train.fid else None
    rows = build_report(pairs, methods, channels, fid=config.train.fid, inception=inception)
    result = {
        "split": split_name,
        "pairs": len(pairs),
        "checkpoint": str(run.best),
        "results": {row["name"]: {k: v for k, v in row.items() if k not in ("name", "checkpoint")} for row in rows},
        "rows": rows,
    }
    atomic_write_text(run.metrics, json.dumps(result, indent=2, default=float))
    return result


def format_run_metrics(result: dict[str, Any]) -> str:
    """The ``metrics.json`` report as a plain-text table with its split."""
    return f"{result['split']} split, {result['pairs']} pairs\n" + format_table(result["rows"])
