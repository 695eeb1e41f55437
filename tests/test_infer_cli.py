"""``dehaze-infer`` on a messy folder: odd names, wrong extensions, 16-bit, alpha, palette, EXIF, broken files."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dehaze.checkpoint import save_generator
from dehaze.cli.infer import main
from dehaze.config import ModelConfig
from dehaze.imageio import read_image, read_image_size
from dehaze.models.build import build_generator

TINY = ModelConfig(arch="unet", base_width=4, depth=2)
BROKEN = ("empty.png", "sub dir/truncated.png", "text.jpg")
RNG = np.random.default_rng(0)


def rgb_pixels(height: int, width: int) -> np.ndarray:
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def make_messy_folder(root: Path) -> dict[str, tuple[int, int]]:
    """Write the test photos; returns the good files (relative names) with their displayed (width, height)."""
    good: dict[str, tuple[int, int]] = {}

    def add(name: str, data: bytes, size: tuple[int, int]) -> None:
        write(root / name, data)
        good[name] = size

    add("gray.png", png_bytes(Image.fromarray(RNG.integers(0, 256, (23, 37), dtype=np.uint8))), (37, 23))
    add("sub dir/ünïcødé ñame/really a png.jpg", png_bytes(Image.fromarray(rgb_pixels(30, 41))), (41, 30))
    sixteen = Image.fromarray(RNG.integers(0, 65536, (33, 20), dtype=np.uint16))
    add("sub dir/deep16.png", png_bytes(sixteen), (20, 33))
    rgba = np.dstack([rgb_pixels(25, 26), RNG.integers(0, 256, (25, 26), dtype=np.uint8)])
    add("deep/er/alpha.png", png_bytes(Image.fromarray(rgba, "RGBA")), (26, 25))
    add("deep/palette.png", png_bytes(Image.fromarray(rgb_pixels(17, 29)).convert("P")), (29, 17))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display: stored 40×24, shown 24×40
    buffer = io.BytesIO()
    Image.fromarray(rgb_pixels(24, 40)).save(buffer, format="JPEG", exif=exif.tobytes())
    add("rotated.JPG", buffer.getvalue(), (24, 40))
    add("twin.png", png_bytes(Image.fromarray(rgb_pixels(12, 14))), (14, 12))
    buffer = io.BytesIO()
    Image.fromarray(rgb_pixels(13, 15)).save(buffer, format="BMP")
    add("twin.jpg", buffer.getvalue(), (15, 13))  # a BMP named .jpg, and the same stem as twin.png
    write(root / "empty.png", b"")
    write(root / "sub dir/truncated.png", png_bytes(Image.fromarray(rgb_pixels(40, 40)))[:300])
    write(root / "text.jpg", b"this is not an image\n")
    write(root / "notes.txt", b"ignored: not an image suffix\n")
    return good


def expected_output(name: str) -> str:
    if name.startswith("twin."):  # same stem twice: both keep their full name
        return name + ".png"
    return str(Path(name).with_suffix(".png"))


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_generator(build_generator(TINY), TINY, path)
    return path


@pytest.fixture()
def photos(tmp_path: Path) -> tuple[Path, dict[str, tuple[int, int]]]:
    root = tmp_path / "photos in"
    return root, make_messy_folder(root)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args + ["--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_messy_folder_end_to_end(photos, checkpoint: Path, tmp_path: Path, capsys) -> None:
    root, good = photos
    out = tmp_path / "out"
    before = tree_hashes(root)
    code, stdout, stderr = run(
        [str(root), "-o", str(out), "--checkpoint", str(checkpoint), "--tile", "16", "--overlap", "4"], capsys
    )
    assert code == 2
    for name in BROKEN:
        assert str(root / name) in stderr
    assert "empty" in stderr and "Traceback" not in stderr
    for name, size in good.items():
        output = out / expected_output(name)
        assert output.is_file(), name
        with Image.open(output) as image:
            assert image.size == size == read_image_size(root / name)
            source = read_image(root / name, channels=3)
            gray_source = np.array_equal(source[..., 0], source[..., 1]) and np.array_equal(
                source[..., 1], source[..., 2]
            )
            assert image.mode == ("L" if gray_source else "RGB")  # auto (default): output channels match input
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == {expected_output(name) for name in good}
    assert tree_hashes(root) == before  # inputs byte-for-byte unchanged, nothing added

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    code, stdout, stderr = run([str(root), "-o", str(out), "--checkpoint", str(checkpoint)], capsys)
    assert code == 2 and f"skipped {len(good)} existing" in stdout and "dehazed 0" in stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps

    code, stdout, _ = run([str(root), "-o", str(out), "--checkpoint", str(checkpoint), "--overwrite"], capsys)
    assert code == 2 and f"dehazed {len(good)}" in stdout
    assert tree_hashes(root) == before


@pytest.mark.parametrize("inside", ["", "sub dir", "new/nested"])
def test_output_inside_input_is_refused(photos, checkpoint: Path, inside: str, capsys) -> None:
    root, _ = photos
    before = tree_hashes(root)
    code, stdout, stderr = run([str(root), "-o", str(root / inside), "--checkpoint", str(checkpoint)], capsys)
    assert code == 1
    assert stderr.startswith("error: ") and "input folder" in stderr and "Traceback" not in stderr
    assert tree_hashes(root) == before
    assert not (root / "new").exists()


def test_output_path_equal_to_an_input_file_is_refused(tmp_path: Path, checkpoint: Path, capsys) -> None:
    source = tmp_path / "photo.png"
    write(source, png_bytes(Image.fromarray(rgb_pixels(8, 8))))
    before = source.read_bytes()
    code, _, stderr = run([str(source), "-o", str(tmp_path), "--checkpoint", str(checkpoint)], capsys)
    assert code == 1 and "is the folder of the input" in stderr  # the input's own folder is never an output
    assert source.read_bytes() == before


def test_good_files_exit_zero_and_files_go_directly_into_out(tmp_path: Path, checkpoint: Path, capsys) -> None:
    first, second = tmp_path / "a" / "one.tif", tmp_path / "b" / "deep" / "two.png"
    write(first, png_bytes(Image.fromarray(rgb_pixels(23, 37))))  # a PNG named .tif
    write(second, png_bytes(Image.fromarray(rgb_pixels(9, 5))))
    out = tmp_path / "out"
    code, stdout, stderr = run(
        [
            str(first),
            str(second),
            "-o",
            str(out),
            "--checkpoint",
            str(checkpoint),
            "--color",
            "luminance",
            "--ext",
            ".jpg",
        ],
        capsys,
    )
    assert code == 0, stderr
    with Image.open(out / "one.jpg") as image:
        assert image.size == (37, 23) and image.mode == "RGB"
    with Image.open(out / "two.jpg") as image:
        assert image.size == (5, 9)


def test_colour_modes_keep_gray_sources_gray(tmp_path: Path, checkpoint: Path, capsys) -> None:
    source = tmp_path / "in"
    write(source / "gray.png", png_bytes(Image.fromarray(RNG.integers(0, 256, (10, 11), dtype=np.uint8))))
    write(source / "colour.png", png_bytes(Image.fromarray(rgb_pixels(10, 11))))
    code, _, _ = run(
        [str(source), "-o", str(tmp_path / "out"), "--checkpoint", str(checkpoint), "--color", "per-channel"], capsys
    )
    assert code == 0
    with Image.open(tmp_path / "out" / "gray.png") as gray, Image.open(tmp_path / "out" / "colour.png") as colour:
        assert gray.mode == "L" and colour.mode == "RGB"


def test_dcp_baseline_needs_no_checkpoint(photos, tmp_path: Path, monkeypatch, capsys) -> None:
    root, good = photos
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(tmp_path / "missing.safetensors"))
    code, stdout, _ = run([str(root), "-o", str(tmp_path / "dcp"), "--dcp"], capsys)
    assert code == 2 and f"dehazed {len(good)}" in stdout


def test_user_errors_are_one_line(tmp_path: Path, photos, monkeypatch, capsys) -> None:
    root, _ = photos
    monkeypatch.setenv("DEHAZE_CHECKPOINT", str(tmp_path / "missing.safetensors"))
    cases = [
        ([str(root), "-o", str(tmp_path / "o")], "default model is missing"),
        ([str(tmp_path / "nope"), "-o", str(tmp_path / "o")], "no such file or folder"),
        ([str(root), "-o", str(tmp_path / "o"), "--ext", "xyz", "--dcp"], "not an image file suffix we write"),
        ([str(root), "-o", str(tmp_path / "o"), "--tile", "16", "--overlap", "16", "--dcp"], "--overlap"),
    ]
    for args, message in cases:
        code, _, stderr = run(args, capsys)
        assert code == 1 and stderr.startswith("error: ") and message in stderr, (args, stderr)
    assert not (tmp_path / "o").exists()


def test_entry_point_in_a_subprocess(photos, checkpoint: Path, tmp_path: Path) -> None:
    root, good = photos
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dehaze.cli.infer",
            str(root),
            "-o",
            str(tmp_path / "o"),
            "--checkpoint",
            str(checkpoint),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "3 file(s) could not be processed" in result.stderr
    assert len(list((tmp_path / "o").rglob("*.png"))) == len(good)
