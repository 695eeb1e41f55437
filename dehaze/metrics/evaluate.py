"""Score a dehazing function on (hazy, clean) pairs: per-image PSNR, SSIM, spectral distance; FID over the set."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dehaze.errors import DehazeError
from dehaze.imageio import read_image, to_tensor
from dehaze.metrics.detectability import FeatureCollector, detectability_from_features
from dehaze.metrics.fid import BOOTSTRAP_DRAWS, ActivationCollector, FidStats, fid_bootstrap, frechet_distance
from dehaze.metrics.inception import load_inception
from dehaze.metrics.quality import colour_shift, psnr, spectral_distance, ssim

DehazeFn = Callable[[np.ndarray], np.ndarray]


def _check_output(output: np.ndarray, clean: np.ndarray, hazy_path: Path) -> np.ndarray:
    output = np.asarray(output, dtype=np.float32)
    if output.ndim == 2:
        output = output[..., None]
    if output.shape != clean.shape:
        raise DehazeError(f"{hazy_path}: dehazed output has shape {output.shape}, its clean image {clean.shape}")
    return np.clip(output, 0.0, 1.0)


def evaluate_pairs(
    dehaze_fn: DehazeFn | None,
    pairs: list[tuple[Path, Path]],
    channels: int = 1,
    fid: bool = True,
    inception=None,
    progress: bool = True,
    reference: FidStats | None = None,
    batch_size: int = 16,
    desc: str = "evaluate",
    fid_draws: int = BOOTSTRAP_DRAWS,
) -> dict:
    """Metrics of ``dehaze_fn(hazy)`` against clean images; ``dehaze_fn=None`` scores the hazy input itself.

    Returns ``dict(psnr, ssim, spectral_distance, colour_shift, fid, detectability, count, ...)``: PSNR, SSIM,
    spectral distance and (RGB only, else ``None``) colour shift are means over images (sizes may differ between
    pairs; a hazy/clean pair must have the same size); FID is over the whole set (``None`` when ``fid=False``,
    ``nan`` with a warning for fewer than 2 pairs), with its bootstrap uncertainty ``fid_std`` and ``fid_margin``
    (1.96·std: FID ± margin is a 95% interval; pairs resampled together, ``fid_draws`` times; ``None`` when not
    computed); detectability is the cross-validated accuracy of a spectrum
    classifier telling outputs from clean images (0.5 = indistinguishable; ``None`` with too few images, see
    ``detectability_note``). ``inception`` is a loaded model (else
    :func:`load_inception` is called); ``reference`` reuses precomputed clean-set statistics (see
    :func:`clean_reference`).
    """
    if not pairs:
        raise DehazeError("no image pairs to evaluate")
    model = (inception if inception is not None else load_inception()) if fid else None
    fake = ActivationCollector(model, batch_size) if model is not None else None
    real = ActivationCollector(model, batch_size) if model is not None and reference is None else None
    scores: dict[str, list[float]] = {"psnr": [], "ssim": [], "spectral_distance": [], "colour_shift": []}
    fake_spectra, real_spectra = FeatureCollector(), FeatureCollector()
    for hazy_path, clean_path in tqdm(pairs, desc=desc, unit="img", disable=not progress, leave=False):
        hazy = read_image(hazy_path, channels=channels)
        clean = read_image(clean_path, channels=channels)
        output = _check_output(hazy if dehaze_fn is None else dehaze_fn(hazy), clean, Path(hazy_path))
        out_t, clean_t = to_tensor(output)[None], to_tensor(clean)[None]
        scores["psnr"].append(psnr(out_t, clean_t))
        scores["ssim"].append(ssim(out_t, clean_t))
        scores["spectral_distance"].append(spectral_distance(out_t, clean_t))
        if channels == 3:
            scores["colour_shift"].append(colour_shift(out_t, clean_t))
        fake_spectra.add(output)
        real_spectra.add(clean)
        if fake is not None:
            fake.add(output)
        if real is not None:
            real.add(clean)
    result: dict = {name: float(np.mean(values)) if values else None for name, values in scores.items()}
    result["count"] = len(pairs)
    spectral = detectability_from_features(
        real_spectra.result(), fake_spectra.result(), skipped=real_spectra.skipped + fake_spectra.skipped
    )
    result.update(detectability=spectral.accuracy, detectability_std=spectral.std, detectability_note=spectral.message)
    result.update(fid=None, fid_std=None, fid_margin=None)
    if fake is not None:
        reference = reference if reference is not None else FidStats.from_activations(real.result())
        result.update(_fid_with_interval(FidStats.from_activations(fake.result()), reference, fid_draws))
    return result


def _fid_with_interval(fake: FidStats, reference: FidStats, draws: int) -> dict[str, float | None]:
    """FID of the outputs against the clean set and its bootstrap std and 95% margin (pairs resampled together)."""
    fid = frechet_distance(fake, reference)
    paired = reference.activations is not None and fake.count == reference.count
    interval = fid_bootstrap(fake.activations, reference.activations, fid, paired=True, draws=draws) if paired else None
    if interval is None:
        return {"fid": fid, "fid_std": None, "fid_margin": None}
    return {"fid": fid, "fid_std": interval.std, "fid_margin": interval.margin}


def clean_reference(
    pairs: list[tuple[Path, Path]], inception, channels: int = 1, batch_size: int = 16, progress: bool = True
) -> FidStats:
    """FID statistics of the clean images of ``pairs``, to share between several :func:`evaluate_pairs` calls."""
    collector = ActivationCollector(inception, batch_size)
    for _, clean_path in tqdm(pairs, desc="clean set", unit="img", disable=not progress, leave=False):
        collector.add(read_image(clean_path, channels=channels))
    return FidStats.from_activations(collector.result())


def format_value(value: float | None, digits: int = 4) -> str:
    """Table cell: ``-`` for missing, ``inf``/``nan`` spelled out."""
    if value is None:
        return "-"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.{digits}f}"
