"""Apply a trained generator to images of any size: colour modes and the Python API.

The default (guided) generator sees the whole image at once (``whole_image``): it is never tiled, and applies its
coefficients in strips of rows itself. Only a U-Net checkpoint is tiled, with cross-faded overlaps
(:mod:`dehaze.tiling`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from dehaze.color import is_gray, luminance
from dehaze.config import ModelConfig
from dehaze.defaults import COLOR_MODES, check_strength_range
from dehaze.device import resolve_device
from dehaze.errors import DehazeError
from dehaze.imageio import array_to_batch, batch_to_array, clamp_unit, pil_to_array, to_uint8, value_range
from dehaze.models.guided import GuidedGenerator
from dehaze.models.memory import fit_tiles
from dehaze.tiling import check_tiling, tiled_apply
from dehaze.video import SteadyConfig, SteadyLight, VideoResult, dehaze_video
from dehaze.video.io import FrameFn
from dehaze.video.run import steady_frames

ColorMode = Literal["auto", "gray", "luminance", "per-channel"]


def fuse_conv_batchnorm(model: nn.Module) -> nn.Module:
    """Eval-mode copy of ``model`` with each ``Conv2d`` → ``BatchNorm2d`` pair of a Sequential folded into one conv.

    Same outputs up to float rounding and about 40% less CPU time for the U-Net; ``model`` itself is untouched.
    """
    fused = copy.deepcopy(model).eval()
    for module in fused.modules():
        if isinstance(module, nn.Sequential):
            for index in range(len(module) - 1):
                conv, norm = module[index], module[index + 1]
                if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                    module[index] = fuse_conv_bn_eval(conv, norm)
                    module[index + 1] = nn.Identity()
    return fused


def check_strength(strength: float, generator: nn.Module) -> None:
    """``strength`` inside :data:`STRENGTH_RANGE` and, other than 1, supported by ``generator``; else DehazeError."""
    check_strength_range(strength)
    if strength != 1.0 and not getattr(generator, "scales_strength", False):
        raise DehazeError("--strength other than 1 needs the guided model or a U-Net with a residual or asm head")


class Dehazer:
    """Dehaze images of any size with a trained generator.

    ``auto`` (the default): output channels match input channels. A colour image goes through an RGB model (this
    one, or the ``companion`` that :meth:`from_checkpoint` loads next to the shipped gray model), a gray image
    through a gray model; with only a gray model, colour images are dehazed per channel.
    Other colour modes for a 1-channel model: ``gray`` (colour input is converted to BT.601 luminance; output is gray),
    ``luminance`` (dehaze Y of YCbCr and keep Cb/Cr), ``per-channel`` (R, G and B dehazed separately, one batch).
    A 3-channel model takes colour input as it is (gray input is repeated); in ``gray`` mode its output is
    converted to luminance. Gray input always gives gray output. On CUDA the model runs under autocast
    (float16 by default); on the CPU in float32. BatchNorm layers are folded into their convolutions
    (``fuse=True``) and the model runs channels-last: same results, faster. Larger tiles are a little faster
    (fewer overlapping pixels) and take more memory. ``strength`` sets how much haze is removed in the model's own
    terms (the guided model's affine maps iterated, the U-Net's residual): 0 = the input, 1 = the model's output.
    """

    def __init__(
        self,
        generator: nn.Module,
        model_cfg: ModelConfig,
        device: str | torch.device | None = None,
        tile: int | None = 1024,
        overlap: int = 32,
        batch_size: int = 4,
        color: ColorMode = "auto",
        amp: bool = True,
        amp_dtype: torch.dtype = torch.float16,
        fuse: bool = True,
        strength: float = 1.0,
    ) -> None:
        check_strength(strength, generator)
        if color not in COLOR_MODES:
            raise DehazeError(f"unknown colour mode '{color}' (choose from {', '.join(COLOR_MODES)})")
        if model_cfg.in_channels != model_cfg.out_channels or model_cfg.in_channels not in (1, 3):
            raise DehazeError(
                f"unsupported generator: {model_cfg.in_channels} → {model_cfg.out_channels} channels "
                "(inference needs 1 → 1 or 3 → 3)"
            )
        check_tiling(tile, overlap)
        if batch_size < 1:
            raise DehazeError(f"batch size must be at least 1, got {batch_size}")
        self.device = resolve_device(device)
        generator = fuse_conv_batchnorm(generator) if fuse else generator.eval()
        # channels-last convolutions are ~1.5× faster on the CPU (oneDNN) and suit tensor cores on CUDA
        self.generator = generator.to(self.device, memory_format=torch.channels_last)
        self.model_cfg = model_cfg
        self.tile, self.batch_size = tile, batch_size
        if model_cfg.arch == "unet":  # memory is bounded by the tiles, not by the width (dehaze.models.memory)
            self.tile, self.batch_size = fit_tiles(model_cfg.unet(), tile, batch_size)
        self.overlap = overlap if not self.tile or overlap < self.tile else self.tile // 2
        self.color = color
        self.strength = float(strength)
        self.amp = amp and self.device.type == "cuda"
        self.amp_dtype = amp_dtype
        self.multiple = generator.multiple
        self.companion: Dehazer | None = None  # the model for the other channel count, used in ``auto`` mode

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, device: str | torch.device | None = None, **options: object
    ) -> Dehazer:
        """Load a generator checkpoint (``None``: the shipped default model); ``options`` go to the constructor."""
        from dehaze.checkpoint import default_checkpoint_path, load_generator

        resolved = resolve_device(device)
        generator, model_cfg = load_generator(None if path is None else Path(path), device=resolved)
        dehazer = cls(generator, model_cfg, device=resolved, **options)  # type: ignore[arg-type]
        rgb_path = default_checkpoint_path(channels=3)
        if path is None and dehazer.channels == 1 and rgb_path.is_file():
            rgb_generator, rgb_cfg = load_generator(rgb_path, device=resolved)
            dehazer.companion = cls(rgb_generator, rgb_cfg, device=resolved, **options)  # type: ignore[arg-type]
        return dehazer

    @property
    def channels(self) -> int:
        return self.model_cfg.in_channels

    def _generate(self, batch: torch.Tensor) -> torch.Tensor:
        """The generator at this dehazer's strength (strength 1: called exactly as before strength existed)."""
        if self.strength == 1.0:
            return self.generator(batch)
        return self.generator(batch, strength=self.strength)

    def _run_model(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            return self._generate(batch.contiguous(memory_format=torch.channels_last))

    def _whole_image(self, run: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        """``run`` on the whole batch on this dehazer's device, back on the CPU in float32 and checked."""
        with torch.inference_mode():
            output = run(images.float().to(self.device)).float().cpu()
        return clamp_unit(output, "model output")  # never in place; NaN/inf (a bad checkpoint) raise

    def dehaze_tensor(self, images: torch.Tensor) -> torch.Tensor:
        """Model-space call: N×C×H×W in [0, 1] (C = the model's channels, CPU) → same shape, tiled, clamped.

        A whole-image generator (the guided one) sees the whole image at once and is never tiled.
        """
        if self.generator.whole_image:
            return self._whole_image(self._generate, images)
        with torch.inference_mode():
            result = tiled_apply(
                self._run_model,
                images.float(),
                tile=self.tile,
                overlap=self.overlap,
                batch_size=self.batch_size,
                multiple=self.multiple,
                device=self.device,
            )
            value_range(result, "model output")  # NaN/inf (a bad checkpoint) raise instead of turning black
            return result.clamp_(0.0, 1.0)

    def dehaze_video(
        self, source: str | Path, output: str | Path, quiet: bool = True, steady: SteadyConfig | None = None
    ) -> VideoResult:
        """Dehaze a video file into ``output`` (same frame size, rate and count; audio copied; written atomically),
        with the light carried from frame to frame (:mod:`dehaze.video.steady`). Needs the ``video`` extra."""
        return dehaze_video(Path(source), Path(output), self, quiet=quiet, steady=steady)

    def video_frames(self, fps: float, steady: SteadyConfig) -> tuple[FrameFn, SteadyLight | None]:
        """The frame function of a video (uint8 RGB → uint8 RGB): steady light through the guided RGB model (this
        one or the companion), else :meth:`dehaze_array` on each frame (a U-Net, ``time_constant`` 0)."""
        model = self.model_for(3)
        if model is None or not isinstance(model.generator, GuidedGenerator) or steady.time_constant <= 0:
            return self.dehaze_array, None
        return steady_frames(model.generator, model.strength, model.device, self.color == "gray", fps, steady)

    def model_for(self, channels: int) -> Dehazer | None:
        """This dehazer or its companion when one of them has a ``channels``-channel model, else None."""
        if self.channels == channels:
            return self
        if self.companion is not None and self.companion.channels == channels:
            return self.companion
        return None

    def _dehaze_gray(self, gray: torch.Tensor) -> torch.Tensor:
        """1×1×H×W → 1×1×H×W with a gray model (this one or the companion), else the RGB model's luminance."""
        gray_model = self.model_for(1)
        if gray_model is not None:
            return gray_model.dehaze_tensor(gray)
        if isinstance(self.generator, GuidedGenerator):  # one luminance-weighted map: a gray model's cost
            return self._whole_image(lambda batch: self.generator.dehaze_gray(batch, self.strength), gray)
        return luminance(self.dehaze_tensor(gray.expand(1, 3, -1, -1)))

    def _dehaze_colour(self, rgb: torch.Tensor) -> torch.Tensor:
        """1×3×H×W → 1×1×H×W (gray mode) or 1×3×H×W; ``auto`` with only a gray model dehazes per channel."""
        rgb_model = self.model_for(3)
        if self.color == "auto" and rgb_model is not None:
            return rgb_model.dehaze_tensor(rgb)
        if self.channels == 3:
            result = self.dehaze_tensor(rgb)
            return luminance(result) if self.color == "gray" else result
        if self.color == "gray":
            return self.dehaze_tensor(luminance(rgb))
        if self.color in ("per-channel", "auto"):
            return self.dehaze_tensor(rgb.transpose(0, 1)).transpose(0, 1)
        # Full-range BT.601 YCbCr is linear: Cb ∝ B − Y and Cr ∝ R − Y stay fixed exactly when R, G and B all
        # move by the change of Y, so this equals dehazing Y and converting (Y', Cb, Cr) back, without the copies.
        luma = luminance(rgb)
        return (rgb + (self.dehaze_tensor(luma) - luma)).clamp_(0.0, 1.0)

    def dehaze_array(self, image: np.ndarray) -> np.ndarray:
        """H×W or H×W×C (C = 1 or 3) image → dehazed image of the same height and width.

        Float input (in [0, 1]) gives float32 output; uint8 input gives uint8. A 2-D input gives a 2-D output;
        otherwise the result is H×W×1 (gray) or H×W×3.
        """
        array = np.asarray(image)
        is_uint8 = array.dtype == np.uint8
        values = np.divide(array, 255.0, dtype=np.float32) if is_uint8 else array.astype(np.float32, copy=False)
        if values.ndim == 2:
            values = values[..., None]
        if values.ndim != 3 or values.shape[2] not in (1, 3) or min(values.shape[:2]) < 1:
            raise DehazeError(f"expected an H×W, H×W×1 or H×W×3 image, got shape {array.shape}")
        with torch.inference_mode():
            tensor = clamp_unit(array_to_batch(values))  # shares the input's memory (never written) when it can
            if tensor.shape[1] == 3 and self.color == "auto" and is_gray(values):
                result = self._dehaze_gray(tensor[:, :1]).repeat(1, 3, 1, 1)  # a gray scene stays exactly gray
            elif tensor.shape[1] == 3:
                result = self._dehaze_colour(tensor)
            else:
                result = self._dehaze_gray(tensor)
            output = batch_to_array(result)  # no copy: results keep the input's channels-last layout
        if array.ndim == 2:
            output = output[..., 0]
        return to_uint8(output) if is_uint8 else output

    def __call__(self, image: Image.Image | np.ndarray) -> Image.Image | np.ndarray:
        """Dehaze a PIL image (→ PIL "L" or "RGB", 8-bit) or a NumPy array (→ array, see :meth:`dehaze_array`)."""
        if isinstance(image, Image.Image):
            result = self.dehaze_array(pil_to_array(image))
            pixels = to_uint8(result)
            return Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
        return self.dehaze_array(image)
