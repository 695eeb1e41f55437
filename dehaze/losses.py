"""GAN, reconstruction and spectral losses. Every function returns a scalar tensor with the autograd graph."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.metrics import ssim as kornia_ssim

from dehaze.config import ADVERSARIAL_KINDS  # the one list of loss kinds (bounds table in config)
from dehaze.spectrum import azimuthal_power_spectrum


class AdversarialLoss:
    """Critic and generator sides of a GAN loss on raw logits (any shape, averaged over all elements).

    - ``vanilla`` (SGAN): critic ``BCE(real, 1) + BCE(fake, 0)``; generator non-saturating ``BCE(fake, 1)``.
    - ``lsgan``: critic ``mean((real − 1)²) + mean(fake²)``; generator ``mean((fake − 1)²)``.
    - ``hinge``: critic ``mean(relu(1 − real)) + mean(relu(1 + fake))``; generator ``−mean(fake)``.
    """

    def __init__(self, kind: str = "lsgan") -> None:
        if kind not in ADVERSARIAL_KINDS:
            raise ValueError(f"adversarial loss must be one of {ADVERSARIAL_KINDS}, got '{kind}'")
        self.kind = kind

    def critic(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real, fake = real_logits.float(), fake_logits.float()
        if self.kind == "vanilla":
            return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
                fake, torch.zeros_like(fake)
            )
        if self.kind == "lsgan":
            return (real - 1.0).square().mean() + fake.square().mean()
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def generator(self, fake_logits: torch.Tensor) -> torch.Tensor:
        fake = fake_logits.float()
        if self.kind == "vanilla":
            return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
        if self.kind == "lsgan":
            return (fake - 1.0).square().mean()
        return -fake.mean()


def spectral_power_loss(fake: torch.Tensor, real: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """ExaGAN spectral loss: MSE between the logs of the batch mean, plus MSE between the logs of the batch
    variance (population variance, so batch size 1 works), of the azimuthal power spectra ``P(k)``."""
    p_fake, p_real = azimuthal_power_spectrum(fake), azimuthal_power_spectrum(real)
    mean_term = F.mse_loss(torch.log(p_fake.mean(0) + eps), torch.log(p_real.mean(0) + eps))
    var_term = F.mse_loss(torch.log(p_fake.var(0, correction=0) + eps), torch.log(p_real.var(0, correction=0) + eps))
    return mean_term + var_term


def focal_frequency_loss(fake: torch.Tensor, real: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Focal frequency loss (Jiang et al., ICCV 2021), plain version: no patches, no log, per-image weights.

    ``mean(w · |F_fake − F_real|²)`` with the detached weight ``w = |F_fake − F_real|^α`` scaled to [0, 1] by its
    maximum per image and channel (orthonormal FFT).
    """
    diff = torch.fft.fft2(fake.float(), norm="ortho") - torch.fft.fft2(real.float(), norm="ortho")
    distance = diff.real.square() + diff.imag.square()
    weight = distance.detach().sqrt().pow(alpha)
    weight = weight / weight.amax(dim=(-2, -1), keepdim=True).clamp(min=1e-12)
    return (weight.clamp(0.0, 1.0) * distance).mean()


def r1_penalty(real_logits: torch.Tensor, real_input: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ``0.5 · E‖∇ₓ D(x)‖²`` on real data, so ``r1_weight`` is their γ.

    ``real_input`` must have ``requires_grad=True`` before the critic forward that produced ``real_logits``; the
    graph is kept (``create_graph=True``) so the penalty trains the critic.
    """
    (gradient,) = torch.autograd.grad(real_logits.float().sum(), real_input, create_graph=True)
    return 0.5 * gradient.float().square().flatten(1).sum(1).mean()


def feature_matching_loss(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of ``L1(fake, real.detach())``; 0 when there are no features."""
    if len(fake_feats) != len(real_feats):
        raise ValueError(f"feature lists differ in length: {len(fake_feats)} vs {len(real_feats)}")
    if not fake_feats:
        return torch.zeros(())
    losses = [F.l1_loss(f.float(), r.detach().float()) for f, r in zip(fake_feats, real_feats, strict=True)]
    return torch.stack(losses).mean()


def ssim_loss(fake: torch.Tensor, real: torch.Tensor, window_size: int = 11) -> torch.Tensor:
    """``1 − mean SSIM`` (kornia, Gaussian window, data range 1); the window shrinks for tiny images."""
    smallest = min(fake.shape[-2:])
    window = min(window_size, smallest if smallest % 2 else smallest - 1)
    if window < 1:
        raise ValueError(f"image too small for SSIM: {tuple(fake.shape)}")
    return 1.0 - kornia_ssim(fake.float(), real.float(), window, max_val=1.0).mean()
