"""The real branch's no-reference priors: the flat-region detail term is the scorecard's artefact gain, in torch."""

from __future__ import annotations

import numpy as np
import torch

from dehaze.config import CriticConfig, RealHazeConfig
from dehaze.metrics.no_reference import artefact_gain
from dehaze.models.guided import GuidedGenerator
from dehaze.train.real_branch import RealHazeBranch
from dehaze.train.real_priors import flat_detail, flat_detail_excess, flat_mask


def _foggy(seed: int = 0, size: int = 48) -> torch.Tensor:
    """A sky (flat, faint grain) over textured ground, 1×3×size×size."""
    rng = torch.Generator().manual_seed(seed)
    image = 0.8 + 0.005 * torch.randn(1, 3, size, size, generator=rng)
    image[..., size // 2 :, :] = 0.4 + 0.1 * torch.rand(1, 3, size // 2, size, generator=rng)
    return image.clamp(0, 1)


def test_flat_detail_gain_matches_the_scorecards_artefact_gain() -> None:
    hazy = _foggy()
    output = (1.8 * hazy - 0.5).clamp(0, 1)  # a 1/t gain of 1.8 amplifies the sky's grain
    mask = flat_mask(hazy)
    ours = float(flat_detail(output, mask) / flat_detail(hazy, mask))
    as_array = [x[0].permute(1, 2, 0).numpy().astype(np.float32) for x in (output, hazy)]
    assert abs(ours - artefact_gain(*as_array)) < 0.05 * ours  # reflect padding differs by one row at the borders
    assert ours > 1.5


def test_flat_detail_excess_is_zero_at_the_teachers_grain_and_grows_beyond() -> None:
    hazy = _foggy(1)
    teacher = (1.3 * hazy - 0.2).clamp(0, 1)
    assert flat_detail_excess(teacher, teacher, hazy).item() == 0.0
    assert flat_detail_excess(hazy, teacher, hazy).item() == 0.0  # smoother than the teacher: no penalty
    grainier = 1.3 * hazy - 0.2 + 0.02 * torch.randn(hazy.shape, generator=torch.Generator().manual_seed(2))
    assert flat_detail_excess(grainier, teacher, hazy).item() > 0.5


def test_flat_detail_term_trains_the_generator() -> None:
    generator = GuidedGenerator(3, width=4, view_size=16)
    cfg = RealHazeConfig(flat_detail_weight=5.0, teacher_weight=0.0)
    branch = RealHazeBranch(generator, CriticConfig(spatial_width=4, frequency_width=4), cfg, "lsgan", 1e-3)
    with torch.no_grad():  # a generator that has drifted from its teacher
        for parameter in generator.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    hazy = torch.cat([_foggy(3), _foggy(4)])
    loss, logs = branch.generator_loss(generator, hazy, generator(hazy))
    assert "real_flat" in logs
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())
