"""What an image may be before it is decoded or used: the pixel limit read from the header, finite pixels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from dehaze.defaults import DEFAULT_MAX_PIXELS
from dehaze.errors import DehazeError, ImageReadError

# Default pixel limit: above every common camera (50 MP bodies write 8688 × 5792 = 50.3 MP) and inside the
# memory promise (dehaze-infer needs about 35 bytes per colour pixel: ~2.1 GB at the limit). Pillow's own bomb
# check starts at 89 MP (warning) and 179 MP (error); ours is tighter and refuses before any pixel is decoded.
# (DEFAULT_MAX_PIXELS is defined in dehaze.defaults, which the command-line parsers read before torch.)


@dataclass
class ImageLimits:
    """Checked from the file header, before any pixel is decoded (``--max-pixels`` sets ``max_pixels``)."""

    max_pixels: int = DEFAULT_MAX_PIXELS


LIMITS = ImageLimits()


def set_max_pixels(max_pixels: int) -> None:
    """Set the process-wide pixel limit of :func:`~dehaze.imageio.read_image` (the tools' ``--max-pixels``)."""
    if max_pixels < 1:
        raise DehazeError(f"--max-pixels must be at least 1, got {max_pixels}")
    LIMITS.max_pixels = int(max_pixels)
    if Image.MAX_IMAGE_PIXELS is not None and 2 * Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own (looser) check must not refuse what the user allowed


def check_pixel_count(path: str | Path, width: int, height: int) -> None:
    """Refuse, from the header alone, an image with more pixels than :data:`LIMITS` allows."""
    if width * height > LIMITS.max_pixels:
        raise ImageReadError(
            path,
            f"{width}×{height} = {width * height / 1e6:.1f} MP is above the limit of {LIMITS.max_pixels / 1e6:g} MP "
            f"(not decoded; raise it with --max-pixels {width * height})",
        )


class NonFinitePixels(DehazeError):
    """An image (or a model's output) holds NaN or infinite values (only float images can)."""

    def __init__(self, what: str = "image") -> None:
        super().__init__(f"{what} has NaN or infinite pixel values")
