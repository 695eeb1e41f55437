"""dehaze.data.pairing: every pairing rule, clean-folder names, unpaired reporting and the zero-pair error."""

from __future__ import annotations

from pathlib import Path

import pytest

from dehaze.data.pairing import clean_stem_candidates, find_pairs
from dehaze.errors import DehazeError


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # pairing looks at names only


def pair_names(root: Path) -> list[tuple[str, str]]:
    return [(h.relative_to(root).as_posix(), c.relative_to(root).as_posix()) for h, c in find_pairs(root).pairs]


def test_same_stem_any_suffix(tmp_path: Path) -> None:
    touch(tmp_path, "hazy/a.jpg", "hazy/b.png", "clean/a.png", "clean/b.tif")
    assert pair_names(tmp_path) == [("hazy/a.jpg", "clean/a.png"), ("hazy/b.png", "clean/b.tif")]


def test_reside_rule(tmp_path: Path) -> None:
    touch(tmp_path, "hazy/0001_0.8_0.2.jpg", "hazy/0001_1_0.16.jpg", "hazy/1400_3.png", "hazy/part1/0002_0.9_0.1.jpg")
    touch(tmp_path, "clear/0001.png", "clear/1400.png", "clear/0002.jpg")
    assert pair_names(tmp_path) == [
        ("hazy/0001_0.8_0.2.jpg", "clear/0001.png"),
        ("hazy/0001_1_0.16.jpg", "clear/0001.png"),  # several hazy images share one clean image
        ("hazy/1400_3.png", "clear/1400.png"),
        ("hazy/part1/0002_0.9_0.1.jpg", "clear/0002.jpg"),
    ]


def test_ohaze_rule(tmp_path: Path) -> None:
    touch(
        tmp_path, "hazy/01_outdoor_hazy.jpg", "hazy/02_indoor_hazy.JPG", "GT/01_outdoor_GT.jpg", "GT/02_indoor_GT.jpg"
    )
    assert pair_names(tmp_path) == [
        ("hazy/01_outdoor_hazy.jpg", "GT/01_outdoor_GT.jpg"),
        ("hazy/02_indoor_hazy.JPG", "GT/02_indoor_GT.jpg"),
    ]


def test_synth_names_with_underscored_ids(tmp_path: Path) -> None:
    touch(tmp_path, "hazy/img_1_0.85_1.20.png", "hazy/my_photo-c002_0.70_0.60.png")
    touch(tmp_path, "gt/img_1.png", "gt/img.png", "gt/my_photo-c002.png")
    assert pair_names(tmp_path) == [
        ("hazy/img_1_0.85_1.20.png", "gt/img_1.png"),  # longest candidate wins
        ("hazy/my_photo-c002_0.70_0.60.png", "gt/my_photo-c002.png"),
    ]


def test_candidates() -> None:
    assert clean_stem_candidates("0001_0.8_0.2") == ["0001_0.8_0.2", "0001_0.8", "0001"]
    assert clean_stem_candidates("1400_3") == ["1400_3", "1400"]
    assert clean_stem_candidates("01_outdoor_hazy")[1] == "01_outdoor_GT"
    assert clean_stem_candidates("photo") == ["photo"]


@pytest.mark.parametrize("folder", ["clean", "GT", "gt", "clear"])
def test_clean_folder_names(tmp_path: Path, folder: str) -> None:
    touch(tmp_path, "hazy/x.png", f"{folder}/x.png")
    scan = find_pairs(tmp_path)
    assert len(scan.pairs) == 1 and scan.clean_folder.name.lower() == folder.lower()


def test_unpaired_counted_with_examples(tmp_path: Path) -> None:
    touch(tmp_path, "hazy/a.png", "hazy/lonely1.png", "hazy/lonely2.png", "clean/a.png", "clean/unused.png")
    touch(tmp_path, "hazy/readme.txt")  # not an image suffix: ignored
    scan = find_pairs(tmp_path)
    assert [p.name for p in scan.unpaired_hazy] == ["lonely1.png", "lonely2.png"]
    assert [p.name for p in scan.unpaired_clean] == ["unused.png"]
    summary = scan.summary()
    assert "1 hazy/clean pairs" in summary
    assert "2 hazy images without a clean image" in summary and "hazy/lonely1.png" in summary
    assert "1 clean images without a hazy image" in summary and "clean/unused.png" in summary


def test_zero_pairs_says_what_was_expected(tmp_path: Path) -> None:
    touch(tmp_path, "hazy/a.png", "clean/b.png")
    with pytest.raises(DehazeError) as info:
        find_pairs(tmp_path)
    message = str(info.value)
    assert "no hazy/clean pairs" in message and "hazy/a.png" in message and "clean/b.png" in message
    assert "0001_0.8_0.2.jpg" in message and "01_outdoor_hazy.jpg" in message


def test_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(DehazeError, match="no hazy/ folder"):
        find_pairs(tmp_path)
    touch(tmp_path, "hazy/a.png", "images/a.png")
    with pytest.raises(DehazeError, match="no clean folder") as info:
        find_pairs(tmp_path)
    assert "images/" in str(info.value)
    with pytest.raises(DehazeError, match="not a folder"):
        find_pairs(tmp_path / "nope")
