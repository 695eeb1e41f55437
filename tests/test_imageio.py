"""dehaze.imageio: decoding by content, every image kind, and a clear error for every bad file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from dehaze.errors import DehazeError, ImageReadError
from dehaze.imageio import (
    IMAGE_SUFFIXES,
    array_to_batch,
    batch_to_array,
    clamp_unit,
    list_images,
    read_image,
    read_image_size,
    save_image,
    to_array,
    to_tensor,
    to_uint8,
)
from dehaze.imageio import pixels as pixel_conversion


def smooth_rgb(height: int = 24, width: int = 32) -> np.ndarray:
    rows = np.linspace(0, 1, height)[:, None]
    cols = np.linspace(0, 1, width)[None, :]
    return (np.stack([rows + 0 * cols, cols + 0 * rows, 0.5 * (rows + cols)], axis=2) * 255).astype(np.uint8)


@pytest.fixture
def rgb() -> np.ndarray:
    return smooth_rgb()


def test_rgb_png_and_luminance(tmp_path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).save(tmp_path / "a.png")
    colour = read_image(tmp_path / "a.png", channels=3)
    assert colour.dtype == np.float32 and colour.shape == (24, 32, 3)
    np.testing.assert_allclose(colour, rgb / 255.0, atol=1e-6)
    gray = read_image(tmp_path / "a.png", channels=1)
    assert gray.shape == (24, 32, 1)
    expected = (rgb / 255.0) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(gray[..., 0], expected, atol=1e-5)
    pil_l = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32) / 255.0
    assert np.abs(gray[..., 0] - pil_l).max() <= 1.0 / 255.0 + 1e-6


def test_gray_to_three_channels(tmp_path: Path) -> None:
    gray = (np.arange(20 * 10).reshape(20, 10) % 256).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png", channels=3)
    assert out.shape == (20, 10, 3)
    np.testing.assert_allclose(out[..., 0], gray / 255.0, atol=1e-6)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_16bit_gray_keeps_precision(tmp_path: Path) -> None:
    values = np.linspace(0, 65535, 12 * 16).reshape(12, 16).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    out = read_image(tmp_path / "g16.png", channels=1)[..., 0]
    np.testing.assert_allclose(out, values / 65535.0, atol=1e-6)
    assert len(np.unique(out)) == len(np.unique(values))  # not truncated to 256 levels


def test_16bit_colour_png_keeps_precision(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = (rng.random((10, 12, 3)) * 65535).astype(np.uint16)
    assert cv2.imwrite(str(tmp_path / "c16.png"), np.ascontiguousarray(values[..., ::-1]))
    out = read_image(tmp_path / "c16.png", channels=3)
    np.testing.assert_allclose(out, values / 65535.0, atol=1e-6)


def test_palette_rgba_la_and_one_bit(tmp_path: Path, rgb: np.ndarray) -> None:
    palette = Image.fromarray(rgb).quantize(colors=16)
    palette.save(tmp_path / "p.png")
    expected = np.asarray(palette.convert("RGB"), dtype=np.float32) / 255.0
    np.testing.assert_allclose(read_image(tmp_path / "p.png", 3), expected, atol=1e-6)

    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :16, 3] = 0  # left half transparent → white
    rgba[:, 16:24, 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png", 3)
    assert out.shape == (24, 32, 3)
    np.testing.assert_allclose(out[:, :16], 1.0)
    alpha = 128 / 255.0
    np.testing.assert_allclose(out[:, 16:24], rgb[:, 16:24] / 255.0 * alpha + (1 - alpha), atol=1e-5)
    np.testing.assert_allclose(out[:, 24:], rgb[:, 24:] / 255.0, atol=1e-6)

    la = np.dstack([rgb[..., 0], np.zeros(rgb.shape[:2], np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    np.testing.assert_allclose(read_image(tmp_path / "la.png", 1), 1.0)

    bits = Image.fromarray(rgb[..., 0] > 128)
    bits.save(tmp_path / "b.png")
    assert Image.open(tmp_path / "b.png").mode == "1"
    out = read_image(tmp_path / "b.png", 1)[..., 0]
    np.testing.assert_array_equal(out, (rgb[..., 0] > 128).astype(np.float32))


def test_cmyk(tmp_path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.tif")
    np.testing.assert_allclose(read_image(tmp_path / "c.tif", 3), rgb / 255.0, atol=1e-6)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    assert np.abs(read_image(tmp_path / "c.jpg", 3) - rgb / 255.0).mean() < 0.02


@pytest.mark.parametrize("strip_pixels", [1 << 20, 25])  # one strip, or strips of 2 rows written in place
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orientation: int, strip_pixels: int) -> None:
    monkeypatch.setattr(pixel_conversion, "STRIP_PIXELS", strip_pixels)
    rng = np.random.default_rng(orientation)
    pixels = (rng.random((6, 10, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.save(tmp_path / "o.png", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")).convert("RGB")) / 255.0
    out = read_image(tmp_path / "o.png", 3)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    width, height = read_image_size(tmp_path / "o.png")
    assert (height, width) == out.shape[:2]
    assert (height, width) == ((10, 6) if orientation >= 5 else (6, 10))


def test_decoded_by_content_not_extension(tmp_path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).save(tmp_path / "really_a_png.jpg", format="PNG")
    np.testing.assert_allclose(read_image(tmp_path / "really_a_png.jpg", 3), rgb / 255.0, atol=1e-6)
    Image.fromarray(rgb).save(tmp_path / "no_suffix", format="PNG")
    assert read_image(tmp_path / "no_suffix", 1).shape == (24, 32, 1)


def _truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_truncated_files_raise(tmp_path: Path, suffix: str, fraction: float) -> None:
    noisy = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    path = tmp_path / f"cut{suffix}"
    Image.fromarray(noisy).save(path)
    _truncate(path, fraction)
    with pytest.raises(ImageReadError, match="truncated") as info:
        read_image(path, 3)
    assert info.value.path == path and str(path) in str(info.value)


def test_bad_files_name_file_and_reason(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    cases = {empty: "empty", text: "not an image", folder: "directory", tmp_path / "missing.png": "no such file"}
    for path, reason in cases.items():
        for reader in (lambda p: read_image(p, 1), read_image_size):
            with pytest.raises(ImageReadError) as info:
                reader(path)
            assert info.value.path == path
            assert reason in info.value.reason
            assert str(info.value).startswith(str(path))
            assert isinstance(info.value, DehazeError)


def test_truncated_16bit_colour_raises(tmp_path: Path) -> None:
    values = (np.random.default_rng(0).random((40, 40, 3)) * 65535).astype(np.uint16)
    path = tmp_path / "c16.png"
    cv2.imwrite(str(path), values)
    _truncate(path, 0.5)
    with pytest.raises(ImageReadError):
        read_image(path, 3)


def test_save_image_round_trip_and_atomic(tmp_path: Path, rgb: np.ndarray) -> None:
    image = rgb / 255.0
    target = tmp_path / "sub" / "dir" / "x.png"
    save_image(image, target)
    np.testing.assert_allclose(read_image(target, 3), image, atol=0.5 / 255 + 1e-6)
    save_image(torch.from_numpy(image.transpose(2, 0, 1)).float(), target)
    np.testing.assert_allclose(read_image(target, 3), image, atol=0.5 / 255 + 1e-6)
    save_image(image[..., 0], tmp_path / "g.jpg")
    assert Image.open(tmp_path / "g.jpg").format == "JPEG"
    save_image(np.full((4, 4, 1), 2.0), tmp_path / "clip.png")  # clipped to 1
    assert read_image(tmp_path / "clip.png", 1).min() == 1.0
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.png"]  # no temp files left
    with pytest.raises(DehazeError, match="suffix"):
        save_image(image, tmp_path / "x.unknown")


def test_list_images(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ["b.PNG", "a.jpg", "sub/c.tif", "notes.txt", ".hidden.png"]:
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "sub/c.tif"]
    assert len(list_images(tmp_path, recursive=False)) == 2
    assert ".png" in IMAGE_SUFFIXES
    with pytest.raises(DehazeError):
        list_images(tmp_path / "missing")


def test_tensor_helpers() -> None:
    array = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    tensor = to_tensor(array)
    assert tensor.shape == (3, 5, 7) and tensor.dtype == torch.float32
    np.testing.assert_array_equal(to_array(tensor), array)
    assert to_tensor(array[..., 0]).shape == (1, 5, 7)


def test_decoding_in_strips_equals_one_strip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rgb: np.ndarray) -> None:
    """Pixels are converted in strips of rows; ``channels=None`` keeps the source's kind (gray: 1, colour: 3)."""
    alpha = (np.arange(24 * 32).reshape(24, 32) * 7 % 256).astype(np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "rgba.png")
    Image.fromarray(np.dstack([rgb[..., 0], alpha])).save(tmp_path / "la.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png", transparency=3)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.tif")
    Image.fromarray(rgb[..., 1]).save(tmp_path / "gray.png")
    cv2.imwrite(str(tmp_path / "c16.png"), rgb[..., ::-1].astype(np.uint16) * 257)
    kinds = {"rgba.png": 3, "la.png": 1, "p.png": 3, "cmyk.tif": 3, "gray.png": 1, "c16.png": 3}
    whole = {(name, c): read_image(tmp_path / name, c) for name in kinds for c in (1, 3, None)}
    monkeypatch.setattr(pixel_conversion, "STRIP_PIXELS", 40)  # one 32-px row a strip
    for (name, channels), expected in whole.items():
        strips = read_image(tmp_path / name, channels)
        np.testing.assert_array_equal(strips, expected)
        assert strips.shape[2] == (channels or kinds[name]) and strips.flags.c_contiguous


def test_uint8_conversion_in_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    image = np.random.default_rng(0).random((13, 7, 3), dtype=np.float32) * 1.2 - 0.1
    image[2, 3, 1] = np.nan
    before = image.copy()
    expected = (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    monkeypatch.setattr(pixel_conversion, "STRIP_PIXELS", 15)  # two rows a strip
    np.testing.assert_array_equal(to_uint8(image), expected)
    np.testing.assert_array_equal(to_uint8(image[..., 0]), expected[..., 0])
    np.testing.assert_array_equal(image, before)  # the input is not modified


def test_batch_views_share_memory() -> None:
    """An H×W×C array and its 1×C×H×W batch are the same memory both ways: no full-size copies."""
    array = np.random.default_rng(0).random((5, 7, 3), dtype=np.float32)
    batch = array_to_batch(array)
    assert batch.shape == (1, 3, 5, 7) and np.shares_memory(batch.numpy(), array)
    assert np.shares_memory(batch_to_array(batch), array)
    np.testing.assert_array_equal(batch_to_array(torch.empty_like(batch).copy_(batch)), array)
    read_only = array.copy()
    read_only.flags.writeable = False
    assert torch.equal(array_to_batch(read_only), batch)  # copied: torch wants a writable buffer
    assert clamp_unit(batch) is batch
    assert torch.equal(clamp_unit(batch * 2.0 - 0.5), (batch * 2.0 - 0.5).clamp(0.0, 1.0))
