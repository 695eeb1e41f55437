"""Property-based tests of every reader a user can hand a file to (issue 29), and the corpus replay.

Hypothesis drives the generators of :mod:`fuzz` (the campaign's own, through ``st.randoms()``, so failures
shrink) for each reader: the image reader (12 formats, bit flips, cuts, spliced chunks, garbage after the magic,
absurd declared sizes, pixel bombs), the checkpoint loader, ``--resume``'s training-state loader, the YAML config
and ``--set``, the shard reader and the app's upload function. The property (:func:`fuzz.check.check_case`):
a result, or a one-line DehazeError naming the input; never another exception, never over 30 s a case, never
more than the documented memory (an address-space ceiling while the examples run).

``DEHAZE_FUZZ_EXAMPLES`` sets the examples per reader (default 200; the upload, which dehazes every photo it
reads, and ``--resume``, which builds a run's models every time, take a quarter and a half of it); the examples are
derandomised, so CI sees the same ones every run (the campaign, ``scripts/fuzz.py``, explores with new seeds).
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dehaze.data.shards import ShardStream, ShardStreamConfig
from dehaze.imageio import LIMITS, set_max_pixels
from fuzz.case import FuzzCase, corpus_files
from fuzz.check import check_case, memory_ceiling
from fuzz.targets import TARGETS

EXAMPLES = int(os.environ.get("DEHAZE_FUZZ_EXAMPLES", "200"))
SHARE = {"upload": 0.25, "training_state": 0.5}  # of EXAMPLES, for the two readers whose examples cost the most
CORPUS = Path(__file__).parent / "fuzz_corpus"
PROPERTY_SETTINGS = dict(
    deadline=None,  # the time bound is part of the property (check_case), not a flaky per-example deadline
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_reader_gives_a_result_or_a_one_line_error(target: str) -> None:
    @settings(max_examples=max(1, round(EXAMPLES * SHARE.get(target, 1.0))), **PROPERTY_SETTINGS)
    @given(rng=st.randoms(use_true_random=False))
    def keeps_the_promise(rng) -> None:  # noqa: ANN001 - Hypothesis' Random
        case = TARGETS[target].generate(rng)
        with tempfile.TemporaryDirectory(prefix="dehaze-fuzz-test-") as folder:
            verdict = check_case(case, Path(folder))
        assert not verdict.failed, f"{verdict.signature}: {verdict.detail}"

    with memory_ceiling():
        keeps_the_promise()


@pytest.mark.parametrize("path", corpus_files(CORPUS), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_corpus_reproducers_keep_the_promise(path: Path, tmp_path: Path) -> None:
    """Every input the campaign (or a person) once found failing, replayed: each was a bug, now fixed."""
    verdict = check_case(FuzzCase.from_json(path.read_text()), tmp_path)
    assert not verdict.failed, f"{path.name}: {verdict.signature}: {verdict.detail}"


def test_the_corpus_is_not_empty() -> None:
    assert {path.parent.name for path in corpus_files(CORPUS)} <= set(TARGETS)
    assert len(corpus_files(CORPUS)) >= 5


def test_shard_images_are_held_to_the_pixel_limit(tmp_path: Path) -> None:
    """Found while adding the shard target: shard members were decoded with no pixel limit (no traceback, so no
    corpus case); now the header is checked against --max-pixels first, as for every image file."""
    png = io.BytesIO()
    Image.new("L", (40, 30)).save(png, "PNG")
    shard = tmp_path / "train-000000.tar"
    with tarfile.open(shard, "w") as archive:
        for name in ("00000000.hazy.png", "00000000.clean.png"):
            info = tarfile.TarInfo(name)
            info.size = len(png.getvalue())
            archive.addfile(info, io.BytesIO(png.getvalue()))
    before = LIMITS.max_pixels
    try:
        set_max_pixels(1000)
        item = next(iter(ShardStream(ShardStreamConfig([str(shard)], patch_size=16))))
    finally:
        set_max_pixels(before)
    assert item["error"].startswith(f"shard {shard}: sample 00000000: hazy.png: 40×30 = 0.0 MP is above the limit")
