"""Generator, critics, dual critic and builders: shapes, structure, and the frequency-only gradient test."""

import pytest
import torch
from conftest import random_tensor as _images
from torch import nn

from dehaze.config import CriticConfig, ModelConfig
from dehaze.losses import AdversarialLoss, r1_penalty
from dehaze.models import CriticOutput, DualCritic, FrequencyCritic, GuidedGenerator, PatchCritic, UNetGenerator
from dehaze.models.build import build_critic, build_generator
from dehaze.models.frequency_critic import band_channels
from dehaze.models.unet import straight_through_clamp
from dehaze.spectrum import radial_masks


def _no_max_pool(module: nn.Module) -> bool:
    return not any(isinstance(m, nn.MaxPool2d | nn.AdaptiveMaxPool2d | nn.MaxPool1d) for m in module.modules())


def test_default_generator_is_the_light_whole_scene_one() -> None:
    generator = build_generator(ModelConfig())
    params = sum(p.numel() for p in generator.parameters())
    assert isinstance(generator, GuidedGenerator)
    assert 100_000 <= params <= 1_500_000  # CPU-sized: fast inference, well under 20 MB on disk
    assert _no_max_pool(generator)


def test_unet_generator_is_light_and_has_no_max_pool() -> None:
    generator = build_generator(ModelConfig(arch="unet"))
    params = sum(p.numel() for p in generator.parameters())
    assert 200_000 <= params <= 1_500_000
    assert _no_max_pool(generator)
    assert not any(isinstance(m, nn.InstanceNorm2d | nn.GroupNorm) for m in generator.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in generator.modules())


@pytest.mark.parametrize("size", [(37, 23), (181, 179), (3, 5), (16, 16)])
def test_generator_round_trips_any_size(size: tuple[int, int]) -> None:
    generator = UNetGenerator().eval()
    with torch.no_grad():
        out = generator(_images(1, 1, *size))
    assert out.shape == (1, 1, *size)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
@pytest.mark.parametrize("residual", [True, False])
def test_generator_rgb_variants(norm: str, residual: bool) -> None:
    generator = UNetGenerator(3, 3, base_width=4, depth=3, residual=residual, norm=norm)
    out = generator(_images(2, 3, 20, 13))
    assert out.shape == (2, 3, 20, 13)
    assert out.min() >= 0 and out.max() <= 1
    assert generator.residual is residual


def test_residual_only_when_channel_counts_match() -> None:
    generator = UNetGenerator(1, 3, base_width=4, depth=2, residual=True)
    assert generator.residual is False
    assert generator(_images(2, 1, 9, 9)).shape == (2, 3, 9, 9)


def test_generator_rejects_unknown_norm_and_wrong_channels() -> None:
    with pytest.raises(ValueError):
        UNetGenerator(norm="group")
    with pytest.raises(ValueError):
        UNetGenerator(in_channels=1)(_images(1, 3, 8, 8))


def test_residual_generator_starts_near_identity() -> None:
    generator = UNetGenerator().eval()
    hazy = _images(2, 1, 32, 32) * 0.5 + 0.25
    with torch.no_grad():
        assert (generator(hazy) - hazy).abs().mean() < 0.1


def test_straight_through_clamp_keeps_gradient_outside_range() -> None:
    x = torch.tensor([-0.5, 0.5, 1.5], requires_grad=True)
    y = straight_through_clamp(x)
    assert y.tolist() == [0.0, 0.5, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_patch_critic_shapes_features_and_spectral_norm() -> None:
    critic = PatchCritic(2, width=8, layers=3).eval()  # eval: no power iteration, so repeated calls agree
    logits, features = critic.forward_features(_images(2, 1, 64, 64), _images(2, 1, 64, 64, seed=1))
    assert logits.shape == (2, 1, 8, 8)
    assert len(features) == 4 and all(f.shape[0] == 2 for f in features)
    assert torch.equal(critic(_images(2, 1, 64, 64), _images(2, 1, 64, 64, seed=1)), logits)
    assert any(nn.utils.parametrize.is_parametrized(m) for m in critic.modules())
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in PatchCritic(2, 8, 2, False).modules())
    assert PatchCritic(2, 8, 3)(_images(1, 1, 37, 23), _images(1, 1, 37, 23)).shape[:2] == (1, 1)
    assert _no_max_pool(critic)


def test_band_channels_are_standardised_inside_each_mask_and_zero_outside() -> None:
    log_mag = torch.randn(2, 1, 32, 32) * 3 + 5
    masks = radial_masks(32, 32, (0.1, 0.4))
    bands = band_channels(log_mag, masks)
    assert bands.shape == (2, 3, 32, 32)
    for k in range(3):
        inside = bands[:, k][:, masks[k].bool()]
        assert torch.allclose(inside.mean(1), torch.zeros(2), atol=1e-4)
        assert torch.allclose(inside.std(1, correction=0), torch.ones(2), atol=1e-3)
        assert torch.all(bands[:, k][:, ~masks[k].bool()] == 0)


@pytest.mark.parametrize(("use_phase", "use_condition"), [(False, True), (True, True), (True, False), (False, False)])
def test_frequency_critic_shapes(use_phase: bool, use_condition: bool) -> None:
    critic = FrequencyCritic(1, width=8, use_phase=use_phase, use_condition=use_condition)
    logits, features = critic.forward_features(_images(3, 1, 33, 20), _images(3, 1, 33, 20, seed=1))
    assert logits.shape == (3, 1)
    assert [f.shape[-2:] for f in features] == [(8, 3), (4, 2), (4, 2)]  # one-sided 33×11 spectrum, stride 4, 2
    assert _no_max_pool(critic)
    assert critic(_images(1, 1, 2, 2), _images(1, 1, 2, 2)).shape == (1, 1)  # tiny images still give a logit


def test_frequency_critic_computes_the_hazy_spectrum_once_per_batch(monkeypatch) -> None:
    """The condition's channels are reused for the same, unmodified hazy tensor (critic and generator step) and
    recomputed for a new or modified one; reuse gives the same logits as a fresh critic."""
    critic = FrequencyCritic(1, width=4).eval()
    hazy, candidate = _images(2, 1, 16, 16), _images(2, 1, 16, 16, seed=1)
    calls = []
    original = critic.spectral_input
    monkeypatch.setattr(critic, "spectral_input", lambda image: calls.append(image) or original(image))
    first = critic(hazy, candidate)
    assert torch.equal(critic(hazy, candidate), first) and len(calls) == 3  # candidate twice, hazy once
    hazy.mul_(0.5)  # modified in place: recomputed
    halved = critic(hazy, candidate)
    assert not torch.allclose(halved, first) and len(calls) == 5
    assert torch.equal(critic(hazy.clone(), candidate), halved) and len(calls) == 7  # another tensor: recomputed


def test_spatial_critic_downsample_judges_the_area_averaged_pair() -> None:
    torch.manual_seed(0)
    critic = PatchCritic(2, width=4, layers=2, downsample=2).eval()
    plain = PatchCritic(2, width=4, layers=2).eval()
    plain.load_state_dict(critic.state_dict())
    hazy, candidate = _images(1, 1, 32, 32), _images(1, 1, 32, 32, seed=1)
    pooled = torch.nn.functional.avg_pool2d
    assert torch.allclose(critic(hazy, candidate), plain(pooled(hazy, 2), pooled(candidate, 2)), atol=1e-6)
    assert critic(hazy, candidate).shape == (1, 1, 4, 4)
    assert critic(_images(1, 1, 4, 4), _images(1, 1, 4, 4)).shape == (1, 1, 1, 1)  # capped: 2**layers px remain


def test_frequency_critic_sees_the_hazy_condition() -> None:
    critic = FrequencyCritic(1, width=8, use_condition=True)
    candidate = _images(2, 1, 16, 16)
    a = critic(_images(2, 1, 16, 16, seed=1), candidate)
    b = critic(_images(2, 1, 16, 16, seed=2), candidate)
    assert not torch.allclose(a, b)


def test_build_critic_lambda_one_builds_no_frequency_critic() -> None:
    critic = build_critic(CriticConfig(spatial_weight=1.0, spatial_width=8), channels=1)
    assert critic.frequency is None and isinstance(critic.spatial, PatchCritic)
    assert not any(isinstance(m, FrequencyCritic) for m in critic.modules())
    out = critic(_images(2, 1, 32, 32), _images(2, 1, 32, 32, seed=1))
    assert out.frequency is None and torch.equal(out.logits, out.spatial)


def test_build_critic_lambda_zero_builds_no_spatial_critic() -> None:
    critic = build_critic(CriticConfig(spatial_weight=0.0, frequency_width=8), channels=1)
    assert critic.spatial is None and isinstance(critic.frequency, FrequencyCritic)
    assert not any(isinstance(m, PatchCritic) for m in critic.modules())
    out = critic(_images(2, 1, 32, 32), _images(2, 1, 32, 32, seed=1))
    assert out.spatial is None and out.logits.shape == (2, 1, 1, 1)
    assert torch.equal(out.logits.flatten(), out.frequency.flatten())


@pytest.mark.parametrize("weight", [0.5, 0.25])
def test_combined_logits_are_weighted_sum(weight: float) -> None:
    critic = build_critic(CriticConfig(spatial_weight=weight, spatial_width=8, frequency_width=8), channels=1).eval()
    hazy, candidate = _images(2, 1, 32, 32), _images(2, 1, 32, 32, seed=1)
    out = critic(hazy, candidate)
    assert isinstance(out, CriticOutput)
    spatial, frequency = critic.spatial(hazy, candidate), critic.frequency(hazy, candidate)
    expected = weight * spatial + (1 - weight) * frequency[:, :, None, None]
    assert out.logits.shape == spatial.shape
    assert torch.allclose(out.logits, expected, atol=1e-6)
    assert torch.allclose(out.spatial, spatial) and torch.allclose(out.frequency, frequency)
    assert len(out.features) == 4 + 3


def test_dual_critic_validates_weight_and_parts() -> None:
    with pytest.raises(ValueError):
        DualCritic(PatchCritic(2, 8), None, 0.5)
    with pytest.raises(ValueError):
        DualCritic(None, FrequencyCritic(1, 8), 1.0)
    with pytest.raises(ValueError):
        DualCritic(PatchCritic(2, 8), FrequencyCritic(1, 8), 1.5)


def test_build_generator_follows_config() -> None:
    generator = build_generator(
        ModelConfig(arch="unet", in_channels=3, out_channels=3, base_width=4, depth=2, norm="none")
    )
    assert generator.in_channels == 3 and generator.depth == 2 and generator.residual
    assert not any(isinstance(m, nn.BatchNorm2d) for m in generator.modules())


@pytest.mark.parametrize("arch", ["guided", "unet"])
@pytest.mark.parametrize("kind", ["lsgan", "vanilla", "hinge"])
def test_frequency_only_critic_gives_generator_finite_nonzero_gradients(kind: str, arch: str) -> None:
    """THE key test: with λ = 0 the generator learns through the FFT path alone (no L1, no spatial critic)."""
    torch.manual_seed(0)
    generator = build_generator(ModelConfig(arch=arch))
    critic = build_critic(CriticConfig(spatial_weight=0.0), channels=1)
    hazy = _images(4, 1, 32, 32)
    loss = AdversarialLoss(kind).generator(critic(hazy, generator(hazy)).logits)
    loss.backward()
    for name, param in generator.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_dual_critic_trains_both_parts_and_supports_r1() -> None:
    critic = build_critic(CriticConfig(spatial_weight=0.5, spatial_width=8, frequency_width=8), channels=1)
    hazy = _images(2, 1, 32, 32)
    real = _images(2, 1, 32, 32, seed=1).requires_grad_(True)
    fake = _images(2, 1, 32, 32, seed=2)
    real_out, fake_out = critic(hazy, real), critic(hazy, fake)
    loss = AdversarialLoss("lsgan").critic(real_out.logits, fake_out.logits) + r1_penalty(real_out.logits, real)
    loss.backward()
    for name, param in critic.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_asm_head_inverts_the_scattering_model_it_predicts() -> None:
    torch.manual_seed(0)
    generator = UNetGenerator(1, 1, base_width=4, depth=2, head="asm").eval()
    hazy = torch.rand(2, 1, 20, 28)
    with torch.no_grad():
        out = generator(hazy)
        assert (out - hazy).abs().mean() < 0.05  # starts near the identity (t ≈ 0.98)
        # set the head to a constant t = 0.5, A = 0.8: the output must be the exact ASM inverse
        generator.head.weight.zero_()
        generator.head.bias.copy_(
            torch.tensor([torch.logit(torch.tensor((0.5 - 0.05) / 0.95)), torch.logit(torch.tensor(0.8))])
        )
        expected = ((hazy - 0.8) / 0.5 + 0.8).clamp(0, 1)
        assert torch.allclose(generator(hazy), expected, atol=1e-5)
    with pytest.raises(ValueError, match="asm"):
        UNetGenerator(1, 3, base_width=4, depth=2, head="asm")


def test_one_pass_over_real_and_fake_equals_two_passes() -> None:
    torch.manual_seed(0)
    critic = build_critic(CriticConfig(spatial_weight=0.5, spatial_width=4, frequency_width=4), 1).eval()
    hazy, real, fake = torch.rand(3, 2, 1, 32, 32)
    with torch.no_grad():
        for condition in (torch.cat([hazy, hazy]), hazy):  # the hazy batch repeated, or given once
            both = critic(condition, torch.cat([real, fake]))
            first, second = both.split(2)
            for part, candidate in ((first, real), (second, fake)):
                alone = critic(hazy, candidate)
                for name in ("logits", "spatial", "frequency"):
                    assert torch.allclose(getattr(part, name), getattr(alone, name), atol=1e-6), name


@pytest.mark.parametrize("arch", ["guided", "unet"])
def test_both_generators_declare_the_generator_contract(arch: str) -> None:
    from dehaze.models.generator import Generator

    model = build_generator(ModelConfig(arch=arch))
    assert isinstance(model, Generator)
    assert model.whole_image is (arch == "guided")
    assert model.multiple == (1 if arch == "guided" else 2 ** ModelConfig().depth)
    assert model.in_channels == model.out_channels == 1


def test_detached_spectrum_gives_the_candidate_no_gradient_but_the_critic_still_learns() -> None:
    hazy = _images(1, 1, 16, 16)
    grads = {}
    for detach in (False, True):
        critic = FrequencyCritic(1, width=8, detach_spectrum=detach)
        candidate = _images(1, 1, 16, 16, seed=1).requires_grad_(True)
        critic(hazy, candidate).sum().backward()
        grads[detach] = candidate.grad
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters() if p.requires_grad)
    assert grads[False] is not None and grads[False].abs().sum() > 0
    assert grads[True] is None
