"""The guided generator in operations that export to ONNX with a dynamic height and width.

:class:`~dehaze.models.guided.GuidedGenerator` computes its 48-px view size, the dark channel prior's candidate
count and its full-resolution strips with Python arithmetic on the image size, which an exporter freezes to the
size it traced. Here every size-dependent step is tensor arithmetic on the input's shape:

- the resize to the view is two matrices, ``R_h · image · R_wᵀ``, whose rows hold exactly the weights of
  ``F.interpolate`` (``area`` when both sides shrink, else ``bilinear``, ``align_corners=False``); along the
  photo's height only each view row's own window of rows is read (a gather, then one short weighted sum per view
  row), not the whole height: a dense ``R_h`` product costs a multiply-add per view row (48 or more) for every
  photo pixel;
- the airlight takes a fixed number of dark-channel candidates (the most any view can need) and masks the ranks
  beyond the image's own count;
- the full-resolution structure filter is two average pools (windows clipped at the borders) instead of strips,
  and the maps are enlarged by ONNX ``Resize`` (bilinear, ``half_pixel``: PyTorch's own sampling, a 1-px-wide
  output at the map's centre), which cost onnxruntime less than a product of two matrices (``docs/results.md``).

The network, the prior and the coefficient maps are the generator's own methods, strength above 1 included
(:func:`~dehaze.models.strength.keep_light`'s guided filter is :func:`~dehaze.dcp.box_mean`'s cumulative sums, the
shadow floor two pools); outputs equal the generator's to float rounding (``tests/test_export.py``).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from dehaze.dcp import dark_channel
from dehaze.models.guided import AIRLIGHT_FLOOR, MAX_ASPECT, GuidedGenerator

TOP_FRACTION = 1e-3  # dehaze.dcp.atmospheric_light's default share of dark-channel candidates


def view_size_tensor(shape: torch.Tensor, short_side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`~dehaze.models.guided.view_size_for` on a shape tensor (…, H, W), in the same float64 steps."""
    height, width = shape[-2], shape[-1]
    scale = short_side / torch.minimum(height, width).to(torch.float64)
    cap = round(short_side * MAX_ASPECT)
    view_h = torch.round(height.to(torch.float64) * scale).clamp(short_side, cap).to(torch.int64)
    view_w = torch.round(width.to(torch.float64) * scale).clamp(short_side, cap).to(torch.int64)
    return view_h, view_w


def resize_matrix(length: torch.Tensor, size: torch.Tensor, shrink: torch.Tensor) -> torch.Tensor:
    """``size × length`` weights of a resize along one axis: box means (``area``) when ``shrink``, else bilinear."""
    source = torch.arange(length)[None, :]
    target = torch.arange(size)[:, None]
    start = (target * length) // size  # adaptive average pooling's windows
    stop = ((target + 1) * length + size - 1) // size
    inside = torch.logical_and(source >= start, source < stop)
    area = inside.to(torch.float32) / (stop - start).to(torch.float32)
    position = ((target.to(torch.float32) + 0.5) * (length.to(torch.float32) / size.to(torch.float32)) - 0.5).clamp(
        min=0.0
    )
    low = position.floor().clamp(max=length.to(torch.float32) - 1.0)
    high = (low + 1.0).clamp(max=length.to(torch.float32) - 1.0)
    frac = position - low
    column = source.to(torch.float32)
    bilinear = (column == low).to(torch.float32) * (1.0 - frac) + (column == high).to(torch.float32) * frac
    return torch.where(shrink, area, bilinear)


def resize_rows(image: torch.Tensor, rows: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    """``rows · image`` along the height (``rows``: size × H, each row's weights within ``span`` rows of its first
    nonzero one), reading only those windows: the rows are gathered, then weighted and summed by small products."""
    height = torch._shape_as_tensor(image)[-2]
    first = torch.argmax((rows > 0).to(torch.float32), dim=1)  # the first of equals: where each window starts
    index = first[:, None] + torch.arange(span)[None, :]
    inside = (index < height).to(torch.float32)  # a window cut by the bottom edge: its missing rows weigh 0
    index = torch.minimum(index, height - 1)
    weights = torch.gather(rows, 1, index) * inside  # size × span
    picked = image.index_select(2, index.flatten())
    picked = picked.reshape(image.shape[0], image.shape[1], rows.shape[0], span, image.shape[-1])
    return torch.matmul(weights[:, None, :], picked)[:, :, :, 0, :]


def resize_to_view(image: torch.Tensor, short_side: int) -> torch.Tensor:
    """``resize_to(image, view_size_for(H, W, short_side))`` as ``R_h · image · R_wᵀ`` (any N, C, H, W), the
    height by :func:`resize_rows`: an area window spans at most ⌈H/h⌉ + 1 rows, a bilinear one 2."""
    shape = torch._shape_as_tensor(image)
    height, width = shape[-2], shape[-1]
    view_h, view_w = view_size_tensor(shape, short_side)
    shrink = torch.logical_and(height >= view_h, width >= view_w)
    rows = resize_matrix(height, view_h, shrink)
    columns = resize_matrix(width, view_w, shrink)
    span = torch.minimum(torch.where(shrink, (height + view_h - 1) // view_h + 1, torch.tensor(2)), height)
    return torch.matmul(resize_rows(image, rows, span), columns.transpose(0, 1))


def upsample(maps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``maps`` bilinearly resized to ``like``'s H×W (``align_corners=False``); exports as ``Resize`` with
    ``half_pixel`` coordinates, which sample as PyTorch does (``tests/test_export.py`` checks the mode)."""
    return F.interpolate(maps, size=like.shape[-2:], mode="bilinear", align_corners=False)


def max_candidates(short_side: int) -> int:
    """The most dark-channel candidates any view of ``short_side`` needs (its largest area × 0.1%), plus one."""
    long_side = round(short_side * MAX_ASPECT)
    return max(1, round(short_side * long_side * TOP_FRACTION)) + 1


def portable_airlight(image: torch.Tensor, dark: torch.Tensor, candidates: int) -> torch.Tensor:
    """:func:`~dehaze.dcp.atmospheric_light` as a graph: the image's own count of candidates (0.1% of its pixels,
    at most ``candidates``) is every pixel above the count-th largest dark value and the lowest-indexed pixels tied
    with it; then the brightest candidate, the first of equals."""
    flat_dark = dark.flatten(1)
    count = torch.round(torch._shape_as_tensor(flat_dark)[1].to(torch.float64) * TOP_FRACTION).clamp(min=1.0)
    ranked = flat_dark.topk(candidates, dim=1).values  # N×K (every view has more pixels than candidates)
    last = (count.to(torch.int64) - 1).reshape(1, 1).expand(ranked.shape[0], 1)
    threshold = ranked.gather(1, last)
    above = flat_dark > threshold
    tied = flat_dark == threshold
    room = count - above.to(torch.float64).sum(dim=1, keepdim=True)  # places left for the ties
    chosen = torch.logical_or(above, torch.logical_and(tied, tied.to(torch.float64).cumsum(dim=1) <= room))
    brightness = image.sum(dim=1).flatten(1)
    score = torch.where(chosen, brightness, torch.full_like(brightness, -math.inf))
    best = score.argmax(dim=1)  # the first of equals
    flat = image.flatten(2)
    return flat.gather(2, best[:, None, None].expand(-1, flat.shape[1], 1))[..., None]


def portable_structure(image: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """:func:`~dehaze.models.guided.structure` with average pools (windows clipped at the borders)."""
    if radius <= 0 or eps <= 0:
        return image
    size = 2 * radius + 1
    mean = F.avg_pool2d(image, size, stride=1, padding=radius, count_include_pad=False)
    square = F.avg_pool2d(image * image, size, stride=1, padding=radius, count_include_pad=False)
    variance = (square - mean * mean).clamp(min=0.0)
    return mean + variance / (variance + eps) * (image - mean)


class _PortablePrior(GuidedGenerator):
    """A guided generator whose dark channel prior picks the airlight with :func:`portable_airlight`."""

    def prior(self, view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dark = dark_channel(view, self.prior_patch)
        airlight = portable_airlight(view, dark, max_candidates(self.view_size)).clamp(min=AIRLIGHT_FLOOR)
        transmission = (1.0 - self.omega * dark_channel(view / airlight, self.prior_patch)).clamp(min=0.1)
        return dark, airlight, transmission


class PortableGuided(nn.Module):
    """A guided generator at a fixed ``strength`` as exportable operations: N×C×H×W in [0, 1] → same shape."""

    def __init__(self, generator: GuidedGenerator, strength: float = 1.0) -> None:
        super().__init__()
        model = copy.deepcopy(generator).eval()
        model.__class__ = _PortablePrior  # same weights and options; only the prior's airlight differs in form
        self.model = model
        self.strength = float(strength)

    def forward(self, hazy: torch.Tensor) -> torch.Tensor:
        model = self.model
        view = resize_to_view(hazy, model.view_size)
        slope, offset = model.view_maps(view, self.strength)
        gain, offset = upsample(slope - 1.0, hazy), upsample(offset, hazy)  # slope − 1 on the view: one pass less
        detail = portable_structure(hazy, model.detail_radius, model.detail_eps)
        return (hazy + offset + gain * detail).clamp(0.0, 1.0)
