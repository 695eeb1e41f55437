"""Fully convolutional U-Net generator: strided convolutions down, bilinear upsampling + convolution up."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dehaze.config import MODEL_CHOICES, UNetConfig

NORMS = MODEL_CHOICES["norm"]
MAX_WIDTH_FACTOR = 8  # channel widths stop doubling at base_width * 8
HEAD_INIT_SCALE = 0.1


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


def _conv_block(in_channels: int, out_channels: int, norm: str, stride: int = 1) -> nn.Sequential:
    """3×3 convolution (stride 1 or 2) → norm → LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=norm == "none"),
        _norm(norm, out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    )


def straight_through_clamp(x: torch.Tensor, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """Clamp in the forward pass, identity gradient in the backward pass (pixels outside the range still learn)."""
    return x + (x.clamp(low, high) - x).detach()


def pad_to_multiple(image: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Pad N×C×H×W (centred; reflect, or replicate when too small) to multiples of ``multiple``.

    Returns the padded tensor and the (top, left) offsets of the image inside it.
    """
    height, width = image.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h == 0 and pad_w == 0:
        return image, 0, 0
    pads = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    mode = "reflect" if max(pads[0], pads[1]) < width and max(pads[2], pads[3]) < height else "replicate"
    return F.pad(image, pads, mode=mode), pads[2], pads[0]


HEADS = MODEL_CHOICES["head"]
T_MIN = 0.05  # lowest transmission the "asm" head can predict


class UNetGenerator(nn.Module):
    """U-Net mapping a hazy image to a clean one, any H×W, output in [0, 1].

    The input is padded (reflect, or replicate when the image is smaller than the pad) to a multiple of
    ``2**depth`` and the output cropped back. ``norm="batch"`` is the default because per-sample norms (instance)
    make tiled inference inconsistent between tiles. Two output heads:

    - ``"image"``: with ``residual`` (used only when ``in_channels == out_channels``)
      ``out = clamp(hazy + tanh(x))``, the clamp straight-through so no pixel loses its gradient; otherwise
      ``out = sigmoid(x)``.
    - ``"asm"`` (physics head, needs ``in_channels == out_channels``): the network predicts a transmission map
      ``t ∈ [T_MIN, 1]`` and an airlight map ``A ∈ [0, 1]`` (one per channel) and inverts the scattering model,
      ``out = clamp((hazy − A) / t + A)``. The formula carries the division that an image head must learn, which
      helps small models and extrapolates to denser haze.
    """

    def __init__(
        self,
        in_channels: int = UNetConfig.in_channels,
        out_channels: int = UNetConfig.out_channels,
        base_width: int = UNetConfig.base_width,
        depth: int = UNetConfig.depth,
        residual: bool = UNetConfig.residual,
        norm: str = UNetConfig.norm,
        head: str = UNetConfig.head,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got '{norm}'")
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got '{head}'")
        if head == "asm" and in_channels != out_channels:
            raise ValueError("the 'asm' head needs in_channels == out_channels")
        self.head_kind = head
        if depth < 1 or base_width < 1:
            raise ValueError("depth and base_width must be >= 1")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.depth = depth
        self.residual = residual and in_channels == out_channels
        widths = [base_width * min(2**level, MAX_WIDTH_FACTOR) for level in range(depth + 1)]
        self.stem = nn.Sequential(_conv_block(in_channels, widths[0], norm), _conv_block(widths[0], widths[0], norm))
        self.down = nn.ModuleList(
            nn.Sequential(
                _conv_block(widths[i], widths[i + 1], norm, stride=2), _conv_block(widths[i + 1], widths[i + 1], norm)
            )
            for i in range(depth)
        )
        self.up_conv = nn.ModuleList(_conv_block(widths[i + 1], widths[i], norm) for i in range(depth))
        self.merge = nn.ModuleList(_conv_block(2 * widths[i], widths[i], norm) for i in range(depth))
        self.head = nn.Conv2d(widths[0], out_channels + (1 if head == "asm" else 0), 1)
        with torch.no_grad():  # start close to the identity (residual, asm) / mid-grey (sigmoid), never exactly flat
            self.head.weight.mul_(HEAD_INIT_SCALE)
            self.head.bias.zero_()
            if head == "asm":
                self.head.bias[0] = 4.0  # t ≈ 0.98: output ≈ input
                self.head.bias[1:] = 1.5  # A ≈ 0.82

    @property
    def scales_strength(self) -> bool:
        """Whether ``forward`` takes a strength other than 1 (the residual and asm heads do)."""
        return self.head_kind == "asm" or self.residual

    whole_image = False  # fully convolutional: inference may tile it (see dehaze.models.generator.Generator)

    @property
    def multiple(self) -> int:
        """Input sizes are padded internally to a multiple of this."""
        return 2**self.depth

    def forward(self, hazy: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """``strength`` scales the haze removed in the head's own terms: the residual (``hazy + S·r``) or the optical
        depth (``t → t^S``); 0 returns the input. The plain image head has no such term and takes only 1."""
        if hazy.dim() != 4 or hazy.shape[1] != self.in_channels:
            raise ValueError(f"expected N×{self.in_channels}×H×W input, got shape {tuple(hazy.shape)}")
        height, width = hazy.shape[-2:]
        x, top, left = pad_to_multiple(hazy, self.multiple)
        x = self.stem(x)
        skips = []
        for down in self.down:
            skips.append(x)
            x = down(x)
        for level in reversed(range(self.depth)):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = self.merge[level](torch.cat([self.up_conv[level](x), skips[level]], dim=1))
        head = self.head(x)[..., top : top + height, left : left + width]
        if self.head_kind == "asm":
            transmission = T_MIN + (1.0 - T_MIN) * torch.sigmoid(head[:, :1])
            if strength != 1.0:
                transmission = transmission**strength
            airlight = torch.sigmoid(head[:, 1:])
            return straight_through_clamp((hazy - airlight) / transmission + airlight)
        if self.residual:
            residual = torch.tanh(head)
            return straight_through_clamp(hazy + (residual if strength == 1.0 else strength * residual))
        if strength != 1.0:
            raise ValueError("strength other than 1 needs a U-Net with a residual or asm head")
        return torch.sigmoid(head)
