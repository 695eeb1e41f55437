"""The one image reader/writer used by training, inference and metrics (every tool reads through it).

- :mod:`.reading`: decoding a file by content into float32 H×W×C in [0, 1] (the validation order is there);
- :mod:`.pixels`: any Pillow mode to float and float to uint8, in strips of rows; :mod:`.orientation`: EXIF;
- :mod:`.limits`: the pixel limit checked from the header, non-finite pixels;
- :mod:`.listing`: finding image files in a folder; :mod:`.writing`: saving 8-bit files atomically;
- :mod:`.tensors`: arrays ↔ tensors and value checks; :mod:`.native_stderr`: the C decoders' messages.
"""

from dehaze.defaults import DEFAULT_MAX_PIXELS
from dehaze.imageio.limits import LIMITS, ImageLimits, NonFinitePixels, check_pixel_count, set_max_pixels
from dehaze.imageio.listing import IMAGE_SUFFIXES, UNSUPPORTED_IMAGE_SUFFIXES, ImageScan, list_images, scan_images
from dehaze.imageio.native_stderr import captured_native_stderr
from dehaze.imageio.pixels import pil_to_array, to_uint8
from dehaze.imageio.reading import DECODER_ERRORS, read_image, read_image_size
from dehaze.imageio.tensors import array_to_batch, batch_to_array, clamp_unit, to_array, to_tensor, value_range
from dehaze.imageio.writing import OUTPUT_FORMATS, output_format, save_image

__all__ = [
    "DECODER_ERRORS",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "LIMITS",
    "OUTPUT_FORMATS",
    "UNSUPPORTED_IMAGE_SUFFIXES",
    "ImageLimits",
    "ImageScan",
    "NonFinitePixels",
    "array_to_batch",
    "batch_to_array",
    "captured_native_stderr",
    "check_pixel_count",
    "clamp_unit",
    "list_images",
    "output_format",
    "pil_to_array",
    "read_image",
    "read_image_size",
    "save_image",
    "scan_images",
    "set_max_pixels",
    "to_array",
    "to_tensor",
    "to_uint8",
    "value_range",
]
