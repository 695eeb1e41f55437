"""Tiling for fully convolutional generators (the U-Net): tile layout, cross-fade windows, the tiled run, and
the one check of the tile/overlap options.

The image is padded like :class:`~dehaze.models.unet.UNetGenerator` pads it (centred, to a multiple of
``multiple``), then cut into tiles whose starts are multiples of ``multiple`` and which overlap by at least
``overlap`` pixels. Across each overlap the tiles are cross-faded with a raised-cosine ramp over the middle half of
the overlap (the outer quarters, disturbed by a tile's own border padding, get zero weight); the windows are
separable and sum to one, so a tiled result equals the untiled one wherever the network's receptive field is
smaller than a quarter of the overlap. Memory is bounded by ``batch_size`` tiles plus the input and output images.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dehaze.errors import DehazeError
from dehaze.models.unet import pad_to_multiple


def check_tiling(tile: int | None, overlap: int) -> None:
    """The tile/overlap options of every tool: ``tile`` >= 0 (0 or None: whole images), ``overlap`` in [0, tile)."""
    if tile is None:
        return
    if tile < 0 or (tile and not 0 <= overlap < tile):
        raise DehazeError(f"--tile must be >= 0 and --overlap in [0, tile): got --tile {tile}, --overlap {overlap}")


def tile_starts(length: int, tile: int, step: int, multiple: int = 1) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)`` evenly, each a multiple of ``multiple``.

    ``length``, ``tile`` and ``step`` must be multiples of ``multiple``; consecutive starts are at most ``step``
    apart and the last tile ends exactly at ``length``.
    """
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / step) + 1
    spacing = (length - tile) / (count - 1)
    starts = [int(k * spacing) // multiple * multiple for k in range(count - 1)]
    return starts + [length - tile]


def axis_tiling(length: int, tile: int, overlap: int, multiple: int = 1) -> tuple[int, int]:
    """Tile size and step along one axis: the fewest tiles of at most ``tile`` px that overlap by ``overlap``.

    The tiles are then shrunk (to a multiple of ``multiple``) to overlap no more than needed: 2048 px with
    512/32 gives five 448 px tiles (2240 px computed) instead of five 512 px ones (2560 px).
    """
    if length <= tile:
        return length, length
    count = math.ceil((length - overlap) / max(1, tile - overlap))
    size = -(-(length + (count - 1) * overlap) // count)  # ceil
    size = min(tile, -(-size // multiple) * multiple)
    return size, max(multiple, (size - overlap) // multiple * multiple)


def _rising_ramp(positions: torch.Tensor, centre: float, width: float) -> torch.Tensor:
    """0 → 1 raised cosine of ``width`` centred on ``centre`` (a hard step when width is 0)."""
    if width <= 0:
        return (positions >= centre).float()
    ramp = ((positions - (centre - width / 2)) / width).clamp(0.0, 1.0)
    return 0.5 - 0.5 * torch.cos(math.pi * ramp)


def blend_windows(starts: list[int], tile: int) -> list[torch.Tensor]:
    """1-D blending window of each tile: cross-fades over the middle half of each overlap with a neighbour."""
    windows = []
    for index, start in enumerate(starts):
        positions = torch.arange(start, start + tile, dtype=torch.float64) + 0.5
        window = torch.ones(tile, dtype=torch.float64)
        if index > 0:
            overlap = starts[index - 1] + tile - start
            window *= _rising_ramp(positions, start + overlap / 2, overlap / 2)
        if index < len(starts) - 1:
            overlap = start + tile - starts[index + 1]
            window *= 1.0 - _rising_ramp(positions, starts[index + 1] + overlap / 2, overlap / 2)
        windows.append(window.float())
    return windows


def tiled_apply(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    tile: int | None = 1024,
    overlap: int = 32,
    batch_size: int = 4,
    multiple: int = 1,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Run a fully convolutional ``model`` over N×C×H×W CPU images tile by tile; returns N×C'×H×W float32 (CPU).

    ``tile=None`` (or 0) runs whole images. Tiles of all images are batched ``batch_size`` at a time and moved to
    ``device`` batch by batch, so only the input, the output and one batch of tiles are ever in memory.
    """
    if images.dim() != 4:
        raise ValueError(f"expected N×C×H×W images, got shape {tuple(images.shape)}")
    if batch_size < 1:
        raise DehazeError(f"batch size must be at least 1, got {batch_size}")
    height, width = images.shape[-2:]
    padded, top, left = pad_to_multiple(images, multiple)
    padded_h, padded_w = padded.shape[-2:]
    check_tiling(tile, overlap)
    if tile:
        tile = max(multiple, tile // multiple * multiple)
    tile_h, step_h = axis_tiling(padded_h, tile or padded_h, overlap, multiple)
    tile_w, step_w = axis_tiling(padded_w, tile or padded_w, overlap, multiple)
    starts_y = tile_starts(padded_h, tile_h, step_h, multiple)
    starts_x = tile_starts(padded_w, tile_w, step_w, multiple)
    windows_y, windows_x = blend_windows(starts_y, tile_h), blend_windows(starts_x, tile_w)
    jobs = [(n, iy, ix) for n in range(images.shape[0]) for iy in range(len(starts_y)) for ix in range(len(starts_x))]

    output: torch.Tensor | None = None
    for first in range(0, len(jobs), batch_size):
        batch_jobs = jobs[first : first + batch_size]
        crops = [
            padded[n, :, starts_y[iy] : starts_y[iy] + tile_h, starts_x[ix] : starts_x[ix] + tile_w]
            for n, iy, ix in batch_jobs
        ]
        result = model(torch.stack(crops).to(device)).float().cpu()
        if output is None:
            output = torch.zeros(images.shape[0], result.shape[1], padded_h, padded_w)
        for tile_result, (n, iy, ix) in zip(result, batch_jobs, strict=True):
            weight = windows_y[iy][:, None] * windows_x[ix][None, :]
            y, x = starts_y[iy], starts_x[ix]
            output[n, :, y : y + tile_h, x : x + tile_w] += tile_result * weight
    assert output is not None
    norm_y = torch.zeros(padded_h)
    norm_x = torch.zeros(padded_w)
    for start, window in zip(starts_y, windows_y, strict=True):
        norm_y[start : start + tile_h] += window
    for start, window in zip(starts_x, windows_x, strict=True):
        norm_x[start : start + tile_w] += window
    output = output[..., top : top + height, left : left + width]
    output /= norm_y[top : top + height, None] * norm_x[None, left : left + width]
    return output
