"""No-reference priors of the real-photo branch: what a dehazed real photo must not do, with no ground truth.

- :func:`below_zero`: output pushed below 0 before the clamp (the straight-through clamp hides crushed shadows from
  every other loss);
- :func:`light_inconsistency`: the light change the model applies must not move under a small shift and noise;
- :func:`flat_detail_excess`: fine detail in the input's flat regions amplified beyond the teacher's. It is the
  scorecard's artefact gain (:mod:`dehaze.metrics.no_reference`: the flattest quarter of the input by 5×5 luma
  standard deviation, detail = image minus its 5×5 box mean, RMS of Y plus twice each chroma plane), made
  differentiable on training crops; the scorecard measures it on ``real_val``, which the branch never trains on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dehaze.models.guided import GuidedGenerator, resize_to, view_size_for

DETAIL_SIZE = 5
FLAT_QUANTILE = 0.25
CHROMA_WEIGHT = 2.0
YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def view_output(generator: GuidedGenerator, view: torch.Tensor) -> torch.Tensor:
    """The generator's output on its own view, before the clamp (the maps it applies at full resolution)."""
    slope, offset = generator.view_maps(view)
    return slope * view + offset


def below_zero(output: torch.Tensor) -> torch.Tensor:
    """Mean amount by which ``output`` goes below 0."""
    return F.relu(-output).mean()


def shifted_pair(hazy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views of the same crops, shifted against each other by 2–8 px, the second with noise σ 0.01.

    The shift and noise are drawn from a generator seeded by the batch itself, so ``--resume`` stays exact."""
    seed = int(hazy.double().sum().item() * 1e6) % (2**31 - 1)
    rng = torch.Generator().manual_seed(seed)
    shift = int(torch.randint(2, 9, (1,), generator=rng))
    first, second = hazy[..., shift:, shift:], hazy[..., :-shift, :-shift]
    noise = torch.randn(second.shape, generator=rng).to(second) * 0.01
    return first, (second + noise).clamp(0.0, 1.0)


def light_change(generator: GuidedGenerator, hazy: torch.Tensor) -> torch.Tensor:
    """Per photo and channel: mean output (before the clamp) minus mean input, on the generator's view."""
    view = resize_to(hazy, view_size_for(*hazy.shape[-2:], generator.view_size))
    return (view_output(generator, view) - view).mean(dim=(2, 3))


def light_inconsistency(generator: GuidedGenerator, hazy: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of :func:`light_change` between two shifted, noisy copies of the crops."""
    first, second = shifted_pair(hazy)
    return (light_change(generator, first) - light_change(generator, second)).abs().mean()


def _box(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(F.pad(x, [DETAIL_SIZE // 2] * 4, mode="reflect"), DETAIL_SIZE, stride=1)


def _planes(image: torch.Tensor) -> torch.Tensor:
    """N×3×H×W YCbCr (BT.601, chroma centred on 0) of an RGB batch; a gray batch is its own luma."""
    if image.shape[1] == 1:
        return image
    return torch.einsum("oc,nchw->nohw", image.new_tensor(YCBCR), image)


def flat_mask(hazy: torch.Tensor) -> torch.Tensor:
    """N×1×H×W: each crop's flattest pixels, local (5×5) luma standard deviation in its lowest quartile."""
    luma = _planes(hazy)[:, :1]
    mean = _box(luma)
    std = (_box(luma * luma) - mean * mean).clamp(min=0.0).sqrt()
    threshold = std.flatten(1).quantile(FLAT_QUANTILE, dim=1).view(-1, 1, 1, 1)
    return (std <= threshold).to(hazy.dtype)


def flat_detail(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per crop: RMS of the fine detail over ``mask``, luma plus ``CHROMA_WEIGHT`` × each chroma plane."""
    planes = _planes(image)
    detail = planes - _box(planes)
    rms = ((detail.square() * mask).sum(dim=(2, 3)) / mask.sum(dim=(2, 3)).clamp(min=1.0) + 1e-12).sqrt()
    weights = rms.new_tensor([1.0] + [CHROMA_WEIGHT] * (planes.shape[1] - 1))
    return (rms * weights).sum(dim=1)


def flat_detail_excess(output: torch.Tensor, teacher: torch.Tensor, hazy: torch.Tensor) -> torch.Tensor:
    """Mean over crops of how far the output's flat-region detail exceeds the teacher's, relative to the input's
    (the artefact gain's excess over the teacher's: 0 when the output is no grainier than the teacher)."""
    with torch.no_grad():
        mask = flat_mask(hazy)
        base = flat_detail(hazy, mask).clamp(min=1e-3)
        reference = flat_detail(teacher, mask)
    return F.relu((flat_detail(output, mask) - reference) / base).mean()
