"""Every loss on inputs with a known value."""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import random_tensor as _images

from dehaze.losses import (
    AdversarialLoss,
    feature_matching_loss,
    focal_frequency_loss,
    r1_penalty,
    spectral_power_loss,
    ssim_loss,
)


def _full(value: float) -> torch.Tensor:
    return torch.full((4, 1, 3, 3), value)


def test_lsgan_known_values() -> None:
    loss = AdversarialLoss("lsgan")
    assert loss.critic(_full(1.0), _full(0.0)).item() == 0.0
    assert loss.critic(_full(0.0), _full(1.0)).item() == pytest.approx(2.0)
    assert loss.critic(_full(0.5), _full(0.5)).item() == pytest.approx(0.5)
    assert loss.generator(_full(1.0)).item() == 0.0
    assert loss.generator(_full(-1.0)).item() == pytest.approx(4.0)


def test_hinge_known_values() -> None:
    loss = AdversarialLoss("hinge")
    assert loss.critic(_full(1.0), _full(-1.0)).item() == 0.0
    assert loss.critic(_full(3.0), _full(-2.0)).item() == 0.0  # saturated margins
    assert loss.critic(_full(0.0), _full(0.0)).item() == pytest.approx(2.0)
    assert loss.critic(_full(-0.5), _full(0.5)).item() == pytest.approx(3.0)
    assert loss.generator(_full(0.5)).item() == pytest.approx(-0.5)


def test_vanilla_is_bce_with_logits() -> None:
    loss = AdversarialLoss("vanilla")
    assert loss.critic(_full(0.0), _full(0.0)).item() == pytest.approx(2 * math.log(2))
    assert loss.generator(_full(0.0)).item() == pytest.approx(math.log(2))
    x = 1.3
    assert loss.generator(_full(x)).item() == pytest.approx(math.log1p(math.exp(-x)), rel=1e-5)
    assert loss.critic(_full(x), _full(-x)).item() == pytest.approx(2 * math.log1p(math.exp(-x)), rel=1e-5)
    real, fake = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    expected = F.binary_cross_entropy(torch.sigmoid(real), torch.ones_like(real)) + F.binary_cross_entropy(
        torch.sigmoid(fake), torch.zeros_like(fake)
    )
    assert loss.critic(real, fake).item() == pytest.approx(expected.item(), rel=1e-5)


def test_adversarial_loss_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError):
        AdversarialLoss("wgan")


def test_adversarial_losses_accept_half_precision_logits() -> None:
    assert AdversarialLoss("lsgan").generator(_full(0.0).bfloat16()).dtype == torch.float32


def test_spectral_power_loss_is_zero_for_identical_batches_and_positive_otherwise() -> None:
    real = _images(4, 1, 16, 16)
    assert spectral_power_loss(real.clone(), real).item() == pytest.approx(0.0, abs=1e-10)
    assert spectral_power_loss(_images(4, 1, 16, 16, seed=1), real).item() > 0
    blurred = F.avg_pool2d(real, 3, stride=1, padding=1, count_include_pad=False)
    assert spectral_power_loss(blurred, real).item() > 0


def test_spectral_power_loss_known_value_for_scaled_batch() -> None:
    """Scaling images by 2 multiplies P(k) by 4: mean term (log 4)², variance term (log 16)² in every bin."""
    real = _images(4, 1, 16, 16)
    expected = math.log(4) ** 2 + math.log(16) ** 2
    assert spectral_power_loss(2 * real, real).item() == pytest.approx(expected, rel=1e-4)


def test_spectral_power_loss_is_differentiable() -> None:
    fake = _images(3, 1, 15, 12).requires_grad_(True)
    spectral_power_loss(fake, _images(3, 1, 15, 12, seed=1)).backward()
    assert torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0


def test_focal_frequency_loss_known_values() -> None:
    real = _images(2, 1, 8, 8)
    assert focal_frequency_loss(real.clone(), real).item() == 0.0
    # a constant offset c only changes DC: |ΔF(0)|² = c²·HW with weight 1, every other frequency is 0 → mean c²
    assert focal_frequency_loss(real + 0.3, real).item() == pytest.approx(0.09, rel=1e-4)
    fake = _images(2, 1, 8, 8, seed=1).requires_grad_(True)
    loss = focal_frequency_loss(fake, real)
    loss.backward()
    assert loss.item() > 0 and fake.grad.abs().sum() > 0


def test_r1_of_linear_critic_is_analytic() -> None:
    w = torch.randn(1, 2, 3, 3, requires_grad=True)
    x = torch.randn(5, 2, 3, 3, requires_grad=True)
    logits = (x * w).sum(dim=(1, 2, 3)) + 0.7  # ∇ₓ D = w for every sample
    penalty = r1_penalty(logits, x)
    assert penalty.item() == pytest.approx(0.5 * w.square().sum().item(), rel=1e-5)
    penalty.backward()  # create_graph: the penalty trains the critic, d/dw ½‖w‖² = w
    assert torch.allclose(w.grad, w.detach())


def test_r1_of_convolutional_map_critic() -> None:
    conv = torch.nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(0.5)
    x = torch.rand(3, 1, 4, 4, requires_grad=True)
    assert r1_penalty(conv(x), x).item() == pytest.approx(0.5 * 0.25 * 16)


def test_feature_matching_known_value_and_real_side_is_detached() -> None:
    fake = [torch.zeros(2, 3, 4, 4, requires_grad=True), torch.ones(2, 1, 2, 2, requires_grad=True)]
    real = [torch.full((2, 3, 4, 4), 2.0, requires_grad=True), torch.full((2, 1, 2, 2), 0.5, requires_grad=True)]
    loss = feature_matching_loss(fake, real)
    assert loss.item() == pytest.approx((2.0 + 0.5) / 2)
    loss.backward()
    assert all(r.grad is None for r in real)
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in fake)
    assert feature_matching_loss([], []).item() == 0.0
    with pytest.raises(ValueError):
        feature_matching_loss(fake, real[:1])


def test_ssim_loss_values() -> None:
    real = _images(2, 1, 24, 24)
    assert ssim_loss(real.clone(), real).item() == pytest.approx(0.0, abs=1e-5)
    noisy = (real + 0.2 * torch.randn_like(real)).clamp(0, 1)
    worse = (real + 0.5 * torch.randn_like(real)).clamp(0, 1)
    assert 0 < ssim_loss(noisy, real).item() < ssim_loss(worse, real).item() <= 2
    tiny = _images(1, 1, 5, 4)
    assert torch.isfinite(ssim_loss(tiny, tiny.flip(-1)))
