"""The guided generator as an ONNX file: one float32 input N×C×H×W in [0, 1] (N, H and W dynamic), one output of
the same shape, so it runs with onnxruntime alone (C++, phones, browsers). Needs the ``onnx`` extra.

The graph is :class:`~dehaze.portable.PortableGuided` traced once; :func:`check_export` runs the file in
onnxruntime and compares it with PyTorch.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dehaze.atomic import atomic_write_bytes
from dehaze.errors import DehazeError
from dehaze.models.guided import GuidedGenerator
from dehaze.portable import PortableGuided

INPUT_NAME, OUTPUT_NAME = "hazy", "dehazed"
OPSET = 17  # from 19 on, onnxruntime 1.32 runs AveragePool with a generic kernel: the model 5× slower
DYNAMIC = {0: "batch", 2: "height", 3: "width"}
TRACE_SIZE = (67, 45)  # odd, and taller than wide: no size is special-cased in the traced graph
CHECK_SIZES = ((1, 1), (37, 53), (9, 301), (240, 136))  # the sizes check_export compares


@dataclass(frozen=True)
class ExportOptions:
    """What to export: a ``checkpoint`` (None: the shipped model of ``channels``) at a fixed ``strength``."""

    checkpoint: Path | None = None
    channels: int | None = 3
    strength: float = 1.0


def load_for_export(options: ExportOptions) -> GuidedGenerator:
    """The guided generator to export; a U-Net or a checkpoint of the other channel count is refused."""
    from dehaze.checkpoint import default_checkpoint_path, load_generator
    from dehaze.inference import check_strength

    path = options.checkpoint or default_checkpoint_path(channels=options.channels or 3)
    generator, config = load_generator(path, device="cpu")
    if not isinstance(generator, GuidedGenerator):
        raise DehazeError(f"{path}: only the guided generator exports to ONNX (this is a {config.arch})")
    if options.channels is not None and config.in_channels != options.channels:
        want = "rgb" if options.channels == 3 else "gray"
        raise DehazeError(f"{path}: a {config.in_channels}-channel model, not --color {want}")
    check_strength(options.strength, generator)  # above 1, keep_light's guided filter is box means: it exports
    if generator.global_stats:
        raise DehazeError(f"{path}: model.global_stats (image quantiles) does not export to ONNX")
    return generator.eval()


def _expm1(graph: object, value: object) -> object:
    """``aten::expm1`` (scale_haze_removal, strength < 1) as ``Exp − 1``: the offsets it scales are near 0 exactly
    where ``exp`` loses the digits, so the results agree to float rounding."""
    one = graph.op("Constant", value_t=torch.tensor(1.0))  # type: ignore[attr-defined]
    return graph.op("Sub", graph.op("Exp", value), one)  # type: ignore[attr-defined]


def onnx_bytes(generator: GuidedGenerator, strength: float = 1.0) -> bytes:
    """The ONNX file of ``generator`` at ``strength`` (traced once, H and W dynamic)."""
    module = PortableGuided(generator, strength)
    example = torch.rand(1, generator.in_channels, *TRACE_SIZE)
    buffer = io.BytesIO()
    torch.onnx.register_custom_op_symbolic("aten::expm1", _expm1, OPSET)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shape arithmetic: the graph is checked instead
        torch.onnx.export(
            module,
            (example,),
            buffer,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: DYNAMIC, OUTPUT_NAME: DYNAMIC},
            opset_version=OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


def export_onnx(options: ExportOptions, output: Path) -> GuidedGenerator:
    """Write the model of ``options`` to ``output`` atomically; returns the generator it exported."""
    generator = load_for_export(options)
    atomic_write_bytes(output, onnx_bytes(generator, options.strength))
    return generator


def smooth_test_image(channels: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A hazy-looking test input N×C×H×W in [0, 1]: smooth gradients, a bright sky, some texture."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    columns = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    base = 0.45 + 0.4 * (1.0 - rows) * (0.6 + 0.4 * np.cos(6.0 * columns))
    texture = 0.05 * rng.standard_normal((channels, height, width)).astype(np.float32)
    tint = np.linspace(0.95, 1.05, channels, dtype=np.float32)[:, None, None]
    return np.clip(base[None] * tint + texture, 0.0, 1.0)[None]


def check_export(path: Path, generator: GuidedGenerator, strength: float = 1.0) -> float:
    """The largest difference (in levels of 255) between onnxruntime on ``path`` and PyTorch, at
    :data:`CHECK_SIZES`."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for index, (height, width) in enumerate(CHECK_SIZES):
        image = smooth_test_image(generator.in_channels, height, width, seed=index)
        with torch.no_grad():
            expected = generator(torch.from_numpy(image), strength).numpy()
        actual = session.run(None, {INPUT_NAME: image})[0]
        worst = max(worst, float(np.abs(actual - expected).max()) * 255.0)
    return worst
