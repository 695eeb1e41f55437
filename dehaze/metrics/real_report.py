"""The real-photo report of ``dehaze-fid --real``: hazy, DCP and checkpoints on photos with no ground truth.

Columns: FADE mean and median (optional ``fade-python``), artefact gain (flat-region detail, output over input),
NIQE and BRISQUE (lower = more natural; BRISQUE needs the ``metrics`` extra), the mean luminance change (output minus
input) and the crushed share (pixels black in every channel, output minus input, percentage points; see
:mod:`dehaze.metrics.perceptual`), FID against a clean reference set and spectral detectability against it (0.5 =
indistinguishable). Photos are shrunk to ``max_side`` first, so every method sees the same pixels and FADE is not
dominated by camera size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dehaze.data.real_hazy import shrink_to
from dehaze.imageio import list_images, read_image
from dehaze.metrics.detectability import FeatureCollector, detectability_from_features
from dehaze.metrics.evaluate import format_value
from dehaze.metrics.fid import ActivationCollector, FidStats, frechet_distance
from dehaze.metrics.no_reference import ReferenceStats, reference_cache_path
from dehaze.metrics.perceptual import REAL_PHOTO_METRICS, real_photo_scores
from dehaze.metrics.report import Method
from dehaze.metrics.scorecard import mean_of

REAL_COLUMNS = (
    ("fade", "FADE", 3),
    ("fade_median", "FADE med", 3),
    ("artefact_gain", "Artefact", 3),
    ("niqe", "NIQE", 3),
    ("brisque", "BRISQUE", 2),
    ("luminance_change", "ΔLum", 3),
    ("crushed_change", "Crushed", 2),
    ("fid", "FID", 2),
    ("detectability", "Detect", 3),
)


def reference_stats(
    source: Path, inception, channels: int, max_side: int, batch_size: int = 16, progress: bool = True
) -> ReferenceStats | None:
    """Statistics of a clean reference: a ``.npz`` as given, else a folder's, computed once and cached; None when
    they are not cached and there is no Inception network to compute them (``--no-fid``)."""
    if source.suffix.lower() == ".npz":
        return ReferenceStats.load(source)
    files = list_images(source)
    cached = reference_cache_path(files, channels)
    if cached.is_file():
        return ReferenceStats.load(cached)
    if inception is None:
        return None
    activations, spectra = ActivationCollector(inception, batch_size), FeatureCollector()
    for path in tqdm(files, desc="reference", unit="img", disable=not progress, leave=False):
        image = shrink_to(read_image(path, channels), max_side)
        activations.add(image)
        spectra.add(image)
    fid = FidStats.from_activations(activations.result())
    stats = ReferenceStats(fid.mu, fid.sigma, spectra.result(), fid.count)
    stats.save(cached)
    return stats


def score_method(
    method: Method, photos: Sequence[np.ndarray], reference: ReferenceStats | None, inception, batch_size: int = 16
) -> dict[str, Any]:
    """One report row: the method on every photo, then its no-reference scores."""
    scores: dict[str, list] = {metric: [] for metric in REAL_PHOTO_METRICS}
    activations = ActivationCollector(inception, batch_size) if inception is not None else None
    spectra = FeatureCollector()
    for hazy in photos:
        output = hazy if method.dehaze is None else np.clip(np.asarray(method.dehaze(hazy), np.float32), 0, 1)
        output = output.reshape(hazy.shape)
        for metric, value in real_photo_scores(output, hazy).items():
            scores[metric].append(value)
        spectra.add(output)
        if activations is not None:
            activations.add(output)
    row: dict[str, Any] = {"name": method.name, "count": len(photos)}
    row.update({metric: mean_of(values) for metric, values in scores.items()})
    fades = [value for value in scores["fade"] if value is not None]
    row["fade_median"] = float(np.median(fades)) if fades else None
    row["fid"] = row["detectability"] = None
    if reference is not None and activations is not None:
        ref = FidStats(reference.mu, reference.sigma, reference.count)
        row["fid"] = frechet_distance(FidStats.from_activations(activations.result()), ref)
    if reference is not None and reference.spectral is not None:
        row["detectability"] = detectability_from_features(reference.spectral, spectra.result()).accuracy
    return row


def format_real_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of the report rows."""
    width = max(24, *(len(row["name"]) for row in rows))
    lines = [f"{'method':{width}s} " + " ".join(f"{label:>9s}" for _, label, _ in REAL_COLUMNS)]
    for row in rows:
        cells = [f"{format_value(row.get(key), digits):>9s}" for key, _, digits in REAL_COLUMNS]
        lines.append(f"{row['name']:{width}s} " + " ".join(cells))
    return "\n".join(lines)


def format_real_markdown(rows: list[dict[str, Any]], photos: str | Path) -> str:
    """Markdown table of the report rows."""
    header = "| method | " + " | ".join(label for _, label, _ in REAL_COLUMNS) + " |"
    lines = [f"Real photos: `{photos}` ({rows[0]['count'] if rows else 0} photos)", "", header]
    lines.append("|---|" + "---:|" * len(REAL_COLUMNS))
    for row in rows:
        cells = [format_value(row.get(key), digits) for key, _, digits in REAL_COLUMNS]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
