"""No-reference measures for real hazy photos (no ground truth): FADE fog density, the flat-region artefact gain,
and clean-set reference statistics (FID and spectral features) cached as pytorch-fid style ``.npz`` files.

- **FADE** (Choi et al., IEEE TIP 2015): fog density from natural-scene statistics; lower = clearer. Computed
  with the optional ``fade-python`` package (``pip install fade-python``; its licence allows research and
  evaluation use, so it is an optional extra, not a dependency). Without it the column is empty.
- **Artefact gain**: how much a method amplifies fine-scale variation in the input's **flat** regions (sky, fog,
  walls: the 25% of pixels with the lowest local contrast in the input). Detail = image minus its 5×5 box mean,
  measured as RMS in Y, Cb and Cr (BT.601, chroma counted twice: blotches are mostly chroma) over those pixels,
  output divided by input. 1 = as smooth as the input; JPEG blocks, chroma blotches and grain amplified by a 1/t
  gain raise it. Averaged over photos.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from dehaze.atomic import atomic_write_bytes
from dehaze.cache import cache_dir
from dehaze.errors import DehazeError

FLAT_QUANTILE = 0.25
DETAIL_SIZE = 5
CHROMA_WEIGHT = 2.0
YCBCR = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)


def _planes(image: np.ndarray) -> np.ndarray:
    """H×W×3 YCbCr (BT.601, full range, chroma centred on 0) of an RGB image; gray images give Y only."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    return image if image.shape[2] == 1 else image @ YCBCR.T


def flat_mask(hazy: np.ndarray) -> np.ndarray:
    """The input's flattest pixels: local (5×5) luma standard deviation in its lowest quartile."""
    luma = _planes(hazy)[..., 0]
    mean = ndimage.uniform_filter(luma, DETAIL_SIZE, mode="reflect")
    var = ndimage.uniform_filter(luma * luma, DETAIL_SIZE, mode="reflect") - mean * mean
    std = np.sqrt(np.clip(var, 0.0, None))
    return std <= np.quantile(std, FLAT_QUANTILE)


def flat_detail(image: np.ndarray, mask: np.ndarray) -> float:
    """RMS of the fine detail over ``mask``: luma plus ``CHROMA_WEIGHT`` × each chroma plane."""
    planes = _planes(image)
    total = 0.0
    for c in range(planes.shape[2]):
        plane = planes[..., c]
        detail = plane - ndimage.uniform_filter(plane, DETAIL_SIZE, mode="reflect")
        weight = 1.0 if c == 0 else CHROMA_WEIGHT
        total += weight * float(np.sqrt(np.mean(np.square(detail[mask]))))
    return total


def artefact_gain(output: np.ndarray, hazy: np.ndarray) -> float:
    """Flat-region detail of ``output`` over that of ``hazy`` (1 = no amplified artefacts); NaN for a blank input."""
    mask = flat_mask(hazy)
    base = flat_detail(hazy, mask)
    return flat_detail(output, mask) / base if base > 1e-6 else float("nan")


def fade_available() -> bool:
    try:
        import pyfade  # noqa: F401
    except ImportError:
        return False
    return True


def fade_score(image: np.ndarray) -> float | None:
    """FADE of an H×W×3 image in [0, 1] (gray is repeated), or None without the optional ``fade-python``."""
    try:
        from pyfade import fade
    except ImportError:
        return None
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2 or image.shape[2] == 1:
        image = np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=2)
    return float(fade(np.clip(image, 0.0, 1.0)))


@dataclass
class ReferenceStats:
    """A clean reference set: Inception pool3 mean/covariance (pytorch-fid's ``mu``/``sigma``) and the spectral
    features of the detectability classifier (``spectral``, an extra key pytorch-fid ignores)."""

    mu: np.ndarray
    sigma: np.ndarray
    spectral: np.ndarray | None
    count: int

    def save(self, path: Path) -> None:
        """Write atomically as ``.npz`` (pytorch-fid reads ``mu`` and ``sigma`` from it)."""
        buffer = io.BytesIO()
        extra = {} if self.spectral is None else {"spectral": self.spectral}
        np.savez(buffer, mu=self.mu, sigma=self.sigma, count=np.int64(self.count), **extra)
        atomic_write_bytes(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> ReferenceStats:
        """Read a ``.npz`` with ``mu`` and ``sigma`` (as pytorch-fid writes); never unpickles."""
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                mu, sigma = np.asarray(data["mu"], np.float64), np.asarray(data["sigma"], np.float64)
                spectral = np.asarray(data["spectral"], np.float64) if "spectral" in data else None
                count = int(data["count"]) if "count" in data else 0
        except (OSError, ValueError, KeyError) as exc:
            raise DehazeError(f"{path}: not FID statistics (.npz with mu and sigma): {exc}"[:300]) from None
        if mu.ndim != 1 or sigma.shape != (mu.size, mu.size):
            raise DehazeError(f"{path}: mu {mu.shape} and sigma {sigma.shape} do not fit together")
        return cls(mu, sigma, spectral, count)


def reference_cache_path(files: list[Path], channels: int) -> Path:
    """Where the statistics of exactly these files (paths, sizes, modification times) are cached."""
    digest = hashlib.sha256(str(channels).encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return cache_dir() / "reference_stats" / f"{digest.hexdigest()[:24]}.npz"
