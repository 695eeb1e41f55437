"""The network that reads the view: a low-resolution encoder-decoder whose head predicts the correction maps, a global
branch and head for image-level estimates, and the plain image statistics that head may also read."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

HEAD_INIT_STD = 1e-3
DARK_QUANTILES = (0.1, 0.5, 0.9, 0.99)


def image_statistics_count(channels: int) -> int:
    """How many values :func:`image_statistics` gives for a ``channels``-channel view."""
    return 4 * channels + len(DARK_QUANTILES) + 3


def image_statistics(
    view: torch.Tensor, dark: torch.Tensor, airlight: torch.Tensor, transmission: torch.Tensor, dehazed: torch.Tensor
) -> torch.Tensor:
    """Plain image-level cues of the global light, N×S, each mapped to about [−1, 1]: channel means and spreads,
    dark-channel quantiles, the brightest-pixel airlight per channel, the mean and spread of the transmission, the
    prior's dehazed means and the view's brightest luminance (what a ridge corrector of the global light reads)."""
    flat_dark = dark.flatten(1)
    quantiles = torch.quantile(flat_dark, torch.tensor(DARK_QUANTILES, dtype=view.dtype, device=view.device), dim=1)
    brightest = view.mean(dim=1).flatten(1).amax(dim=1, keepdim=True)
    values = [
        view.mean(dim=(2, 3)),
        2.0 * view.std(dim=(2, 3)),
        quantiles.t(),
        airlight.flatten(1),
        transmission.mean(dim=(1, 2, 3))[:, None],
        2.0 * transmission.std(dim=(1, 2, 3))[:, None],
        dehazed.mean(dim=(2, 3)),
        brightest,
    ]
    return (torch.cat(values, dim=1) * 2.0 - 1.0).detach()


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.LeakyReLU(0.2, inplace=True))


class CoefficientNet(nn.Module):
    """Low-resolution encoder–decoder with a global branch (image-level FiLM) → ``1 + C`` correction maps."""

    def __init__(
        self, in_channels: int, out_channels: int, width: int, global_outputs: int = 0, statistics: int = 0
    ) -> None:
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        pooled = w3 + statistics  # pooled deepest features, then the image statistics handed in (if any)
        self.enc1 = nn.Sequential(_conv(in_channels, w1), _conv(w1, w1))
        self.enc2 = nn.Sequential(_conv(w1, w2, 2), _conv(w2, w2))
        self.enc3 = nn.Sequential(_conv(w2, w3, 2), _conv(w3, w3))
        self.global_branch = nn.Sequential(
            nn.Linear(pooled, w3), nn.LeakyReLU(0.2, inplace=True), nn.Linear(w3, 2 * w3)
        )
        self.dec2 = _conv(w3 + w2, w2)
        self.dec1 = _conv(w2 + w1, w1)
        self.head = nn.Conv2d(w1, out_channels, 3, padding=1)
        # image-level estimates (airlight and haze density corrections) from the pooled deepest features
        self.global_head = nn.Linear(pooled, global_outputs) if global_outputs else None
        for layer in (self.global_branch[-1], self.head, self.global_head):  # near zero: starts as the smooth DCP
            if layer is not None:
                nn.init.normal_(layer.weight, std=HEAD_INIT_STD)
                nn.init.zeros_(layer.bias)

    def forward(
        self, x: torch.Tensor, statistics: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Correction maps (N×out×h×w) and the image-level estimates (N×global_outputs, None without them);
        ``statistics`` (N×S) join the pooled features that the global branch and head read."""
        f1 = self.enc1(x)
        f2 = self.enc2(f1)
        f3 = self.enc3(f2)
        pooled = f3.mean(dim=(2, 3))
        if statistics is not None:
            pooled = torch.cat([pooled, statistics], dim=1)
        scale, shift = self.global_branch(pooled).chunk(2, dim=1)
        f3 = f3 * (1.0 + scale[..., None, None]) + shift[..., None, None]
        up2 = F.interpolate(f3, size=f2.shape[-2:], mode="bilinear", align_corners=False)
        d2 = self.dec2(torch.cat([up2, f2], dim=1))
        up1 = F.interpolate(d2, size=f1.shape[-2:], mode="bilinear", align_corners=False)
        maps = self.head(self.dec1(torch.cat([up1, f1], dim=1)))
        return maps, (self.global_head(pooled) if self.global_head is not None else None)
