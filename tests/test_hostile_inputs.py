"""Hostile and careless inputs (issue 18), each made at run time in tmp_path: no binary fixtures.

One test (or parametrised group) per way the Reliability section's promises were broken: NaN pixels, padded
truncated JPEGs, pixel bombs, output formats, long names, symlinks, output folders, refused resumes, training
options, YAML bombs, skipped folder entries, stale temp files, unreadable files in dehaze-fid, and the wording.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_TRAIN_ARGS
from PIL import Image, ImageFile

from dehaze.atomic import atomic_write_bytes, remove_stale_temps
from dehaze.cli.infer import main as infer_main
from dehaze.cli.train import main as train_main
from dehaze.errors import DehazeError, ImageReadError
from dehaze.imageio import DEFAULT_MAX_PIXELS, clamp_unit, read_image, read_image_size

RNG = np.random.default_rng(18)


# ----------------------------------------------------------------------------- makers


def png(path: Path, height: int = 12, width: int = 16, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    Image.fromarray(RNG.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def jpeg_bytes(height: int = 96, width: int = 128) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def declare_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF0) claiming another size: the scan data stay what they are."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring(width: int, height: int, bit_depth: int = 1, colour_type: int = 0) -> bytes:
    """A few-hundred-byte PNG whose header declares ``width``×``height`` (its pixel data are a stub)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    body = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def float_tiff(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.float32), mode="F").save(path)
    return path


def infer(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = infer_main([*args, "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def no_traceback_one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


# ----------------------------------------------------------------------------- 1. NaN pixels


def test_nan_pixel_is_refused_naming_the_file_and_the_run_goes_on(tmp_path: Path, capsys) -> None:
    values = np.full((12, 16), 0.5, np.float32)
    values[3, 4] = np.nan
    bad = float_tiff(tmp_path / "in" / "nan.tif", values)
    infinite = float_tiff(tmp_path / "in" / "inf.tif", np.where(values == values, values, np.inf))
    png(tmp_path / "in" / "good.png")
    code, _, stderr = infer([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--dcp"], capsys)
    assert code == 2
    assert f"{bad}: image has NaN or infinite pixel values" in stderr
    assert f"{infinite}: image has NaN or infinite pixel values" in stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]


def test_nan_depth_map_is_refused_by_synth(tmp_path: Path) -> None:
    from dehaze.synth import SynthConfig, synthesize_pairs

    png(tmp_path / "clean" / "a.png")
    values = np.linspace(0, 1, 12 * 16, dtype=np.float32).reshape(12, 16)
    values[0, 0] = np.nan
    depth = float_tiff(tmp_path / "depth" / "a.tif", values)
    with pytest.raises(ImageReadError, match="NaN") as caught:
        synthesize_pairs(tmp_path / "clean", tmp_path / "pairs", SynthConfig(depth_dir=tmp_path / "depth"))
    assert caught.value.path == depth
    assert not (tmp_path / "pairs" / "hazy").exists()


def test_non_finite_arrays_and_model_outputs_are_refused() -> None:
    from dehaze.dcp import dark_channel_prior

    image = np.full((8, 8, 3), 0.5, np.float32)
    image[1, 1, 1] = np.nan
    with pytest.raises(DehazeError, match="NaN or infinite"):
        dark_channel_prior(image)
    output = torch.zeros(1, 1, 4, 4)
    output[0, 0, 2, 2] = -torch.inf
    with pytest.raises(DehazeError, match="model output has NaN or infinite"):
        clamp_unit(output, "model output")


# ----------------------------------------------------------------------------- 2. truncated JPEGs


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_cut_short_with_an_end_marker_is_refused(tmp_path: Path, capfd, progressive: bool) -> None:
    buffer = io.BytesIO()
    pixels = RNG.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90, progressive=progressive)
    data = buffer.getvalue()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: int(len(data) * 0.4)] + b"\xff\xd9")  # Pillow alone decodes this, padded with grey
    with pytest.raises(ImageReadError, match="truncated JPEG data") as caught:
        read_image(path, channels=None)
    assert caught.value.path == path
    assert capfd.readouterr().err == ""  # libjpeg's own warning line is captured, not printed (wording item)


def test_jpeg_declaring_more_pixels_than_it_holds_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "small_data_big_frame.jpg"
    path.write_bytes(declare_jpeg_size(jpeg_bytes(64, 64), 2000, 2000))
    assert path.stat().st_size < 20_000
    with pytest.raises(ImageReadError, match="truncated JPEG data"):
        read_image(path, channels=3)


def test_complete_jpeg_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "fine.jpg"
    path.write_bytes(jpeg_bytes(20, 30))
    assert read_image(path, channels=3).shape == (20, 30, 3)


# ----------------------------------------------------------------------------- 3. pixel bombs


def refuse_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)


@pytest.mark.parametrize(
    "name, data",
    [
        ("one_bit.png", png_declaring(13000, 13000)),
        ("palette.png", png_declaring(12000, 12000, bit_depth=8, colour_type=3)),
        ("frame.jpg", declare_jpeg_size(jpeg_bytes(16, 16), 12000, 12000)),
    ],
)
def test_pixel_bombs_are_refused_from_the_header(tmp_path: Path, monkeypatch, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert len(data) < 3000
    refuse_decoding(monkeypatch)
    with pytest.raises(ImageReadError, match="above the limit of 60 MP") as caught:
        read_image(path, channels=None)
    assert caught.value.path == path and "--max-pixels" in caught.value.reason


def test_default_limit_allows_a_50_megapixel_photo(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "camera.png"
    path.write_bytes(png_declaring(8688, 5792, bit_depth=8, colour_type=2))  # a 50.3 MP camera frame
    refuse_decoding(monkeypatch)
    assert DEFAULT_MAX_PIXELS >= 8688 * 5792
    assert read_image_size(path) == (8688, 5792)


def test_max_pixels_option_lowers_and_raises_the_limit(tmp_path: Path, capsys, monkeypatch) -> None:
    from dehaze.imageio import limits

    monkeypatch.setattr(limits, "LIMITS", limits.ImageLimits())  # the limit the tool sets is undone afterwards
    photo = png(tmp_path / "in" / "photo.png", 12, 16)
    code, _, stderr = infer([str(photo.parent), "-o", str(tmp_path / "a"), "--dcp", "--max-pixels", "100"], capsys)
    assert code == 2 and f"{photo}: 16×12 = 0.0 MP is above the limit" in stderr
    code, _, _ = infer([str(photo.parent), "-o", str(tmp_path / "b"), "--dcp", "--max-pixels", "192"], capsys)
    assert code == 0 and (tmp_path / "b" / "photo.png").is_file()


# ----------------------------------------------------------------------------- 4, 5. output formats


def test_an_output_too_large_for_its_format_fails_alone(tmp_path: Path, capsys) -> None:
    wide = png(tmp_path / "in" / "a_wide.png", 1, 16384, mode="L")
    png(tmp_path / "in" / "b_small.png")
    code, _, stderr = infer([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--dcp", "--ext", "webp"], capsys)
    assert code == 2 and f"{wide}:" in stderr and "too large for WEBP (at most 16383 a side)" in stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b_small.webp"]  # the run went on


@pytest.mark.parametrize("ext", ["blp", "qoi", "ico", "icns", "gif"])
def test_formats_that_cannot_keep_size_or_channels_are_refused(tmp_path: Path, capsys, ext: str) -> None:
    png(tmp_path / "in" / "photo.png", 48, 64)
    code, _, stderr = infer([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--dcp", "--ext", ext], capsys)
    assert code == 1 and "not an image file suffix we write" in no_traceback_one_line(stderr)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- 6. long names


@pytest.mark.parametrize("length", [242, 251, 255])
def test_legal_long_file_names_work(tmp_path: Path, capsys, length: int) -> None:
    name = "é" * ((length - 4) // 2) + "a" * ((length - 4) % 2) + ".png"
    assert len(name.encode()) == length
    png(tmp_path / "in" / name)
    code, _, stderr = infer([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--dcp"], capsys)
    assert code == 0, stderr
    assert (tmp_path / "out" / name).is_file()


# ----------------------------------------------------------------------------- 7, 8. symlinks, output folders


def test_input_linked_to_an_output_is_never_overwritten(tmp_path: Path, capsys) -> None:
    target = png(tmp_path / "out" / "photo.png")
    before = target.read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "photo.png").symlink_to(target)
    code, _, stderr = infer([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--overwrite", "--dcp"], capsys)
    assert code == 1 and "would overwrite an input" in no_traceback_one_line(stderr)
    assert target.read_bytes() == before


def test_folder_of_a_file_input_is_not_an_output_folder(tmp_path: Path, capsys) -> None:
    source = png(tmp_path / "p" / "a.jpg")
    unrelated = png(tmp_path / "p" / "a.png")
    before = unrelated.read_bytes()
    for extra in ([], ["--overwrite"]):
        code, _, stderr = infer([str(source), "-o", str(tmp_path / "p"), "--dcp", *extra], capsys)
        assert code == 1 and "is the folder of the input" in no_traceback_one_line(stderr)
    assert unrelated.read_bytes() == before


# ----------------------------------------------------------------------------- 9, 10, 11. training options


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-step tiny run (no FID) to resume from."""
    from conftest import make_pairs

    root = tmp_path_factory.mktemp("resume")
    data = make_pairs(root / "pairs")
    run = root / "run"
    assert train_main(["--data", str(data), "--out", str(run), "--steps", "1", "--no-fid", *TINY_TRAIN_ARGS]) == 0
    return run


def test_refused_resume_leaves_config_yaml_unchanged(trained_run: Path, capsys) -> None:
    before = (trained_run / "config.yaml").read_bytes()
    code = train_main(["--out", str(trained_run), "--resume", "--set", "model.width=8", "--steps", "2"])
    assert code == 1 and "do not match" in no_traceback_one_line(capsys.readouterr().err)
    assert (trained_run / "config.yaml").read_bytes() == before


def test_full_disk_while_saving_keeps_weights_and_state_a_pair(trained_run: Path, capsys, monkeypatch) -> None:
    from dehaze.errors import WriteError

    before = {name: (trained_run / name).read_bytes() for name in ("last.safetensors", "last.state.pt")}
    real_write = Path.write_bytes

    def full_disk_for_state(self: Path, data: bytes) -> int:
        if self.name.startswith(".last.state.pt."):
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk_for_state)
    assert train_main(["--out", str(trained_run), "--resume", "--steps", "2", "--no-fid"]) == 1
    stderr = capsys.readouterr().err  # the progress bar, then one error line
    assert "Traceback" not in stderr and "No space left on device" in stderr.splitlines()[-1]
    after = {name: (trained_run / name).read_bytes() for name in before}
    assert after == before  # the weights were not moved on to step 2 while the state stayed at step 1
    assert not [p for p in trained_run.iterdir() if p.name.endswith(".tmp")]
    assert issubclass(WriteError, OSError)


BAD_OPTIONS = [
    ("train.batch_size=-1", "train.batch_size"),
    ("train.patch_size=0", "train.patch_size"),
    ("train.lr_generator=-1", "train.lr_generator"),
    ("train.log_every=0", "train.log_every"),
    ("train.num_workers=-1", "train.num_workers"),
    ("critic.spatial_width=0", "critic.spatial_width"),
    ("critic.cutoffs=[0.9,0.1]", "critic.cutoffs"),
    ("train.steps=.nan", "train.steps"),
    ("train.steps=1e400", "train.steps"),
    ("train.steps=-5", "train.steps"),
    ("loss.l1_weight=-100", "loss.l1_weight"),
    ("train.ema_decay=2", "train.ema_decay"),
    ("train.warmup_steps=-10", "train.warmup_steps"),
    ("loss.adversarial=wgan", "loss.adversarial"),
    ("train.data=[a, b]", "train.data"),
]


@pytest.mark.parametrize("override, option", BAD_OPTIONS)
def test_invalid_training_options_are_one_line(tmp_path: Path, capsys, override: str, option: str) -> None:
    code = train_main(["--out", str(tmp_path / "run"), "--set", override, "--device", "cpu"])
    line = no_traceback_one_line(capsys.readouterr().err)
    assert code == 1 and option in line, line
    assert not (tmp_path / "run").exists()


def test_steps_flag_is_bounded(tmp_path: Path, capsys) -> None:
    assert train_main(["--out", str(tmp_path / "run"), "--steps", "-5"]) == 1
    assert "train.steps" in no_traceback_one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"model: 5\n", "must be a mapping"),
        (b"train:\n  data: [a, b]\n", "expected a path"),
        (b"train:\n  steps: 1e400\n", "expected an integer"),
        (b"train:\n  steps: 10\n  seed: \xff\xfe\n", "not UTF-8"),
    ],
)
def test_bad_yaml_configs_are_one_line(tmp_path: Path, capsys, content: bytes, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_bytes(content)
    assert train_main(["--out", str(tmp_path / "run"), "--config", str(config)]) == 1
    line = no_traceback_one_line(capsys.readouterr().err)
    assert message in line and str(config) in line, line


def test_out_of_bounds_yaml_value_is_one_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "big.yaml"
    config.write_text("loss:\n  l1_weight: 1e400\n")
    assert train_main(["--out", str(tmp_path / "run"), "--config", str(config)]) == 1
    assert "loss.l1_weight: inf is outside the allowed range" in no_traceback_one_line(capsys.readouterr().err)


def test_out_pointing_at_a_file_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("not a folder")
    assert train_main(["--out", str(tmp_path / "file")]) == 1
    assert "exists and is not a folder" in no_traceback_one_line(capsys.readouterr().err)


@pytest.mark.parametrize("levels", [9, 8])
def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, capsys, levels: int) -> None:
    names = "abcdefghij"
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]  # 9**levels strings once expanded: 387 million at 9 levels
    lines += [f"{names[k]}: &{names[k]} [{','.join([f'*{names[k - 1]}'] * 9)}]" for k in range(1, levels)]
    config = tmp_path / "bomb.yaml"
    config.write_text("\n".join(lines) + "\n")
    assert config.stat().st_size <= 306
    assert train_main(["--out", str(tmp_path / "run"), "--config", str(config)]) == 1
    line = no_traceback_one_line(capsys.readouterr().err)
    assert "aliases" in line and len(line) < 400


# ----------------------------------------------------------------------------- 12. entries skipped in folders


def test_skipped_folder_entries_are_listed(tmp_path: Path, capsys) -> None:
    root = tmp_path / "in"
    png(root / "plain.png")
    png(tmp_path / "elsewhere" / "linked.png")
    (root / "linked_dir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "broken.png").symlink_to(tmp_path / "missing.png")
    os.mkfifo(root / "pipe.png")
    (root / "phone.heic").write_bytes(b"\0\0\0\x18ftypheic")
    (root / "a.jfif").write_bytes(jpeg_bytes(8, 8))
    (root / "b.jpe").write_bytes(jpeg_bytes(8, 8))
    code, stdout, stderr = infer([str(root), "-o", str(tmp_path / "out"), "--dcp"], capsys)
    assert code == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "plain.png"]
    assert f"{root / 'broken.png'}: broken symbolic link" in stderr
    assert f"{root / 'pipe.png'}: not a regular file" in stderr
    assert f"{root / 'linked_dir'}: symbolic link to a folder (not followed" in stderr
    assert f"{root / 'phone.heic'}: unsupported image format .heic" in stderr


# ----------------------------------------------------------------------------- 13. checkpoints


def test_finite_but_huge_weights_are_refused(tmp_path: Path) -> None:
    from dehaze.checkpoint import load_generator, save_generator
    from dehaze.config import ModelConfig
    from dehaze.models.build import build_generator

    config = ModelConfig(width=4, view_size=16)
    model = build_generator(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(1e30)
    save_generator(model, config, tmp_path / "huge.safetensors")
    with pytest.raises(DehazeError, match="weights above 10000 in magnitude"):
        load_generator(tmp_path / "huge.safetensors")


def test_unet_bounds_allow_pix2pix_width_and_no_more() -> None:
    """Width 64 (pix2pix) is allowed, its memory bounded by the tile (tests/test_unet_memory.py); 65 is refused."""
    from dehaze.config import ModelConfig, validate_model_config

    validate_model_config(ModelConfig(arch="unet", base_width=64, depth=6))
    with pytest.raises(DehazeError, match="model.base_width: 65 is outside"):
        validate_model_config(ModelConfig(arch="unet", base_width=65, depth=6))


# ----------------------------------------------------------------------------- 14. stale temp files


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temp_files_of_killed_runs_are_removed_and_live_ones_kept(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".photo.png.{dead_pid()}.abcd1234.tmp"
    live = out / f".photo.png.{os.getppid()}.abcd1234.tmp"  # our parent runs: a concurrent writer
    stale_dir = out / f".dehaze-synth.{dead_pid()}.abcd1234.tmp"
    for path in (stale, live):
        path.write_bytes(b"half")
    stale_dir.mkdir()
    (stale_dir / "x.png").write_bytes(b"half")
    png(tmp_path / "in" / "photo.png")
    code, _, _ = infer([str(tmp_path / "in"), "-o", str(out), "--dcp"], capsys)
    assert code == 0 and not stale.exists() and not stale_dir.exists() and live.exists()
    assert remove_stale_temps(out) == []


def test_atomic_write_uses_the_temp_naming(tmp_path: Path, monkeypatch) -> None:
    seen: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: seen.append(Path(src).name) or real_replace(src, dst))
    atomic_write_bytes(tmp_path / ("n" * 255), b"data")
    assert len(seen) == 1 and seen[0].startswith("." + "n" * 200 + f".{os.getpid()}.") and len(seen[0]) < 256


# ----------------------------------------------------------------------------- 16. dehaze-fid


class FakeInception(torch.nn.Module):
    """Stands in for Inception: 2048 'features' from the mean colour (enough to count images)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, batch: torch.Tensor) -> list[torch.Tensor]:
        means = batch.mean(dim=(2, 3)) * self.scale
        return [means.repeat(1, 683)[:, :2048, None, None]]


def test_fid_names_unreadable_files_and_goes_on(tmp_path: Path, capsys, monkeypatch) -> None:
    from dehaze.cli.fid import main as fid_main
    from dehaze.metrics import inception

    monkeypatch.setattr(inception, "load_inception", lambda weights=None, device="cpu": FakeInception())
    for folder in ("a", "b"):
        for name in ("x.png", "y.png", "z.png"):
            png(tmp_path / folder / name)
    (tmp_path / "a" / "broken.png").write_bytes(b"not an image")
    values = np.full((12, 16), 0.5, np.float32)
    values[0, 0] = np.nan
    float_tiff(tmp_path / "b" / "nan.tif", values)
    code = fid_main([str(tmp_path / "a"), str(tmp_path / "b"), "--quiet", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 2 and "(3 images in" in captured.out and "3 in" in captured.out
    assert f"{tmp_path / 'a' / 'broken.png'}: not an image" in captured.err
    assert f"{tmp_path / 'b' / 'nan.tif'}: image has NaN" in captured.err
    assert "Traceback" not in captured.err


# ----------------------------------------------------------------------------- wording


def test_fifo_given_directly_is_not_called_empty(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageReadError, match="not a regular file"):
        read_image(fifo, channels=None)  # and it does not block waiting for a writer


def test_float_rgb_tiff_is_named_as_a_tiff_we_cannot_decode(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "float_rgb.tif"
    tifffile.imwrite(path, np.full((8, 8, 3), 0.5, np.float32), photometric="rgb")
    with pytest.raises(ImageReadError, match="TIFF layout we cannot decode"):
        read_image(path, channels=None)


def test_folder_named_like_an_output_is_a_failure_not_skipped(tmp_path: Path, capsys) -> None:
    png(tmp_path / "in" / "photo.png")
    (tmp_path / "out" / "photo.png").mkdir(parents=True)
    code, stdout, stderr = infer([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--dcp"], capsys)
    assert code == 2 and "skipped 0 existing" in stdout
    assert "exists and is not a regular file" in stderr
