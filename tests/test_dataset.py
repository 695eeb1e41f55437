"""dehaze.data.dataset: aligned augmentation, deterministic evaluation, bad pairs, grouped splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from dehaze.data.dataset import PairedDataset, split_pairs
from dehaze.errors import DehazeError, ImageReadError


def make_pair(root: Path, name: str, height: int = 40, width: int = 48, seed: int = 0) -> tuple[Path, Path]:
    """A random hazy image and clean = 255 − hazy, so alignment is checkable pixel by pixel."""
    hazy = (np.random.default_rng(seed).random((height, width)) * 255).astype(np.uint8)
    (root / "hazy").mkdir(parents=True, exist_ok=True)
    (root / "clean").mkdir(parents=True, exist_ok=True)
    hazy_path, clean_path = root / "hazy" / f"{name}.png", root / "clean" / f"{name}.png"
    Image.fromarray(hazy).save(hazy_path)
    Image.fromarray(255 - hazy).save(clean_path)
    return hazy_path, clean_path


def test_train_augmentation_keeps_pairs_aligned(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, "a")
    torch.manual_seed(0)
    dataset = PairedDataset([pair], channels=1, patch_size=16, train=True)
    patches = set()
    for _ in range(20):
        item = dataset[0]
        assert item["hazy"].shape == (1, 16, 16) and item["clean"].shape == (1, 16, 16)
        assert item["name"] == "a"
        torch.testing.assert_close(item["clean"], 1.0 - item["hazy"], atol=1e-6, rtol=0)
        patches.add(item["hazy"].numpy().tobytes())
    assert len(patches) > 10  # crops/flips really vary


def test_train_patch_is_a_transformed_window_of_the_image(tmp_path: Path) -> None:
    hazy_path, clean_path = make_pair(tmp_path, "a", height=20, width=20)
    image = np.asarray(Image.open(hazy_path), dtype=np.float32) / 255.0
    dataset = PairedDataset([(hazy_path, clean_path)], patch_size=8, train=True)
    patch = dataset[0]["hazy"][0].numpy()
    views = [np.rot90(v, k) for v in (image, image[::-1], image[:, ::-1], image[::-1, ::-1]) for k in range(4)]
    found = any(np.allclose(view[y : y + 8, x : x + 8], patch) for view in views for y in range(13) for x in range(13))
    assert found


def test_augmentation_reproducible_with_torch_seed(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, "a")
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        dataset = PairedDataset([pair], patch_size=16, train=True)
        runs.append(torch.stack([dataset[0]["hazy"] for _ in range(5)]))
    torch.testing.assert_close(runs[0], runs[1])


def test_workers_do_not_repeat_each_other(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, "a")
    dataset = PairedDataset([pair] * 4, patch_size=16, train=True)
    torch.manual_seed(0)
    loader = DataLoader(dataset, batch_size=1, num_workers=2)
    patches = [batch["hazy"].numpy().tobytes() for batch in loader]
    assert len(set(patches)) > 1


def test_eval_is_deterministic_center_crop(tmp_path: Path) -> None:
    hazy_path, clean_path = make_pair(tmp_path, "a", height=40, width=48)
    image = np.asarray(Image.open(hazy_path), dtype=np.float32) / 255.0
    dataset = PairedDataset([(hazy_path, clean_path)], patch_size=16, train=False)
    first, second = dataset[0], dataset[0]
    torch.testing.assert_close(first["hazy"], second["hazy"])
    np.testing.assert_allclose(first["hazy"][0].numpy(), image[12:28, 16:32], atol=1e-6)
    torch.testing.assert_close(first["clean"], 1.0 - first["hazy"], atol=1e-6, rtol=0)
    whole = PairedDataset([(hazy_path, clean_path)], patch_size=None, train=False)[0]
    assert whole["hazy"].shape == (1, 40, 48)


def test_small_images_are_reflect_padded(tmp_path: Path) -> None:
    hazy_path, clean_path = make_pair(tmp_path, "small", height=10, width=12)
    image = np.asarray(Image.open(hazy_path), dtype=np.float32) / 255.0
    item = PairedDataset([(hazy_path, clean_path)], patch_size=16, train=False)[0]
    assert item["hazy"].shape == (1, 16, 16)
    np.testing.assert_allclose(item["hazy"][0, 3:13, 2:14].numpy(), image, atol=1e-6)
    np.testing.assert_allclose(item["hazy"][0, 2].numpy(), item["hazy"][0, 4].numpy())  # mirrored row
    torch.testing.assert_close(item["clean"], 1.0 - item["hazy"], atol=1e-6, rtol=0)


def test_colour_channels(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, "a")
    item = PairedDataset([pair], channels=3, patch_size=16, train=True)[0]
    assert item["hazy"].shape == (3, 16, 16) and item["clean"].shape == (3, 16, 16)


def test_size_mismatch_names_both_files(tmp_path: Path) -> None:
    good = make_pair(tmp_path, "good")
    hazy_path, clean_path = make_pair(tmp_path, "bad")
    Image.new("L", (30, 30)).save(clean_path)
    with pytest.raises(DehazeError) as info:
        PairedDataset([good, (hazy_path, clean_path)])
    assert str(hazy_path) in str(info.value) and str(clean_path) in str(info.value)
    dataset = PairedDataset([good, (hazy_path, clean_path)], skip_bad=True)
    assert dataset.pairs == [good]
    assert len(dataset.skipped) == 1 and dataset.skipped[0][0] == hazy_path and "size" in dataset.skipped[0][1]


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
def test_unreadable_file_raises_or_is_skipped(tmp_path: Path, content: bytes) -> None:
    good = make_pair(tmp_path, "good")
    hazy_path, clean_path = make_pair(tmp_path, "bad")
    hazy_path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        PairedDataset([good, (hazy_path, clean_path)])
    assert info.value.path == hazy_path
    dataset = PairedDataset([good, (hazy_path, clean_path)], skip_bad=True)
    assert len(dataset) == 1 and dataset.skipped[0][0] == hazy_path


def test_truncated_pixel_data_found_when_loading(tmp_path: Path) -> None:
    good = make_pair(tmp_path, "good")
    hazy_path, clean_path = make_pair(tmp_path, "cut", seed=1)
    data = hazy_path.read_bytes()
    hazy_path.write_bytes(data[: len(data) // 2])  # header intact: passes the size scan
    dataset = PairedDataset([(hazy_path, clean_path), good], patch_size=16)
    with pytest.raises(ImageReadError, match="truncated"):
        dataset[0]
    tolerant = PairedDataset([(hazy_path, clean_path), good], patch_size=16, skip_bad=True)
    with pytest.warns(UserWarning, match="cut.png"):
        item = tolerant[0]
    assert item["name"] == "good"


def test_no_pairs_left() -> None:
    with pytest.raises(DehazeError):
        PairedDataset([])


def test_split_pairs_grouped_by_clean_image() -> None:
    pairs = [(Path(f"hazy/{i:02d}_{v}.png"), Path(f"clean/{i:02d}.png")) for i in range(20) for v in range(3)]
    train, val, test = split_pairs(pairs, val_fraction=0.1, test_fraction=0.2, seed=7)
    assert len(train) + len(val) + len(test) == len(pairs)
    cleans = [{c for _, c in split} for split in (train, val, test)]
    assert len(cleans[1]) == 2 and len(cleans[2]) == 4
    assert not (cleans[0] & cleans[1]) and not (cleans[0] & cleans[2]) and not (cleans[1] & cleans[2])
    assert split_pairs(list(reversed(pairs)), 0.1, 0.2, seed=7) == (train, val, test)
    assert split_pairs(pairs, 0.1, 0.2, seed=8) != (train, val, test)
    small = split_pairs(pairs[:9], 0.05, 0.0, seed=0)  # 3 clean images: a non-zero fraction gets one
    assert len({c for _, c in small[1]}) == 1 and small[2] == []
    with pytest.raises(DehazeError):
        split_pairs(pairs, 0.6, 0.5, seed=0)
