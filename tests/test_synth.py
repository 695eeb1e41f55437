"""dehaze-synth and the embedded default data: outputs, determinism, bad inputs, and loading the result."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dehaze.cli.synth import main
from dehaze.data import default as default_data
from dehaze.data.dataset import PairedDataset
from dehaze.data.pairing import find_pairs
from dehaze.haze import add_haze
from dehaze.imageio import read_image
from dehaze.synth import MANIFEST_COLUMNS, SynthConfig, read_manifest


def make_photos(folder: Path, count: int = 3, height: int = 36, width: int = 44) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = np.mgrid[0:height, 0:width]
    paths = []
    for i in range(count):
        red = 128 + 100 * np.sin(rows / (4 + i)) * np.cos(cols / 5)
        rgb = np.stack([red, (rows * 5) % 256, (cols * 3 + 40 * i) % 256], axis=2).astype(np.uint8)
        path = folder / f"photo_{i}.{'png' if i % 2 == 0 else 'jpg'}"
        Image.fromarray(rgb).save(path)
        paths.append(path)
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--quiet"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def files_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synth_writes_pairs_that_the_dataset_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_photos(tmp_path / "photos")
    code, out, _ = run(capsys, str(tmp_path / "photos"), str(tmp_path / "out"), "--variants", "2", "--seed", "3")
    assert code == 0 and "wrote 6 hazy/clean pairs (3 clean images)" in out
    rows = read_manifest(tmp_path / "out" / "manifest.csv")
    assert tuple(rows[0]) == MANIFEST_COLUMNS and len(rows) == 6
    for row in rows:
        assert re.fullmatch(r"hazy/photo_\d_\d\.\d\d_\d\.\d\d\.png", row["hazy"])
        beta, airlight = float(row["beta"]), float(row["airlight"])
        assert 0.6 <= beta <= 1.8 and 0.7 <= airlight <= 1.0
        assert row["hazy"] == f"hazy/{Path(row['clean']).stem}_{row['airlight']}_{row['beta']}.png"
        assert row["depth_source"] == "synthetic" and row["source"].startswith("photo_")
        hazy = read_image(tmp_path / "out" / row["hazy"], 3)
        assert hazy.shape == (36, 44, 3) and np.array_equal(hazy[..., 0], hazy[..., 2])  # grayscale by default
        clean = read_image(tmp_path / "out" / row["clean"], 1)
        assert (hazy[..., :1] >= np.minimum(clean, airlight) - 1 / 255).all()  # haze moves pixels towards A

    scan = find_pairs(tmp_path / "out")
    assert len(scan.pairs) == 6 and not scan.unpaired_hazy and not scan.unpaired_clean
    item = PairedDataset(scan.pairs, channels=1, patch_size=32, train=True)[0]
    assert item["hazy"].shape == (1, 32, 32)


def test_crops_variants_and_unique_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_photos(tmp_path / "photos", count=2)
    (tmp_path / "photos" / "sub").mkdir()
    Image.new("RGB", (40, 40), (90, 120, 200)).save(tmp_path / "photos" / "sub" / "photo_0.png")  # same stem
    argv = ["--crop", "16", "--per-image", "3", "--variants", "2", "--color"]
    code, _, _ = run(capsys, str(tmp_path / "photos"), str(tmp_path / "out"), *argv)
    assert code == 0
    clean_names = sorted(p.name for p in (tmp_path / "out" / "clean").iterdir())
    assert len(clean_names) == 9 and len(set(clean_names)) == 9
    assert "photo_0-c000.png" in clean_names and "sub-photo_0-c002.png" in clean_names
    assert len(list((tmp_path / "out" / "hazy").iterdir())) == 18
    hazy = read_image(next((tmp_path / "out" / "hazy").iterdir()), 3)
    assert hazy.shape == (16, 16, 3)
    assert len(find_pairs(tmp_path / "out").pairs) == 18


def test_seed_makes_output_byte_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_photos(tmp_path / "photos")
    args = ["--crop", "20", "--per-image", "2", "--variants", "2"]
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert run(capsys, str(tmp_path / "photos"), str(tmp_path / name), "--seed", seed, *args)[0] == 0
    first, second, other = (files_bytes(tmp_path / name) for name in "abc")
    assert first == second
    assert first != other


def test_depth_folder_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_photos(tmp_path / "photos", count=1, height=20, width=24)
    (tmp_path / "depth").mkdir()
    depth = np.tile(np.linspace(255, 0, 20)[:, None], (1, 24)).astype(np.uint8)
    Image.fromarray(depth).save(tmp_path / "depth" / "photo_0.png")
    argv = [str(tmp_path / "photos"), str(tmp_path / "out"), "--depth", str(tmp_path / "depth")]
    code, _, _ = run(capsys, *argv, "--beta", "1.5", "1.5", "--airlight", "0.9", "0.9")
    assert code == 0
    row = read_manifest(tmp_path / "out" / "manifest.csv")[0]
    assert row["depth_source"] == "photo_0.png" and row["beta"] == "1.50" and row["airlight"] == "0.90"
    clean = read_image(tmp_path / "out" / row["clean"], 1)
    expected = add_haze(clean, depth / 255.0, 1.5, 0.9)
    np.testing.assert_allclose(read_image(tmp_path / "out" / row["hazy"], 1), expected, atol=1.01 / 255)

    (tmp_path / "depth" / "photo_0.png").unlink()
    code, _, err = run(capsys, argv[0], str(tmp_path / "other"), *argv[2:])
    assert code == 1 and "no depth map" in err and "photo_0.png" in err


@pytest.mark.parametrize("content", [b"", b"plain text, not an image", "truncated"])
def test_bad_file_exit_code_and_skip_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], content) -> None:
    make_photos(tmp_path / "photos", count=2)
    bad = tmp_path / "photos" / "bad.png"
    if content == "truncated":
        good = (tmp_path / "photos" / "photo_0.png").read_bytes()
        content = good[: len(good) // 2]
    bad.write_bytes(content)
    code, _, err = run(capsys, str(tmp_path / "photos"), str(tmp_path / "out"))
    assert code == 1 and err.startswith("error: ") and str(bad) in err
    assert not (tmp_path / "out" / "hazy").exists()  # a failed run leaves no partial output
    code, out, err = run(capsys, str(tmp_path / "photos"), str(tmp_path / "out"), "--skip-bad")
    assert code == 0 and f"skipped {bad}" in err and "skipped 1 unreadable" in out
    assert len(find_pairs(tmp_path / "out").pairs) == 2


def test_refuses_unsafe_or_empty_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    make_photos(photos, count=1)
    before = files_bytes(photos)
    for out_dir in (photos, photos / "out"):
        code, _, err = run(capsys, str(photos), str(out_dir))
        assert code == 1 and "error:" in err
    code, _, err = run(capsys, str(photos), str(photos.parent))  # would write photos' siblings: fine
    assert code == 0
    code, _, err = run(capsys, str(photos), str(photos.parent))
    assert code == 1 and "--overwrite" in err
    assert run(capsys, str(photos), str(photos.parent), "--overwrite")[0] == 0
    assert run(capsys, str(tmp_path / "clean"), str(tmp_path), "--overwrite")[0] == 1  # CLEAN_DIR = OUT_DIR/clean
    assert files_bytes(photos) == before
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, str(tmp_path / "empty"), str(tmp_path / "o"))
    assert code == 1 and "no images found" in err
    code, _, err = run(capsys, str(tmp_path / "missing"), str(tmp_path / "o"))
    assert code == 1 and "missing: no such file or folder (CLEAN_DIR)" in err
    code, _, err = run(capsys, str(photos), str(tmp_path / "o"), "--beta", "2", "1")
    assert code == 1 and "beta" in err
    with pytest.raises(SystemExit) as info:
        main([str(photos), str(tmp_path / "o"), "--per-image", "3"])
    assert info.value.code == 2


def test_default_data_is_cached_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(default_data.sample_photo_paths()) == len(default_data.SAMPLE_PHOTOS)  # bundled, no download
    monkeypatch.setenv("DEHAZE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(default_data, "SAMPLE_PHOTOS", ("camera.png", "coffee.png"))
    small = SynthConfig(seed=0, crop=32, per_image=2, variants=2, progress=False)
    monkeypatch.setattr(default_data, "DEFAULT_SYNTH", small)
    root = default_data.default_data_root()
    assert root == tmp_path / "cache" / default_data.DEFAULT_DATA_VERSION
    assert len(find_pairs(root).pairs) == 8
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [root.name]  # no temp folders left
    stamp = (root / "manifest.csv").stat().st_mtime_ns
    assert default_data.default_data_root() == root and (root / "manifest.csv").stat().st_mtime_ns == stamp
    (root / "manifest.csv").unlink()  # an incomplete cache is rebuilt
    assert len(find_pairs(default_data.default_data_root()).pairs) == 8
