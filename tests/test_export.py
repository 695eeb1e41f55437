"""``dehaze-export``: the guided generator as ONNX, dynamic H and W, onnxruntime equal to PyTorch within 1/255."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dehaze.checkpoint import default_checkpoint_path, load_generator, save_generator
from dehaze.cli.export import main
from dehaze.config import ModelConfig
from dehaze.dcp import atmospheric_light
from dehaze.export import ExportOptions, export_onnx, smooth_test_image
from dehaze.models.build import build_generator
from dehaze.models.guided import resize_to, view_size_for
from dehaze.portable import PortableGuided, resize_to_view

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

# odd sizes, tiny ones (the view is enlarged), long thin ones both ways (the view's 4:1 cap), a batch of two
SIZES = ((1, 1), (5, 7), (37, 53), (9, 301), (301, 9), (96, 97), (150, 220), (64, 64), (17, 200))
# (file, channels, strength): below 1 the maps are scaled, above 1 keep_light's guided filter and the shadow floor run
# (1.5 only: 1.25 runs the same graph with another constant, and each export costs seconds of the suite)
EXPORTS = (
    ("rgb", 3, 1.0),
    ("gray-half", 1, 0.5),
    ("rgb-1.5", 3, 1.5),
    ("gray-1.5", 1, 1.5),
)
LEVEL = 1.0 / 255.0


def _generator(channels: int) -> torch.nn.Module:
    generator, _ = load_generator(default_checkpoint_path(channels=channels))
    return generator.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("onnx")
    files = {}
    for name, channels, strength in EXPORTS:
        files[name] = folder / f"{name}.onnx"
        export_onnx(ExportOptions(channels=channels, strength=strength), files[name])
    return files


def _session(path: Path) -> object:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(("name", "channels", "strength"), EXPORTS)
def test_onnxruntime_equals_pytorch_at_every_size(exported: dict, name: str, channels: int, strength: float) -> None:
    session, generator = _session(exported[name]), _generator(channels)
    for index, (height, width) in enumerate(SIZES):
        batch = 2 if index == 2 else 1
        image = np.concatenate([smooth_test_image(channels, height, width, seed) for seed in range(batch)])
        with torch.no_grad():
            expected = generator(torch.from_numpy(image), strength).numpy()
        actual = session.run(None, {"hazy": image})[0]
        assert actual.shape == image.shape
        assert np.abs(actual - expected).max() <= LEVEL, (height, width)


def test_onnx_file_has_one_dynamic_input_and_output(exported: dict) -> None:
    import onnx

    model = onnx.load(str(exported["rgb"]))
    (graph_input,), (graph_output,) = model.graph.input, model.graph.output
    for value, name in ((graph_input, "hazy"), (graph_output, "dehazed")):
        assert value.name == name
        dims = value.type.tensor_type.shape.dim
        assert [dims[axis].dim_param for axis in (0, 2, 3)] == ["batch", "height", "width"]
    assert graph_input.type.tensor_type.shape.dim[1].dim_value == 3


def test_resize_nodes_sample_as_pytorch(exported: dict) -> None:
    """``half_pixel`` puts a 1-px-wide output at the map's centre, as ``F.interpolate`` does (``pytorch_half_pixel``
    would take its first pixel)."""
    import onnx

    model = onnx.load(str(exported["rgb"]))
    modes = [
        attribute.s.decode()
        for node in model.graph.node
        if node.op_type == "Resize"
        for attribute in node.attribute
        if attribute.name == "coordinate_transformation_mode"
    ]
    assert len(modes) >= 2 and set(modes) == {"half_pixel"}  # the network's two and the maps' enlargement


@pytest.mark.parametrize("channels", [1, 3])
def test_resize_to_view_reads_windows_as_the_generator_resizes(channels: int) -> None:
    """Area windows of uneven length (640 = 13.3 × 48), exact ones, bilinear enlargement, one thin side, a batch."""
    for height, width in ((640, 960), (96, 480), (1, 1), (5, 7), (9, 301), (301, 9), (48, 49), (200, 47)):
        image = torch.rand(2, channels, height, width, generator=torch.Generator().manual_seed(height + width))
        expected = resize_to(image, view_size_for(height, width, 48))
        actual = resize_to_view(image, 48)
        assert actual.shape == expected.shape and (actual - expected).abs().max() < 1e-5, (height, width)


@pytest.mark.parametrize("strength", [1.0, 1.5])
def test_portable_graph_equals_the_generator_in_pytorch(strength: float) -> None:
    generator = _generator(3)
    portable = PortableGuided(generator, strength)
    for height, width in ((2, 3), (47, 49), (48, 200), (400, 90)):
        image = torch.from_numpy(smooth_test_image(3, height, width))
        with torch.no_grad():
            difference = (portable(image) - generator(image, strength)).abs().max()
        assert difference < 1e-3, (height, width)  # float rounding: a quarter level


def test_airlight_ties_take_the_lowest_pixel_index_first() -> None:
    dark = torch.zeros(1, 1, 1, 4000)
    dark[..., [10, 20, 30]] = 0.9  # three pixels tie for the 4 candidates' last places (0.1% of 4000 = 4)
    dark[..., 5] = 1.0
    dark[..., 40] = 0.9  # tied too, but the fourth of the ties: not a candidate
    image = torch.zeros(1, 3, 1, 4000)
    image[..., 5], image[..., 20], image[..., 40] = 0.3, 0.6, 0.99
    assert atmospheric_light(image, dark).flatten().tolist() == pytest.approx([0.6] * 3)


def test_cli_writes_a_checked_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "gray.onnx"), "--color", "gray", "--strength", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "1 channel(s), strength 1.5" in out and "onnxruntime agrees with PyTorch within" in out
    assert (tmp_path / "gray.onnx").stat().st_size > 100_000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strength", "3"], "--strength must be in"),
        (["--strength", "nan"], "--strength must be in"),
        (["--checkpoint", "missing.safetensors"], "no such file"),
        (["--color", "gray", "--checkpoint", "RGB"], "a 3-channel model, not --color gray"),
        (["--checkpoint", "UNET"], "only the guided generator exports"),
    ],
)
def test_cli_refuses_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, extra: list, message: str) -> None:
    unet = tmp_path / "unet.safetensors"
    config = ModelConfig(arch="unet", base_width=4, depth=2)
    save_generator(build_generator(config), config, unet)
    names = {"RGB": str(default_checkpoint_path(channels=3)), "UNET": str(unet)}
    target = tmp_path / "out.onnx"
    assert main([str(target), *[names.get(item, item) for item in extra]]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not target.exists()
