"""FID over image sets with pytorch-fid's Inception (weights: :mod:`dehaze.metrics.inception`).

Images are fed the way pytorch-fid feeds them: RGB in [0, 1], bilinear resize to 299×299 (``align_corners=False``),
then ``2x − 1``. Grayscale is replicated to three channels. Each image is resized on its own, so a batch may mix sizes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_fid.fid_score import calculate_frechet_distance
from pytorch_fid.inception import InceptionV3
from tqdm import tqdm

from dehaze.defaults import BOOTSTRAP_DRAWS
from dehaze.errors import DehazeError
from dehaze.metrics.inception import FID_DIMS, INCEPTION_SIZE, load_inception

ImageLike = np.ndarray | torch.Tensor | Path | str


def _as_rgb_tensor(image: ImageLike) -> torch.Tensor:
    """3×H×W float tensor in [0, 1] from a path, an H×W(×C) array or a C×H×W tensor."""
    if isinstance(image, (str, Path)):
        from dehaze.imageio import read_image

        image = read_image(Path(image), channels=3)
    if isinstance(image, np.ndarray):
        array = image[..., None] if image.ndim == 2 else image
        if array.ndim != 3:
            raise DehazeError(f"expected an H×W×C image array, got shape {image.shape}")
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / 255.0
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)
    else:
        tensor = image.detach().float().cpu()
        if tensor.ndim == 2:
            tensor = tensor[None]
        if tensor.ndim != 3:
            raise DehazeError(f"expected a C×H×W image tensor, got shape {tuple(image.shape)}")
    channels = tensor.shape[0]
    if channels == 1:
        tensor = tensor.expand(3, -1, -1)
    elif channels != 3:
        raise DehazeError(f"FID needs 1 or 3 channels, got {channels}")
    return tensor


def resize_for_inception(image: torch.Tensor) -> torch.Tensor:
    """3×H×W → 3×299×299 with the same bilinear resize pytorch-fid's ``InceptionV3`` applies to its batch."""
    return F.interpolate(image[None], size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)[0]


class ActivationCollector:
    """Feed images one at a time; they are batched through Inception. ``result()`` → N×2048 float64."""

    def __init__(self, model: InceptionV3, batch_size: int = 16) -> None:
        self.model = model.eval()
        self.batch_size = max(1, int(batch_size))
        self.device = next(model.parameters()).device
        self._pending: list[torch.Tensor] = []
        self._done: list[np.ndarray] = []

    def add(self, image: ImageLike) -> None:
        self._pending.append(resize_for_inception(_as_rgb_tensor(image)))
        if len(self._pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = torch.stack(self._pending).to(self.device)
        self._pending = []
        with torch.no_grad():
            pool3 = self.model(batch)[0]
        self._done.append(pool3.reshape(pool3.shape[0], -1).double().cpu().numpy())

    def result(self) -> np.ndarray:
        self._flush()
        if not self._done:
            return np.empty((0, FID_DIMS), dtype=np.float64)
        return np.concatenate(self._done)


def folder_images(folder: Path | str) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted), with clear errors for bad folders."""
    from dehaze.imageio import IMAGE_SUFFIXES, list_images

    folder = Path(folder)
    if not folder.exists():
        raise DehazeError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise DehazeError(f"{folder}: not a folder")
    files = list_images(folder)
    if not files:
        raise DehazeError(f"{folder}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def activations(
    images: Iterable[ImageLike] | Path | str,
    model: InceptionV3,
    batch_size: int = 16,
    progress: bool = True,
    desc: str = "inception",
) -> np.ndarray:
    """pool3 activations (N×2048, float64) of a folder, a list of image files, arrays (H×W×C) or tensors (C×H×W)."""
    items: Iterable[ImageLike] = folder_images(images) if isinstance(images, (str, Path)) else images
    total = len(items) if hasattr(items, "__len__") else None
    collector = ActivationCollector(model, batch_size)
    iterator: Iterator[ImageLike] = iter(items)
    for image in tqdm(iterator, total=total, desc=desc, unit="img", disable=not progress, leave=False):
        collector.add(image)
    return collector.result()


# --------------------------------------------------------------------------- Fréchet distance


@dataclass
class FidStats:
    """Gaussian statistics of pool3 activations (the activations are kept for the exact low-rank FID)."""

    mu: np.ndarray
    sigma: np.ndarray
    count: int
    activations: np.ndarray | None = None

    @classmethod
    def from_activations(cls, acts: np.ndarray) -> FidStats:
        acts = np.asarray(acts, dtype=np.float64)
        if acts.shape[0] < 2:
            dims = acts.shape[1] if acts.ndim == 2 else FID_DIMS
            return cls(np.full(dims, np.nan), np.full((dims, dims), np.nan), int(acts.shape[0]), acts)
        return cls(acts.mean(axis=0), np.cov(acts, rowvar=False), int(acts.shape[0]), acts)


def _low_rank_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Exact FID when few samples: Tr√(Σa Σb) = Σ singular values of (Aᶜ Bᶜᵀ) / √((n−1)(m−1))."""
    n, m = a.shape[0], b.shape[0]
    centred_a, centred_b = a - a.mean(axis=0), b - b.mean(axis=0)
    diff = a.mean(axis=0) - b.mean(axis=0)
    trace_a = float(np.sum(centred_a**2)) / (n - 1)
    trace_b = float(np.sum(centred_b**2)) / (m - 1)
    singular = np.linalg.svd(centred_a @ centred_b.T, compute_uv=False)
    tr_covmean = float(np.sum(singular)) / np.sqrt((n - 1) * (m - 1))
    return float(diff @ diff + trace_a + trace_b - 2.0 * tr_covmean)


def frechet_distance(a: FidStats, b: FidStats, method: str = "auto") -> float:
    """FID between two sets; ``nan`` (with a warning) when either has fewer than 2 images.

    ``method="pytorch-fid"`` always uses ``pytorch_fid.fid_score.calculate_frechet_distance`` (scipy ``sqrtm`` of a
    2048×2048 matrix: ~30 s on a small CPU). ``"auto"`` uses it too unless a set has fewer images than 2048
    dimensions and activations are at hand; then the covariances have low rank and the same quantity is computed
    exactly (to float precision) from the n×m cross-Gram matrix, in milliseconds.
    """
    if method not in ("auto", "pytorch-fid", "low-rank"):
        raise ValueError(f"unknown FID method {method!r}")
    if a.count < 2 or b.count < 2:
        warnings.warn(f"FID needs at least 2 images per set (got {a.count} and {b.count}); returning nan", stacklevel=2)
        return float("nan")
    have_acts = a.activations is not None and b.activations is not None
    few = min(a.count, b.count) < a.mu.shape[0]
    if method == "low-rank" or (method == "auto" and have_acts and few):
        if not have_acts:
            raise ValueError("the low-rank FID needs the activations")
        return _low_rank_frechet(a.activations, b.activations)
    return float(calculate_frechet_distance(a.mu, a.sigma, b.mu, b.sigma))


@dataclass(frozen=True)
class FidInterval:
    """Bootstrap uncertainty of one FID: the standard deviation over resamples and the 95% interval FID ± 1.96·std."""

    std: float
    low: float
    high: float
    draws: int

    @property
    def margin(self) -> float:
        """Half the width of the interval (the ``±`` shown next to the FID)."""
        return (self.high - self.low) / 2


def _double_centre(gram: np.ndarray) -> np.ndarray:
    """H·K·H with the centring matrices H of each side: the Gram matrix of the mean-centred rows."""
    return gram - gram.mean(axis=0, keepdims=True) - gram.mean(axis=1, keepdims=True) + gram.mean()


def _fid_from_grams(gram_a: np.ndarray, gram_b: np.ndarray, cross: np.ndarray) -> float:
    """The low-rank FID of two sets given their Gram matrices A·Aᵀ, B·Bᵀ and A·Bᵀ (same value as the activations')."""
    n, m = cross.shape
    mean_gap = gram_a.mean() + gram_b.mean() - 2.0 * cross.mean()
    trace_a = float(np.trace(_double_centre(gram_a))) / (n - 1)
    trace_b = float(np.trace(_double_centre(gram_b))) / (m - 1)
    singular = np.linalg.svd(_double_centre(cross), compute_uv=False)
    return float(mean_gap + trace_a + trace_b - 2.0 * float(np.sum(singular)) / np.sqrt((n - 1) * (m - 1)))


def fid_bootstrap(
    acts_a: np.ndarray,
    acts_b: np.ndarray,
    fid: float,
    paired: bool = False,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> FidInterval | None:
    """How much ``fid`` (of these activations) moves when the images are resampled with replacement.

    ``paired``: row i of both sets belongs to one test pair, so pairs are resampled together (both sets of equal
    size); otherwise each set is resampled on its own. Each draw is the exact FID of the resampled sets, computed
    from Gram matrices made once. Seeded, so a report is reproducible. ``None`` for fewer than 3 images a set,
    fewer than 2 draws or a non-finite ``fid``.
    """
    n, m = len(acts_a), len(acts_b)
    if min(n, m) < 3 or draws < 2 or not np.isfinite(fid):
        return None
    if paired and n != m:
        raise ValueError(f"paired bootstrap needs sets of equal size, got {n} and {m}")
    a, b = np.asarray(acts_a, np.float64), np.asarray(acts_b, np.float64)
    gram_a, gram_b, cross = a @ a.T, b @ b.T, a @ b.T
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        i = rng.integers(0, n, n)
        j = i if paired else rng.integers(0, m, m)
        values.append(_fid_from_grams(gram_a[np.ix_(i, i)], gram_b[np.ix_(j, j)], cross[np.ix_(i, j)]))
    std = float(np.std(values, ddof=1))
    return FidInterval(std, fid - 1.96 * std, fid + 1.96 * std, draws)


def fid_from_activations(acts_a: np.ndarray, acts_b: np.ndarray, method: str = "auto") -> float:
    return frechet_distance(FidStats.from_activations(acts_a), FidStats.from_activations(acts_b), method)


def fid_from_folders(
    folder_a: Path | str,
    folder_b: Path | str,
    model: InceptionV3 | None = None,
    weights: Path | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 16,
    progress: bool = True,
    method: str = "auto",
) -> float:
    """FID between the images of two folders (recursive; sizes may differ; gray replicated to RGB)."""
    files_a, files_b = folder_images(folder_a), folder_images(folder_b)
    model = model if model is not None else load_inception(weights, device)
    acts_a = activations(files_a, model, batch_size, progress, desc=str(folder_a))
    acts_b = activations(files_b, model, batch_size, progress, desc=str(folder_b))
    return fid_from_activations(acts_a, acts_b, method)


def fid_from_arrays(
    images_a: Iterable[ImageLike],
    images_b: Iterable[ImageLike],
    model: InceptionV3 | None = None,
    weights: Path | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 16,
    progress: bool = True,
    method: str = "auto",
) -> float:
    """FID between two in-memory sets of H×W×C arrays in [0, 1] (or C×H×W tensors)."""
    model = model if model is not None else load_inception(weights, device)
    acts_a = activations(images_a, model, batch_size, progress)
    acts_b = activations(images_b, model, batch_size, progress)
    return fid_from_activations(acts_a, acts_b, method)
