"""Layers shared by the critics: optional spectral normalisation and the strided conv + LeakyReLU block."""

from __future__ import annotations

from torch import nn


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Wrap a conv/linear layer in spectral normalisation when ``enabled``."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


def critic_block(cin: int, cout: int, kernel: int, stride: int, padding: int, spectral_norm: bool) -> nn.Sequential:
    """Convolution (spectrally normalised when asked) → LeakyReLU(0.2); no normalisation layer."""
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding)
    return nn.Sequential(maybe_spectral_norm(conv, spectral_norm), nn.LeakyReLU(0.2))
