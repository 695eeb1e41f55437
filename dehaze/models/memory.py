"""What a U-Net costs in memory at inference, and the tiles that keep it under a documented limit.

The U-Net's width is no longer capped for memory's sake (pix2pix's 64 is allowed): its activations grow with the
width and with the tile's area, so the tile is what is bounded. :func:`fit_tiles` keeps the estimated activations
of one batch of tiles under :data:`TILE_ACTIVATION_BUDGET`: first by running fewer tiles at a time, then by
shrinking the tile. The estimate counts the float32 feature maps alive at the busiest moment of a forward pass
(every skip connection, plus the upsampled, convolved, concatenated and merged maps of one decoder level) and is
multiplied by :data:`ACTIVATION_OVERHEAD`, measured on the CPU (oneDNN's channels-last copies and workspaces).
"""

from __future__ import annotations

from dehaze.config import UNetConfig
from dehaze.models.unet import MAX_WIDTH_FACTOR

FLOAT_BYTES = 4
# Activations of one batch of tiles. With it, a base-width-64 U-Net (pix2pix's) runs dehaze-infer on a 1024×768
# photo in under 2.5 GB of peak RSS, PyTorch included (docs/results.md, "Full-size U-Nets").
TILE_ACTIVATION_BUDGET = 1 << 30
# measured RSS growth of one forward pass / counted feature maps: 0.96-1.19 on the CPU for widths 8-64, tiles 384-768
ACTIVATION_OVERHEAD = 1.25


def unet_widths(cfg: UNetConfig) -> list[int]:
    """Channel width of each level of the U-Net, full resolution first (as :class:`UNetGenerator` builds it)."""
    return [cfg.base_width * min(2**level, MAX_WIDTH_FACTOR) for level in range(cfg.depth + 1)]


def unet_bytes_per_pixel(cfg: UNetConfig) -> float:
    """Estimated peak activation bytes per pixel of one tile in inference (batch of one).

    Level ``l`` holds ``4**-l`` of the pixels. The skips of every encoder level stay alive through the decoder;
    on top of them, decoding level ``l`` holds the upsampled deeper map, its convolution, the concatenation with
    the skip and the merged result.
    """
    widths = unet_widths(cfg)
    skips = sum(widths[level] / 4**level for level in range(cfg.depth))
    decoding = max((widths[level + 1] + 4 * widths[level]) / 4**level for level in range(cfg.depth))
    return FLOAT_BYTES * ACTIVATION_OVERHEAD * (skips + decoding + cfg.in_channels + cfg.out_channels)


def fit_tiles(cfg: UNetConfig, tile: int | None, batch_size: int, budget: float | None = None) -> tuple[int, int]:
    """``(tile, batch_size)`` no larger than asked whose estimated activations fit ``budget`` bytes (default
    :data:`TILE_ACTIVATION_BUDGET`).

    ``tile`` None or 0 (whole images) counts as unbounded: it becomes the largest tile that fits. Tiles stay
    multiples of ``2**depth`` (at least one such multiple); the batch shrinks first, the tile only once a single
    tile is over budget.
    """
    budget = TILE_ACTIVATION_BUDGET if budget is None else budget
    multiple = 2**cfg.depth
    per_pixel = unet_bytes_per_pixel(cfg)
    largest = max(multiple, int((budget / per_pixel) ** 0.5) // multiple * multiple)
    tile = largest if not tile else min(tile, largest)
    return tile, max(1, min(batch_size, int(budget // (per_pixel * tile**2))))
