"""One image file in, one dehazed file out: the path that ``dehaze-infer`` and ``dehaze-app`` both take.

:class:`RunOptions` are the tools' model options, :func:`make_dehazer` turns them into a function on arrays (the
model or the dark channel prior), :func:`dehaze_file` reads a file by the colour mode, dehazes it and writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dehaze.defaults import check_strength_range
from dehaze.errors import DehazeError

if TYPE_CHECKING:
    import numpy as np

DehazeFn = Callable[["np.ndarray"], "np.ndarray"]


@dataclass(frozen=True)
class RunOptions:
    """What to dehaze with: ``dcp`` (the prior) or the model ``checkpoint`` (None: the shipped models)."""

    checkpoint: Path | None = None
    device: str | None = None
    color: str = "auto"
    strength: float = 1.0
    dcp: bool = False
    tile: int | None = 1024
    overlap: int = 32
    batch_size: int | None = None


def make_dehazer(options: RunOptions) -> DehazeFn:
    """The array → array function of ``options``: the dark channel prior or a :class:`~dehaze.Dehazer`."""
    check_strength_range(options.strength)
    if options.dcp:
        if options.strength != 1.0:
            raise DehazeError("--strength applies to the model, not to --dcp")
        from dehaze.dcp import dark_channel_prior

        return dark_channel_prior
    from dehaze.device import resolve_device
    from dehaze.inference import Dehazer

    device = resolve_device(options.device)
    batch_size = options.batch_size or (4 if device.type == "cuda" else 1)  # CPU: same speed, a quarter the memory
    dehazer = Dehazer.from_checkpoint(
        options.checkpoint,
        device=device,
        tile=options.tile,
        overlap=options.overlap,
        batch_size=batch_size,
        color=options.color,
        strength=options.strength,
    )
    return dehazer.dehaze_array


def read_for_mode(path: Path, color: str) -> np.ndarray:
    """Gray mode reads luminance; colour modes read RGB, but a gray source stays gray (one channel)."""
    import numpy as np

    from dehaze.color import is_gray
    from dehaze.imageio import read_image

    if color == "gray":
        return read_image(path, channels=1)
    image = read_image(path, channels=None)  # a gray file is read as one channel, not three
    return np.ascontiguousarray(image[..., :1]) if is_gray(image, tolerance=0.0) else image


def dehaze_file(source: Path, output: Path, dehaze: DehazeFn, color: str) -> None:
    """Read ``source`` (by ``color``), dehaze it and write ``output`` (format by suffix, atomically)."""
    from dehaze.imageio import save_image

    image = read_for_mode(source, color)
    size = image.shape[:2]
    result = dehaze(image)
    del image  # a large photo's input is not kept in memory while its output is encoded
    if result.shape[:2] != size:
        raise DehazeError(f"internal error: output size {result.shape[:2]} != input size {size}")
    save_image(result, output)
