"""The one evaluation report: rows (hazy input, DCP, checkpoints, any dehazing function) scored on the same pairs,
shared clean-set FID statistics, and the table, Markdown and JSON renderings used by ``dehaze-fid`` and training."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dehaze.metrics.evaluate import DehazeFn, clean_reference, evaluate_pairs, format_value
from dehaze.metrics.fid import BOOTSTRAP_DRAWS

HAZY_ROW = "hazy input"
DCP_ROW = "dark channel prior"
COLUMNS = (
    ("psnr", "PSNR", 2),
    ("ssim", "SSIM", 4),
    ("fid", "FID", 2),
    ("fid_margin", "FID ±95%", 2),
    ("spectral_distance", "SpecDist", 4),
    ("detectability", "Detect", 3),
    ("colour_shift", "ΔE mean", 2),
)


@dataclass
class Method:
    """One report row: a dehazing function (``None`` scores the hazy input itself) and its checkpoint, if any."""

    name: str
    dehaze: DehazeFn | None = None
    checkpoint: str | None = None


def hazy_method() -> Method:
    return Method(HAZY_ROW)


def dcp_method() -> Method:
    from dehaze.dcp import dark_channel_prior

    return Method(DCP_ROW, dark_channel_prior)


def checkpoint_method(path: Path, device: str, name: str | None = None, strength: float = 1.0) -> Method:
    """A row for a generator checkpoint, applied the way ``dehaze-infer`` applies it (colour mode ``auto``); a
    strength other than 1 is named in the row (``stem S=1.5``)."""
    from dehaze.inference import Dehazer

    dehazer = Dehazer.from_checkpoint(Path(path), device=device, strength=strength)
    label = name or checkpoint_label(Path(path)) + ("" if strength == 1.0 else f" S={strength:g}")
    return Method(label, dehazer.dehaze_array, str(path))


def checkpoint_label(path: Path) -> str:
    """Row name: the file stem, prefixed by its run folder for the generic ``best``/``last``/``raw`` names."""
    generic = path.stem in ("best", "last", "raw")
    return f"{path.parent.name}/{path.stem}" if generic and path.parent.name else path.stem


def build_report(
    pairs: list[tuple[Path, Path]],
    methods: Sequence[Method],
    channels: int = 1,
    fid: bool = True,
    inception: Any = None,
    batch_size: int = 16,
    progress: bool = True,
    fid_draws: int = BOOTSTRAP_DRAWS,
) -> list[dict[str, Any]]:
    """Score every method on ``pairs``; the clean set's Inception statistics are computed once and shared.

    Every FID comes with its 95% bootstrap margin (``fid_margin``, see :func:`~dehaze.metrics.fid.fid_bootstrap`).
    """
    if fid and inception is None:
        from dehaze.metrics.inception import load_inception

        inception = load_inception()
    reference = clean_reference(pairs, inception, channels, batch_size, progress) if fid else None
    rows = []
    for method in methods:
        metrics = evaluate_pairs(
            method.dehaze,
            pairs,
            channels=channels,
            fid=fid,
            inception=inception,
            progress=progress,
            reference=reference,
            batch_size=batch_size,
            desc=method.name,
            fid_draws=fid_draws,
        )
        rows.append({"name": method.name, "checkpoint": method.checkpoint, **metrics})
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """The columns that at least one row has a value for."""
    return [c for c in COLUMNS if any(row.get(c[0]) is not None for row in rows)]


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of report rows."""
    columns = _columns(rows)
    name_width = max(len("method"), *(len(r["name"]) for r in rows)) + 2
    header = f"{'method':<{name_width}}" + "".join(f"{title:>10}" for _, title, _ in columns) + f"{'images':>8}"
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = "".join(f"{format_value(row.get(key), digits):>10}" for key, _, digits in columns)
        lines.append(f"{row['name']:<{name_width}}{cells}{row['count']:>8}")
    return "\n".join(lines)


def format_markdown(rows: list[dict[str, Any]], data: str | Path) -> str:
    """Markdown table of report rows."""
    columns = _columns(rows)
    lines = [
        f"Test data: `{data}` ({rows[0]['count']} pairs)",
        "",
        "| method | " + " | ".join(title for _, title, _ in columns) + " | images |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for row in rows:
        cells = " | ".join(format_value(row.get(key), digits) for key, _, digits in columns)
        lines.append(f"| {row['name']} | {cells} | {row['count']} |")
    return "\n".join(lines) + "\n"


def report_payload(rows: list[dict[str, Any]], data: str | Path, channels: int) -> dict[str, Any]:
    """JSON-ready report (non-finite numbers become null)."""

    def safe(value: object) -> object:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return {
        "data": str(data),
        "pairs": rows[0]["count"] if rows else 0,
        "channels": channels,
        "rows": [{k: safe(v) for k, v in row.items()} for row in rows],
    }
