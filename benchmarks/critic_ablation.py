"""Critic ablation on the U-Net (issue 23): collect the runs of ``experiments/ablate_critic.sh`` into one JSON,
a Markdown table (per-row mean, seed spread, paired difference vs L1-only) and the azimuthally averaged power
spectrum of each row's test outputs against the clean photos.

    bash experiments/ablate_critic.sh      # runs/critic_ablation/{l1,spatial,frequency,dual}_s{0,1}, detached_s0
    python benchmarks/critic_ablation.py   # benchmarks/results/critic_ablation.{json,md} and critic_spectrum.png

Every finished run's final weights (``last.safetensors``, the averaged weights after all its steps; ``--weights best``:
the checkpoint the trainer picked by validation PSNR) are applied to the held-out test pairs the way ``dehaze-infer``
applies them and scored there: PSNR, SSIM, FID ± its 95% bootstrap margin (against the
clean test photos), spectral distance and spectral detectability; the same outputs give the spectra. Scores are
cached next to each run (``critic_scores_{weights}.json``), so a rerun only scores the runs that are new.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dehaze.atomic import atomic_write_text
from dehaze.config import parse_yaml
from dehaze.data.pairing import find_pairs
from dehaze.imageio import read_image
from dehaze.inference import Dehazer
from dehaze.metrics.evaluate import clean_reference, evaluate_pairs
from dehaze.spectrum import azimuthal_power_spectrum

CRITICS = ("l1", "spatial", "frequency", "dual", "detached")
LABELS = {
    "l1": "L1 only",
    "spatial": "spatial GAN (λ=1)",
    "frequency": "frequency GAN (λ=0)",
    "dual": "dual GAN (λ=0.5)",
    "detached": "dual GAN, FFT detached",
}
METRICS = ("psnr", "ssim", "fid", "spectral_distance", "detectability")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "fid": False, "spectral_distance": False, "detectability": False}
DIGITS = {"psnr": 2, "ssim": 4, "fid": 1, "spectral_distance": 3, "detectability": 3}
REFERENCE_ROWS = ("hazy input", "dark channel prior")
RUN_NAME = re.compile(r"^(?P<critic>l1|spatial|frequency|dual|detached)_s(?P<seed>\d+)$")
SPECTRUM_BINS = 128  # rings from DC to the corners; the plot keeps those inside the Nyquist circle


def _metrics(row: dict[str, Any]) -> dict[str, float | None]:
    """The five headline metrics of one :func:`evaluate_pairs` result, plus their uncertainties."""
    picked = {name: row.get(name) for name in METRICS}
    picked.update(fid_margin=row.get("fid_margin"), detectability_std=row.get("detectability_std"))
    return picked


def load_runs(root: Path, weights: str = "last") -> list[dict[str, Any]]:
    """Every finished run under ``root`` (``{critic}_s{seed}`` with the trainer's ``metrics.json``); ``weights``
    names the file scored (``last`` or ``best``)."""
    runs = []
    for run_dir in sorted(root.iterdir() if root.is_dir() else []):
        match = RUN_NAME.match(run_dir.name)
        if not match or not (run_dir / "metrics.json").is_file():
            continue
        config = parse_yaml((run_dir / "config.yaml").read_text())
        runs.append(
            {
                "arch": config["model"]["arch"],
                "base_width": int(config["model"]["base_width"]),
                "critic": match["critic"],
                "seed": int(config["train"]["seed"]),
                "steps": int(config["train"]["steps"]),
                "run": run_dir.name,
                "weights": weights,
                "checkpoint": str(run_dir / f"{weights}.safetensors"),
            }
        )
    return runs


class Scorer:
    """Scores dehazing functions on the test pairs against one shared clean reference (FID statistics, spectrum)."""

    def __init__(self, test: Path, device: str, cache: Path) -> None:
        from dehaze.metrics.fid import FidStats
        from dehaze.metrics.inception import load_inception

        self.pairs = find_pairs(test).pairs
        self.device = device
        self.inception = load_inception(device=device)
        if cache.is_file():  # the clean photos' Inception activations, computed once per runs folder
            self.reference = FidStats.from_activations(np.load(cache))
        else:
            self.reference = clean_reference(self.pairs, self.inception, channels=1, progress=False)
            np.save(cache, self.reference.activations)
        self.clean_spectrum = mean_power_spectrum([read_image(c, channels=1) for _, c in self.pairs])

    def score(self, dehaze_fn: Any) -> tuple[dict[str, float | None], list[float]]:
        """Metrics and mean power spectrum of ``dehaze_fn``'s outputs (None: the hazy input itself)."""
        outputs: list[np.ndarray] = []

        def recorded(image: np.ndarray) -> np.ndarray:
            output = image if dehaze_fn is None else dehaze_fn(image)
            outputs.append(np.atleast_3d(np.clip(output, 0.0, 1.0)))
            return output

        result = evaluate_pairs(
            recorded, self.pairs, channels=1, inception=self.inception, reference=self.reference, progress=False
        )
        return _metrics(result), mean_power_spectrum(outputs).tolist()

    def score_run(self, run: dict[str, Any]) -> dict[str, Any]:
        """The run's scores, from its cache when that is newer than the checkpoint."""
        checkpoint = Path(run["checkpoint"])
        cache = checkpoint.parent / f"critic_scores_{checkpoint.stem}.json"
        if cache.is_file() and cache.stat().st_mtime > checkpoint.stat().st_mtime:
            return json.loads(cache.read_text())
        dehazer = Dehazer.from_checkpoint(checkpoint, device=self.device)
        metrics, spectrum = self.score(dehazer.dehaze_array)
        scores = {"metrics": metrics, "spectrum": spectrum}
        atomic_write_text(cache, json.dumps(scores))
        return scores


def _value(run: dict[str, Any], metric: str) -> float:
    value = run["metrics"][metric]
    return float("nan") if value is None else float(value)


def row_summary(runs: list[dict[str, Any]], critic: str, metric: str) -> tuple[float, float, int]:
    """Mean, seed spread (max − min) and number of seeds of one row's metric."""
    values = [_value(run, metric) for run in runs if run["critic"] == critic]
    if not values:
        return float("nan"), float("nan"), 0
    return statistics.fmean(values), max(values) - min(values), len(values)


def paired_differences(runs: list[dict[str, Any]], critic: str, metric: str) -> list[float]:
    """``critic − l1`` for every seed both rows have (same data, same seed: a paired comparison)."""
    base = {run["seed"]: _value(run, metric) for run in runs if run["critic"] == "l1"}
    return [_value(run, metric) - base[run["seed"]] for run in runs if run["critic"] == critic and run["seed"] in base]


def _cell(runs: list[dict[str, Any]], critic: str, metric: str) -> str:
    """``mean (spread s) Δ d [lo, hi]``: the row mean with its seed spread and the paired differences vs L1."""
    digits = DIGITS[metric]
    mean, spread, count = row_summary(runs, critic, metric)
    if count == 0:
        return "—"
    text = f"{mean:.{digits}f} (±{spread / 2:.{digits}f})" if count > 1 else f"{mean:.{digits}f}"
    deltas = paired_differences(runs, critic, metric)
    if critic != "l1" and len(deltas) == 1:
        text += f"; Δ {deltas[0]:+.{digits}f} (1 seed)"
    elif critic != "l1" and deltas:
        low, high = min(deltas), max(deltas)
        sign = "✓" if (low > 0 or high < 0) else "~"  # ✓: every seed moves the same way
        text += f"; Δ {statistics.fmean(deltas):+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}] {sign}"
    return text


def _fid_margin(runs: list[dict[str, Any]], critic: str) -> str:
    """Mean over the row's runs of FID's 95% bootstrap margin."""
    margins = [run["metrics"]["fid_margin"] for run in runs if run["critic"] == critic]
    margins = [m for m in margins if m is not None]
    return f"±{statistics.fmean(margins):.1f}" if margins else "—"


def markdown_table(runs: list[dict[str, Any]], references: dict[str, dict[str, float | None]]) -> str:
    """Rows: the reference rows, then each critic row with mean, seed half-range and paired Δ vs L1-only."""
    header = "| row | seeds | " + " | ".join(METRICS) + " | FID 95% |\n|---|---|" + "---|" * (len(METRICS) + 1) + "\n"
    lines = []
    for name, values in references.items():
        cells = [f"{values[m]:.{DIGITS[m]}f}" if values[m] is not None else "—" for m in METRICS]
        margin = f"±{values['fid_margin']:.1f}" if values.get("fid_margin") is not None else "—"
        lines.append(f"| {name} | — | " + " | ".join(cells) + f" | {margin} |")
    for critic in CRITICS:
        seeds = sorted(run["seed"] for run in runs if run["critic"] == critic)
        if seeds:
            cells = [_cell(runs, critic, metric) for metric in METRICS] + [_fid_margin(runs, critic)]
            lines.append(f"| {LABELS[critic]} | {','.join(map(str, seeds))} | " + " | ".join(cells) + " |")
    notes = (
        "\n\nEach cell: mean over seeds (± half the seed range); for the GAN rows, Δ = the row minus L1-only on the "
        "same seed, mean [smallest, largest] over seeds; ✓ where every seed moves the same way, ~ where the seeds "
        "disagree. Better is higher for psnr and ssim, lower for fid, spectral_distance and detectability (0.5 = "
        "indistinguishable from clean photos). FID 95%: the bootstrap margin of one run's FID (mean over the "
        "row's runs)."
    )
    return header + "\n".join(lines) + notes + "\n"


def mean_power_spectrum(images: list[np.ndarray]) -> np.ndarray:
    """Azimuthally averaged power (``dehaze.spectrum``, orthonormal FFT) averaged over ``images`` (H×W×C)."""
    total = np.zeros(SPECTRUM_BINS)
    for image in images:
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].double()
        total += azimuthal_power_spectrum(tensor, bins=SPECTRUM_BINS)[0].numpy()
    return total / max(len(images), 1)


def row_spectra(runs: list[dict[str, Any]], spectra: dict[str, list[float]]) -> dict[str, np.ndarray]:
    """Mean power spectrum of each row's test outputs (seeds pooled) after the reference curves in ``spectra``."""
    rows = {name: np.asarray(curve) for name, curve in spectra.items()}
    for critic in CRITICS:
        curves = [np.asarray(run["spectrum"]) for run in runs if run["critic"] == critic]
        if curves:
            rows[LABELS[critic]] = np.mean(curves, axis=0)
    return rows


def plot_spectra(spectra: dict[str, np.ndarray], path: Path, title: str) -> None:
    """Two panels: power vs frequency (log–log), and each curve divided by the clean photos' power."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    radius = np.sqrt(2.0) * np.arange(SPECTRUM_BINS) / (SPECTRUM_BINS - 1)  # in units of Nyquist
    keep = (radius > 0) & (radius <= 1.0)
    styles = {
        "clean photos": dict(color="black", lw=2.5),
        "hazy input": dict(color="0.6", ls="--", lw=1.5),
        "dark channel prior": dict(color="tab:purple", ls=":", lw=1.5),
    }
    colours = dict(zip(LABELS.values(), ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:brown"), strict=True))
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name, power in spectra.items():
        style = styles.get(name, dict(color=colours.get(name), lw=1.6))
        left.loglog(radius[keep], power[keep], label=name, **style)
        right.semilogx(radius[keep], power[keep] / spectra["clean photos"][keep], label=name, **style)
    left.set(xlabel="spatial frequency (fraction of Nyquist)", ylabel="mean power |F|²", title="power spectrum")
    right.set(xlabel="spatial frequency (fraction of Nyquist)", ylabel="power / clean photos' power")
    right.set_title("relative to the clean photos (1 = same)")
    right.axhline(1.0, color="black", lw=0.8)
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=9)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def score_all(runs: list[dict[str, Any]], scorer: Scorer, cache: Path) -> tuple[dict, dict[str, list[float]]]:
    """Scores every run in place; returns the reference rows (hazy input, DCP) and the reference spectra, which are
    cached in ``cache``."""
    from dehaze.dcp import dark_channel_prior

    if cache.is_file():
        saved = json.loads(cache.read_text())
        references, spectra = saved["references"], saved["spectra"]
    else:
        references, spectra = {}, {"clean photos": scorer.clean_spectrum.tolist()}
        for name, dehaze_fn in zip(REFERENCE_ROWS, (None, dark_channel_prior), strict=True):
            references[name], spectra[name] = scorer.score(dehaze_fn)
        atomic_write_text(cache, json.dumps({"references": references, "spectra": spectra}))
    for run in runs:
        run.update(scorer.score_run(run))
    return references, spectra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="?", default=Path("runs/critic_ablation"))
    parser.add_argument("--test", type=Path, default=Path("runs/data/test"), help="the runs' test pairs")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", choices=("last", "best"), default="last", help="file scored in each run")
    parser.add_argument("--suffix", default=None, help="added to the output names (default: '' or '_best')")
    args = parser.parse_args()
    suffix = args.suffix if args.suffix is not None else ("" if args.weights == "last" else "_best")
    runs = load_runs(args.runs, args.weights)
    if not runs:
        print(f"error: no finished runs ({{critic}}_s{{seed}}/metrics.json) under {args.runs}", file=sys.stderr)
        return 1
    scorer = Scorer(args.test, args.device, args.runs / "critic_clean_activations.npy")
    references, spectra = score_all(runs, scorer, args.runs / "critic_references.json")
    public = [{k: v for k, v in run.items() if k not in ("checkpoint", "spectrum")} for run in runs]
    atomic_write_text(args.out / f"critic_ablation{suffix}.json", json.dumps(public, indent=2) + "\n")
    table = markdown_table(runs, references)
    atomic_write_text(args.out / f"critic_ablation{suffix}.md", table)
    print(table)
    steps = "/".join(str(s) for s in sorted({run["steps"] for run in runs}))
    weights = f"final weights after {steps} steps" if args.weights == "last" else f"best by validation ({steps} steps)"
    title = f"U-Net test outputs ({len(scorer.pairs)} pairs), {weights}, seeds pooled"
    plot_spectra(row_spectra(runs, spectra), args.out / f"critic_spectrum{suffix}.png", title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
