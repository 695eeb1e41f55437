"""Spectral detectability: how well a small classifier tells a method's outputs from clean photos.

After Dzanic, Shah & Witherden, "Fourier spectrum discrepancies in deep network generated images" (NeurIPS 2020),
written from the paper's description:

1. **Reduced spectrum.** The luminance (BT.601) of an image is Fourier transformed (orthonormal 2-D FFT, shifted)
   and the *magnitude* ``|F|`` is averaged over rings of equal radius. Radius is measured per axis in units of the
   Nyquist frequency (0 at DC, 1 at the edge midpoints; non-square images are handled), one bin per integer
   wavenumber of the shorter side. Only the inscribed Nyquist circle (radius ≤ 1) is used: the corners beyond it are
   incomplete rings. The spectrum is divided by its DC value, so a global gain (exposure) does not change it.
2. **Tail fit.** On the high-frequency tail (radius ≥ ``tail_start``, default 0.75) a power law
   ``y ≈ y0 · (r / r0)^b`` is fitted with :func:`scipy.optimize.curve_fit`, in log–log space (a straight line:
   better conditioned than fitting the raw magnitudes, which span decades). ``r0`` is the first tail radius.
3. **Features** (three per image, all logs so they are on comparable scales): the decay exponent ``b``,
   ``log y0`` (fitted tail level at ``r0``) and ``log y(1)``, the reduced spectrum at the highest frequency.
4. **Classifier.** Standardised features → kNN (k = 5, the headline), or an RBF SVM or a small MLP. The score is the
   mean (± std) over stratified k-fold cross-validation of the *balanced* accuracy (the mean of the per-class
   recalls, equal to plain accuracy when both sets have the same size), so 0.5 means "indistinguishable" even when
   the two sets differ in size, and 1.0 means every output is recognised.

Images whose shorter side is below :data:`MIN_SIZE` are skipped (too few tail bins for a stable fit) and counted.
Frequencies are relative to each image's own sampling, so compare sets of similar resolution (as paired
(output, clean) evaluation does); no window is applied before the FFT, so both sets carry the same edge effects.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from dehaze.color import luminance_array

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MIN_SIZE = 64  # shorter side (px) below which an image is skipped: 32 radial bins, ~9 of them in the default tail
MIN_TAIL_BINS = 3  # spectral_features needs at least this many bins in the tail to fit two parameters
DEFAULT_TAIL_START = 0.75
LOG_FLOOR = 1e-12  # keeps logs finite for flat (constant) or black images
FEATURE_NAMES = ("decay_exponent", "log_tail_level", "log_highest_frequency")
CLASSIFIERS = ("knn", "svm", "mlp")
KNN_NEIGHBOURS = 5
MIN_PER_CLASS_PER_FOLD = 2


def reduced_spectrum(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged FFT magnitude of an H×W array, divided by its DC value.

    Returns ``(radius, spectrum)``, both of length ``min(H, W) // 2 + 1``; ``radius`` runs from 0 to 1 (Nyquist).
    """
    height, width = gray.shape
    magnitude = np.abs(np.fft.fftshift(np.fft.fft2(gray.astype(np.float64), norm="ortho")))
    fy = np.fft.fftshift(np.fft.fftfreq(height)) / 0.5
    fx = np.fft.fftshift(np.fft.fftfreq(width)) / 0.5
    radius = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    last = min(height, width) // 2
    index = np.rint(radius * last).astype(np.int64).ravel()
    inside = index <= last
    totals = np.bincount(index[inside], weights=magnitude.ravel()[inside], minlength=last + 1)
    counts = np.bincount(index[inside], minlength=last + 1)
    spectrum = totals / np.maximum(counts, 1)
    dc = magnitude[height // 2, width // 2]
    return np.arange(last + 1) / last, spectrum / max(dc, LOG_FLOOR)


def _line(log_r: np.ndarray, log_y0: float, b: float) -> np.ndarray:
    return log_y0 + b * log_r


def spectral_features(image: np.ndarray, tail_start: float = DEFAULT_TAIL_START) -> np.ndarray:
    """Three features of an H×W or H×W×C float image in [0, 1]: ``[b, log y0, log y(1)]`` (see module docs).

    Raises ``ValueError`` for a tail of fewer than :data:`MIN_TAIL_BINS` bins (tiny images) or a bad ``tail_start``.
    """
    if not 0.0 < tail_start < 1.0:
        raise ValueError(f"tail_start must be in (0, 1), got {tail_start}")
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an H×W or H×W×C image, got shape {image.shape}")
    radius, spectrum = reduced_spectrum(luminance_array(image))
    tail = radius >= tail_start
    if int(tail.sum()) < MIN_TAIL_BINS:
        raise ValueError(f"image of shape {image.shape} is too small for a spectral tail fit")
    log_r = np.log(radius[tail] / radius[tail][0])
    log_y = np.log(np.maximum(spectrum[tail], LOG_FLOOR))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)  # exact fits leave the (unused) covariance undefined
        (log_y0, b), _ = curve_fit(_line, log_r, log_y, p0=(float(log_y[0]), -1.0))
    return np.array([b, log_y0, log_y[-1]], dtype=np.float64)


class FeatureCollector:
    """Collect :func:`spectral_features` image by image (no images kept); small images are skipped and counted."""

    def __init__(self, tail_start: float = DEFAULT_TAIL_START, min_size: int = MIN_SIZE) -> None:
        self.tail_start = float(tail_start)
        self.min_size = int(min_size)
        self.skipped = 0
        self._features: list[np.ndarray] = []

    def add(self, image: np.ndarray) -> bool:
        """Compute and keep the features of ``image``; ``False`` (and ``skipped += 1``) if it is too small."""
        if min(np.shape(image)[:2]) < self.min_size:
            self.skipped += 1
            return False
        self._features.append(spectral_features(image, self.tail_start))
        return True

    def __len__(self) -> int:
        return len(self._features)

    def result(self) -> np.ndarray:
        """N×3 float64 feature matrix (``0×3`` when nothing was added)."""
        if not self._features:
            return np.empty((0, len(FEATURE_NAMES)), dtype=np.float64)
        return np.stack(self._features)


@dataclass
class DetectabilityResult:
    """Cross-validated balanced accuracy of real-vs-fake classification (``None`` when it could not be scored)."""

    accuracy: float | None
    std: float | None
    n_real: int
    n_fake: int
    skipped: int
    message: str


def _make_classifier(name: str, neighbours: int, seed: int) -> Pipeline:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    models = {
        "knn": lambda: KNeighborsClassifier(n_neighbors=neighbours),
        "svm": lambda: SVC(kernel="rbf", class_weight="balanced"),
        "mlp": lambda: MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=2000, random_state=seed),
    }
    return Pipeline([("scale", StandardScaler()), ("classify", models[name]())])


def _as_features(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.size == 0:
        return features.reshape(0, len(FEATURE_NAMES))
    if features.ndim != 2 or features.shape[1] != len(FEATURE_NAMES) or not np.all(np.isfinite(features)):
        raise ValueError(f"expected a finite N×{len(FEATURE_NAMES)} feature matrix, got shape {features.shape}")
    return features


def _too_few(n_real: int, n_fake: int, skipped: int) -> DetectabilityResult | None:
    need = 2 * MIN_PER_CLASS_PER_FOLD
    if min(n_real, n_fake) >= need:
        return None
    message = (
        f"detectability not computed: {n_real} real and {n_fake} fake images usable, cross-validation needs at "
        f"least {need} of each ({MIN_PER_CLASS_PER_FOLD} per class in each of 2 folds)"
    )
    if skipped:
        message += f"; {skipped} images smaller than the minimum size were skipped"
    return DetectabilityResult(None, None, n_real, n_fake, skipped, message)


def detectability_from_features(
    real_feats: np.ndarray,
    fake_feats: np.ndarray,
    classifier: str = "knn",
    folds: int = 5,
    seed: int = 0,
    skipped: int = 0,
) -> DetectabilityResult:
    """Stratified k-fold CV of ``classifier`` on N×3 feature matrices (from :class:`FeatureCollector`).

    ``folds`` is reduced so that every test fold holds at least 2 images of each class (minimum 2 folds); kNN's
    k is reduced to the largest odd number not above the smaller class's training count when that is under 5
    (otherwise kNN just votes the majority). ``skipped`` is only reported.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
    real_feats, fake_feats = _as_features(real_feats), _as_features(fake_feats)
    n_real, n_fake = len(real_feats), len(fake_feats)
    too_few = _too_few(n_real, n_fake, skipped)
    if too_few is not None:
        return too_few
    n_folds = max(2, min(int(folds), min(n_real, n_fake) // MIN_PER_CLASS_PER_FOLD))
    features = np.concatenate([real_feats, fake_feats])
    labels = np.concatenate([np.zeros(n_real, dtype=np.int64), np.ones(n_fake, dtype=np.int64)])
    smallest = min(n_real, n_fake)
    neighbours = min(KNN_NEIGHBOURS, smallest - math.ceil(smallest / n_folds))  # ≤ smaller class in training
    neighbours -= 1 - neighbours % 2  # odd, so two classes cannot tie
    model = _make_classifier(classifier, neighbours, seed)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # sklearn's small-fold notices
        scores = cross_val_score(model, features, labels, cv=splitter, scoring="balanced_accuracy")
    accuracy, std = float(scores.mean()), float(scores.std())
    name = f"kNN (k={neighbours})" if classifier == "knn" else classifier.upper()
    message = (
        f"{name}, {n_folds}-fold stratified CV on {n_real} real / {n_fake} fake images: balanced accuracy "
        f"{accuracy:.3f} ± {std:.3f} (0.5 = indistinguishable, 1.0 = always detected)"
    )
    if n_real != n_fake:
        message += "; the sets differ in size (balanced accuracy keeps chance at 0.5)"
    if skipped:
        message += f"; {skipped} images smaller than the minimum size skipped"
    return DetectabilityResult(accuracy, std, n_real, n_fake, skipped, message)


def detectability(
    real: Iterable[np.ndarray],
    fake: Iterable[np.ndarray],
    classifier: str = "knn",
    folds: int = 5,
    seed: int = 0,
    *,
    tail_start: float = DEFAULT_TAIL_START,
) -> DetectabilityResult:
    """Detectability of ``fake`` images (a method's outputs) among ``real`` (clean) ones; see the module docs."""
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
    collectors = FeatureCollector(tail_start), FeatureCollector(tail_start)
    for collector, images in zip(collectors, (real, fake), strict=True):
        for image in images:
            collector.add(image)
    real_c, fake_c = collectors
    return detectability_from_features(
        real_c.result(), fake_c.result(), classifier, folds, seed, skipped=real_c.skipped + fake_c.skipped
    )
