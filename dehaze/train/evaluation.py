"""Evaluation during and after training: validation scores and sample outputs of the weights being trained, and
the end-of-training report of the run's best generator next to the hazy input and the dark channel prior."""

from __future__ import annotations

import json
from typing import Any

import torch

from dehaze.atomic import atomic_write_text
from dehaze.config import Config
from dehaze.data.dataset import PairedDataset
from dehaze.data.splits import DataSplits, Pairs
from dehaze.inference import Dehazer
from dehaze.metrics.evaluate import evaluate_pairs
from dehaze.metrics.report import build_report, checkpoint_method, dcp_method, format_table, hazy_method
from dehaze.train.run_dir import RunDir

BEST_ROW = "dehaze (best)"


def validation_scores(model: torch.nn.Module, config: Config, device: torch.device, pairs: Pairs) -> dict[str, float]:
    """PSNR/SSIM of ``model`` (in eval mode, back to train mode after) on up to ``val_max_images`` pairs."""
    model.eval()
    try:
        dehazer = Dehazer(model, config.model, device, color="auto")
        subset = pairs[: config.train.val_max_images]
        result = evaluate_pairs(
            dehazer.dehaze_array, subset, channels=config.model.in_channels, fid=False, progress=False
        )
    finally:
        model.train()
    return {k: float(result[k]) for k in ("psnr", "ssim")}


def sample_batch(pairs: Pairs, config: Config) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Up to six centre-cropped ``(hazy, clean)`` pairs for the run's sample images; ``None`` without pairs."""
    if not pairs:
        return None
    size = max(config.train.patch_size, 128)
    dataset = PairedDataset(pairs[:6], channels=config.model.in_channels, patch_size=size, train=False)
    items = [dataset[i] for i in range(len(dataset))]
    return torch.stack([i["hazy"] for i in items]), torch.stack([i["clean"] for i in items])


@torch.no_grad()
def sample_outputs(model: torch.nn.Module, hazy: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``model``'s float output for ``hazy`` on the CPU (in eval mode, back to train mode after)."""
    model.eval()
    try:
        return model(hazy.to(device)).float().cpu()
    finally:
        model.train()


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
