"""The scorecard: every test the project has, scored per image for any set of models, with the noise margin of each
row, and the ship gate that compares a candidate with the shipped models row by row.

A row is one metric on one test set (``sots/psnr``, ``real_val/fade``, ...). Scores are kept per image, so two
columns can be compared image by image: the difference of their means and its **noise margin**, 1.96 × the standard
deviation of that difference over a seeded bootstrap that resamples groups of images (a SOTS scene's ten hazy
versions are one group; elsewhere every image is its own group). A candidate is *worse beyond its margin* on a row
when its improvement over the reference is below minus the margin: worse with about 95 % confidence.

Which way is better (``HIGHER_IS_BETTER``), and which real-photo rows the gate checks: FADE alone can be won by
darkening fog to black, so ``real_val`` also has NIQE and BRISQUE (lower = more natural; both punish black fog,
halos and amplified JPEG damage) and the crushed share (pixels turned black, output minus input: lower is better,
since crushed detail is lost for good). All of these are gated. The **luminance change** is reported but not gated
(``None``): dehazing removes airlight, so a good result may be darker than the input (DCP is), and brighter is not
better either. Neither direction is an improvement and closeness to DCP's change is no target; a darkening that
destroys the photo shows in the crushed share, NIQE and BRISQUE, which are gated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dehaze.data.pairing import find_pairs
from dehaze.data.real_hazy import shrink_to
from dehaze.imageio import list_images, read_image, to_tensor
from dehaze.metrics.perceptual import REAL_PHOTO_METRICS, real_photo_scores
from dehaze.metrics.quality import psnr, ssim

DehazeFn = Callable[[np.ndarray], np.ndarray]
HIGHER_IS_BETTER: dict[str, bool | None] = {  # None: reported, not gated (see the module's docstring)
    "psnr": True,
    "ssim": True,
    "fade": False,
    "artefact_gain": False,
    "niqe": False,
    "brisque": False,
    "crushed_change": False,
    "luminance_change": None,
}
BOOTSTRAP_DRAWS = 2000
REAL_MAX_SIDE = 640
SCORE_VERSION = "2"  # part of every column's key: bump when a score's definition changes


@dataclass(frozen=True)
class EvalSet:
    """One test of the scorecard: ``paired`` hazy/clean pairs (PSNR, SSIM) or ``real`` photos (no-reference scores:
    ``REAL_PHOTO_METRICS``)."""

    name: str
    path: Path
    kind: str = "paired"
    channels: int = 3
    grouped_by_scene: bool = False  # RESIDE names (``1400_3.png``): a scene's hazy versions form one group

    @property
    def metrics(self) -> tuple[str, ...]:
        return ("psnr", "ssim") if self.kind == "paired" else REAL_PHOTO_METRICS


def default_sets(data: Path = Path("runs/data"), shared: Path = Path("../shared/data")) -> list[EvalSet]:
    """The project's tests (``scripts/prepare_data.sh`` makes the synthetic ones from the shared photos)."""
    return [
        EvalSet("gray_test", data / "test", channels=1),
        EvalSet("colour_test", data / "color_test"),
        EvalSet("indoor_test", data / "indoor_test"),
        EvalSet("urban_test", data / "urban_test"),
        EvalSet("sots", shared / "sots_indoor_val", grouped_by_scene=True),
        EvalSet("real_val", data / "real_val", kind="real"),
    ]


def column_key(kind: str, files: Sequence[Path] = ()) -> str:
    """Identity of a scorecard column: its kind and the bytes of its checkpoint files (in order)."""
    digest = hashlib.sha256(SCORE_VERSION.encode())
    for path in files:
        digest.update(Path(path).read_bytes())
    return f"{kind}-{digest.hexdigest()[:16]}"


def group_of(test: EvalSet, path: Path) -> str:
    """The bootstrap group of one image: its SOTS scene, else the image itself."""
    return path.name.split("_")[0] if test.grouped_by_scene else path.name


def _output(dehaze: DehazeFn | None, hazy: np.ndarray) -> np.ndarray:
    if dehaze is None:
        return hazy
    return np.clip(np.asarray(dehaze(hazy), np.float32), 0.0, 1.0).reshape(hazy.shape)


def score_set(test: EvalSet, dehaze: DehazeFn | None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Per-image scores of one method (``None``: the hazy input itself) on one test: ``{"images", "groups",
    metric: [values]}``, in file order."""
    scores: dict[str, Any] = {"images": [], "groups": [], **{metric: [] for metric in test.metrics}}
    items = find_pairs(test.path).pairs if test.kind == "paired" else [(p, None) for p in list_images(test.path)]
    for index, (hazy_path, clean_path) in enumerate(items):
        hazy = read_image(hazy_path, test.channels)
        if clean_path is None:
            hazy = shrink_to(hazy, REAL_MAX_SIDE)
        output = _output(dehaze, hazy)
        if clean_path is None:
            for metric, value in real_photo_scores(output, hazy).items():
                scores[metric].append(value)
        else:
            out, clean = to_tensor(output)[None], to_tensor(read_image(clean_path, test.channels))[None]
            scores["psnr"].append(psnr(out, clean))
            scores["ssim"].append(ssim(out, clean))
        scores["images"].append(hazy_path.name)
        scores["groups"].append(group_of(test, hazy_path))
        if progress is not None:
            progress(f"{test.name} {index + 1}/{len(items)}")
    return scores


def mean_of(values: Sequence[float | None]) -> float | None:
    """Mean over the images that have a value (FADE and BRISQUE are None without their packages, NIQE on photos under
    two 96-px blocks; NaN gains are left out)."""
    kept = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(kept)) if kept else None


def paired_difference(
    candidate: Sequence[float | None], reference: Sequence[float | None], groups: Sequence[str], seed: int = 0
) -> tuple[float, float]:
    """(mean of candidate − reference, its 95 % noise margin) over images both have, bootstrapping groups."""
    pairs = [
        (c, r, g)
        for c, r, g in zip(candidate, reference, groups, strict=True)
        if c is not None and r is not None and np.isfinite(c) and np.isfinite(r)
    ]
    if not pairs:
        return float("nan"), float("nan")
    difference = np.array([c - r for c, r, _ in pairs])
    names = sorted({g for _, _, g in pairs})
    index = {name: i for i, name in enumerate(names)}
    member = np.array([index[g] for _, _, g in pairs])
    sums = np.bincount(member, weights=difference, minlength=len(names))
    counts = np.bincount(member, minlength=len(names)).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(BOOTSTRAP_DRAWS, len(names)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    return float(difference.mean()), float(1.96 * means.std())


@dataclass
class RowVerdict:
    """How a candidate compares with a reference on one row (``improvement`` > 0 is better, in the metric's units)."""

    row: str
    candidate: float | None
    reference: float | None
    improvement: float
    margin: float
    gated: bool = True  # False: reported only, ``improvement`` is then the plain change (candidate − reference)

    @property
    def worse(self) -> bool:
        """Worse beyond the noise margin on a gated row (NaN, i.e. no comparable images, counts as not worse)."""
        return self.gated and bool(self.improvement < -self.margin)


def compare(candidate: dict[str, dict], reference: dict[str, dict], sets: Sequence[EvalSet]) -> list[RowVerdict]:
    """Row-by-row verdicts of ``candidate`` against ``reference`` (both ``{set name: score_set(...)}``)."""
    verdicts = []
    for test in sets:
        cand, ref = candidate[test.name], reference[test.name]
        if cand["images"] != ref["images"]:
            raise ValueError(f"{test.name}: the two columns were scored on different images")
        for metric in test.metrics:
            difference, margin = paired_difference(cand[metric], ref[metric], ref["groups"])
            direction = HIGHER_IS_BETTER[metric]
            sign = -1.0 if direction is False else 1.0
            row, means = f"{test.name}/{metric}", (mean_of(cand[metric]), mean_of(ref[metric]))
            verdicts.append(RowVerdict(row, *means, sign * difference, margin, gated=direction is not None))
    return verdicts
