"""No-reference measures and the real-photo mode of dehaze-fid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dehaze.cli.fid import main as fid_main
from dehaze.metrics.no_reference import (
    ReferenceStats,
    artefact_gain,
    fade_available,
    fade_score,
    flat_mask,
    reference_cache_path,
)


def _foggy(height: int = 64, width: int = 80, seed: int = 0) -> np.ndarray:
    """A flat foggy sky on top, textured ground below, with a little noise."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 0.8, np.float32)
    image[height // 2 :] = rng.uniform(0.3, 0.7, (height - height // 2, width, 3))
    return np.clip(image + rng.normal(0, 0.005, image.shape), 0, 1).astype(np.float32)


def test_flat_mask_finds_the_sky() -> None:
    mask = flat_mask(_foggy())
    assert mask[:28].mean() > 0.4 and mask[36:].mean() < 0.05


def test_artefact_gain_is_one_for_the_input_and_rises_with_amplified_noise() -> None:
    hazy = _foggy()
    assert artefact_gain(hazy, hazy) == pytest.approx(1.0)
    stretched = np.clip((hazy - 0.8) * 3 + 0.8, 0, 1)  # a 1/t gain of 3 around the sky: its noise grows 3×
    assert artefact_gain(stretched, hazy) == pytest.approx(3.0, rel=0.1)
    blotchy = hazy.copy()
    blotchy[:32, :, 0] += np.random.default_rng(1).normal(0, 0.03, (32, 80))  # chroma blotches in the sky
    assert artefact_gain(blotchy, hazy) > 3.0
    smoothed = hazy.copy()
    smoothed[:32] = 0.8
    assert artefact_gain(smoothed, hazy) < 0.2


@pytest.mark.skipif(not fade_available(), reason="optional fade-python not installed")
def test_fade_is_lower_for_a_clearer_photo() -> None:
    clear = _foggy(96, 96)
    clear[48:] = np.random.default_rng(2).uniform(0.0, 1.0, (48, 96, 3))
    foggy = 0.3 * clear + 0.7 * 0.85
    assert fade_score(clear) < fade_score(foggy)


def test_reference_stats_round_trip_as_pytorch_fid_npz(tmp_path: Path) -> None:
    stats = ReferenceStats(np.arange(3.0), np.eye(3), np.ones((4, 3)), 4)
    stats.save(tmp_path / "ref.npz")
    with np.load(tmp_path / "ref.npz") as data:  # what pytorch-fid reads
        assert np.array_equal(data["mu"], stats.mu) and np.array_equal(data["sigma"], stats.sigma)
    again = ReferenceStats.load(tmp_path / "ref.npz")
    assert again.count == 4 and np.array_equal(again.spectral, stats.spectral)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not FID statistics"):
        ReferenceStats.load(tmp_path / "bad.npz")


def test_reference_cache_key_changes_with_the_files(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    key = reference_cache_path([path], 3)
    assert key == reference_cache_path([path], 3) and key != reference_cache_path([path], 1)
    Image.fromarray(np.ones((9, 9), np.uint8)).save(path)
    assert reference_cache_path([path], 3) != key


def test_real_mode_reports_rows_and_names_unreadable_photos(tmp_path: Path, capsys) -> None:
    photos = tmp_path / "fog"
    photos.mkdir()
    for i in range(3):
        Image.fromarray((_foggy(seed=i) * 255).astype(np.uint8)).save(photos / f"fog{i}.png")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    out = tmp_path / "real.json"
    code = fid_main(["--real", str(photos), "--dcp", "--quiet", "--out-json", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and "broken.jpg" in captured.err
    rows = json.loads(out.read_text())["rows"]
    assert [row["name"] for row in rows] == ["hazy input", "dark channel prior"]
    assert rows[0]["artefact_gain"] == pytest.approx(1.0) and rows[1]["artefact_gain"] > 1.0
    assert rows[0]["count"] == 3 and rows[0]["fid"] is None  # no --reference: no FID
    assert rows[0]["luminance_change"] == 0.0 and rows[0]["crushed_change"] == 0.0
    assert rows[1]["luminance_change"] < 0.0  # DCP takes the airlight out: darker
    assert rows[0]["niqe"] is None  # 64×80 photos: under two 96×96 blocks
    assert "NIQE" in captured.out and "Crushed" in captured.out


def test_real_mode_with_no_fid_and_an_uncached_reference_says_so(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DEHAZE_CACHE", str(tmp_path / "cache"))  # the reference's statistics are not cached
    photos, reference = tmp_path / "fog", tmp_path / "clean"
    for folder in (photos, reference):
        folder.mkdir()
    for i in range(2):
        Image.fromarray((_foggy(seed=i) * 255).astype(np.uint8)).save(photos / f"fog{i}.png")
        Image.fromarray(np.full((40, 40, 3), 90 + 40 * i, np.uint8)).save(reference / f"clean{i}.png")
    out = tmp_path / "real.json"
    args = ["--real", str(photos), "--reference", str(reference), "--no-fid", "--quiet", "--out-json", str(out)]
    assert fid_main(args) == 0
    rows = json.loads(out.read_text())["rows"]
    assert rows[0]["fid"] is None and rows[0]["detectability"] is None
    assert "not cached yet" in capsys.readouterr().out
