"""WebDataset shards: writing (synthesised and packed pairs), reading back with plain webdataset, training from
shards with exact resume, readers split by rank and worker, bad shards named."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import webdataset as wds
from conftest import TINY_TRAIN_ARGS, make_pairs
from PIL import Image
from safetensors.torch import load_file

from dehaze.cli.synth import main as synth_main
from dehaze.cli.train import main as train_main
from dehaze.config import HazeConfig
from dehaze.data.onthefly import degrade
from dehaze.data.shards import ReaderLayout, ShardStream, ShardStreamConfig, resolve_shards, split_shards
from dehaze.train.sampling import StreamPosition


def _photos(folder: Path, count: int, size: tuple[int, int] = (40, 56)) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        coarse = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
        Image.fromarray(coarse).resize(size[::-1], Image.BICUBIC).save(folder / f"photo{i}.png")
    return folder


@pytest.fixture
def shard_dir(tmp_path: Path) -> Path:
    """16 colour samples (8 photos × 2 variants, 24 px) in 4 shards of 4."""
    clean, out = _photos(tmp_path / "clean", 8), tmp_path / "shards"
    args = [str(clean), str(out), "--shards", "--color", "--variants", "2", "--shard-size", "4", "--crop", "24"]
    assert synth_main([*args, "--quiet"]) == 0
    return out


def test_degrade_gives_the_same_outputs_with_and_without_a_record() -> None:
    clean = np.random.default_rng(5).random((24, 32, 3)).astype(np.float32)
    rich = HazeConfig(gray_probability=0.5, nonhomogeneous=(0, 0.3))
    for seed, config in [(0, HazeConfig()), (11, rich)]:
        record: dict = {}
        plain = degrade(clean, config, np.random.default_rng(seed))
        recorded = degrade(clean, config, np.random.default_rng(seed), record)
        assert all(np.array_equal(a, b) for a, b in zip(plain, recorded, strict=True))
        assert record["depth"].shape == (24, 32) and record["family"] in config.families
    # the outputs of the code before the record existed (draw order unchanged), sums over the images
    target, hazy = degrade(clean, HazeConfig(), np.random.default_rng(0))
    assert float(target.astype(np.float64).sum()) == pytest.approx(1070.9651111830876, rel=1e-6)
    assert float(hazy.astype(np.float64).sum()) == pytest.approx(1126.5686582964845, rel=1e-6)
    target, hazy = degrade(clean, rich, np.random.default_rng(11))
    assert float(hazy.astype(np.float64).sum()) == pytest.approx(788.6129113137722, rel=1e-6)
    gray = np.random.default_rng(5).random((24, 32, 1)).astype(np.float32)
    target, hazy = degrade(gray, dataclasses.replace(rich, tint=(-0.1, 0.1)), np.random.default_rng(3))
    assert float(hazy.astype(np.float64).sum()) == pytest.approx(444.7786263227463, rel=1e-6)


def test_shards_read_back_with_plain_webdataset(shard_dir: Path) -> None:
    urls = sorted(str(p) for p in shard_dir.glob("*.tar"))
    assert len(urls) == 4
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode("rgb"))
    assert len(samples) == 16
    for sample in samples:
        hazy, clean, meta = sample["hazy.png"], sample["clean.png"], sample["json"]
        assert hazy.shape == clean.shape == (24, 24, 3)
        assert sample["depth.npy"].shape == (24, 24)
        assert {"beta", "airlight", "family", "seed", "tint", "source"} <= set(meta)
    summary = json.loads((shard_dir / "shards.json").read_text())
    assert summary["samples"] == 16 and summary["haze"]["beta"] == list(HazeConfig().beta)


def test_shards_do_not_depend_on_the_number_of_workers(tmp_path: Path, shard_dir: Path) -> None:
    args = [str(tmp_path / "clean"), str(tmp_path / "again"), "--shards", "--color", "--variants", "2"]
    assert synth_main([*args, "--shard-size", "4", "--crop", "24", "--workers", "2", "--quiet"]) == 0
    for path in shard_dir.glob("*.tar"):
        assert path.read_bytes() == (tmp_path / "again" / path.name).read_bytes(), path.name


def test_paired_folder_is_packed_as_it_is(tmp_path: Path, capsys) -> None:
    root = make_pairs(tmp_path / "pairs", count=5, size=20)
    assert synth_main([str(root), str(tmp_path / "out"), "--shards", "--pairs", "--shard-size", "2", "--quiet"]) == 0
    samples = list(wds.WebDataset(str(tmp_path / "out" / "train-{000000..000002}.tar"), shardshuffle=False))
    assert len(samples) == 5
    for sample in samples:
        meta = json.loads(sample["json"])
        assert meta["kind"] == "pairs"
        stored = np.asarray(Image.open(io.BytesIO(sample["clean.png"])))
        assert np.array_equal(stored, np.asarray(Image.open(root / meta["clean"])))
    code = synth_main([str(root), str(tmp_path / "out"), "--shards", "--pairs", "--quiet"])
    assert code == 1 and "already holds shards" in capsys.readouterr().err


def _stream(urls: list[str], rank: int, world: int, workers: int = 1, **kw) -> ShardStream:
    layout = ReaderLayout(world, workers)
    return ShardStream(ShardStreamConfig(urls=urls, channels=3, patch_size=16, rank=rank, layout=layout, **kw))


def test_two_ranks_read_disjoint_shards_and_every_sample_once_per_epoch(shard_dir: Path) -> None:
    urls = resolve_shards(str(shard_dir))
    seen = []
    for rank in (0, 1):
        items = iter(_stream(urls, rank, world=2))
        keys = [next(items) for _ in range(8)]  # two shards of four samples: one epoch of this reader
        assert {k["epoch"] for k in keys} == {0}
        seen.append({k["name"] for k in keys})
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 16
    with pytest.raises(Exception, match="4 training shards for 6 readers"):
        _stream(urls, 0, world=2, workers=3)


def test_brace_patterns_and_pipe_urls_read_the_same_samples(shard_dir: Path) -> None:
    pattern = str(shard_dir / "train-{000000..000003}.tar")
    assert resolve_shards(pattern) == resolve_shards(str(shard_dir))
    piped = resolve_shards(f"pipe:cat {pattern}")
    assert piped[0] == f"pipe:cat {shard_dir / 'train-000000.tar'}"
    local, remote = iter(_stream(resolve_shards(pattern), 0, world=1)), iter(_stream(piped, 0, world=1))
    for _ in range(5):
        a, b = next(local), next(remote)
        assert a["name"] == b["name"] and torch.equal(a["clean"], b["clean"])
    with pytest.raises(Exception, match=r"train-000004.tar: shard not found \(and 5 more\)"):
        resolve_shards(str(shard_dir / "train-{000000..000009}.tar"))


def test_stream_continues_exactly_from_a_saved_position(shard_dir: Path) -> None:
    urls = resolve_shards(str(shard_dir))
    straight = iter(_stream(urls, 0, world=1))
    items = [next(straight) for _ in range(23)]  # past one epoch (16 samples)
    at = items[9]
    resumed = iter(_stream(urls, 0, world=1, positions={0: (at["epoch"], at["shard"], at["offset"])}))
    for expected in items[10:]:
        got = next(resumed)
        assert got["name"] == expected["name"] and torch.equal(got["hazy"], expected["hazy"])


def test_held_out_shards_are_whole_and_seeded() -> None:
    urls = [f"s{i}.tar" for i in range(10)]
    train, val, test = split_shards(urls, 0.1, 0.2, seed=0)
    assert (len(train), len(val), len(test)) == (7, 1, 2)
    assert sorted(train + val + test) == sorted(urls)
    assert split_shards(list(reversed(urls)), 0.1, 0.2, seed=0) == (train, val, test)


def _train_args(shards: Path, run: Path, steps: int, *extra: str) -> list[str]:
    model = ["--set", "model.in_channels=3", "--set", "model.out_channels=3", "--set", "train.warmup_steps=2"]
    model += ["--set", "train.lr_schedule=constant"]  # a cosine over --steps would differ between 6 and 12 steps
    size = ["--batch-size", "3", "--patch-size", "16", "--set", "train.val_every=100", "--set", "train.ema_decay=0.9"]
    return [
        "--shards",
        str(shards),
        "--out",
        str(run),
        "--steps",
        str(steps),
        "--no-fid",
        *TINY_TRAIN_ARGS,
        *model,
        *size,
        *extra,
    ]


@pytest.mark.parametrize("workers", [2])  # two readers: a resumed run must rotate them (workers=0: the stream test)
def test_training_from_shards_resumes_exactly(shard_dir: Path, tmp_path: Path, workers: int) -> None:
    loader = [
        "--set",
        f"train.num_workers={workers}",
        "--set",
        "train.val_fraction=0",
        "--set",
        "train.test_fraction=0",
    ]
    loader += ["--val", str(make_pairs(tmp_path / "val", count=2, size=16))]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train_main(_train_args(shard_dir, straight, 12, *loader)) == 0  # 36 samples: past one epoch (16)
    assert train_main(_train_args(shard_dir, resumed, 6, *loader)) == 0
    assert train_main(["--out", str(resumed), "--steps", "12", "--resume", "--no-fid"]) == 0
    a, b = load_file(str(straight / "last.safetensors")), load_file(str(resumed / "last.safetensors"))
    for key in a:
        assert torch.equal(a[key], b[key]), key
    state = torch.load(straight / "last.state.pt", weights_only=True)["stream"]
    assert len(state["readers"]) == max(1, workers)


def test_held_out_shards_validate_and_test(shard_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert train_main(_train_args(shard_dir, run, 2, "--set", "train.val_fraction=0.25")) == 0
    assert len(list((run / "heldout" / "val" / "hazy").iterdir())) == 4  # one whole shard
    assert json.loads((run / "metrics.json").read_text())["split"] == "test"


def _corrupt_sample(shard: Path) -> None:
    """Replace the first sample's hazy image with bytes that are not an image."""
    with tarfile.open(shard) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    first_hazy = next(member.name for member, _ in members if member.name.endswith("hazy.png"))
    with tarfile.open(shard, "w") as tar:
        for member, data in members:
            data = b"not a png" if member.name == first_hazy else data
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def test_bad_shards_and_samples_are_named(shard_dir: Path, tmp_path: Path, capsys) -> None:
    shards = sorted(shard_dir.glob("*.tar"))
    _corrupt_sample(shards[0])
    val = str(make_pairs(tmp_path / "val", count=2, size=16))
    args = _train_args(shard_dir, tmp_path / "run", 6, "--val", val, "--set", "train.test_fraction=0")
    assert train_main(args) == 1  # 18 samples of 16: every sample is read
    err = capsys.readouterr().err
    assert "error: shard " in err and "train-000000.tar: sample " in err and "corrupt image data" in err
    assert "Traceback" not in err
    shards[1].write_bytes(shards[1].read_bytes()[:3000])  # cut inside its first sample
    items = iter(_stream([str(s) for s in shards], 0, world=1))
    errors = {item["error"].split(":")[0] for item in (next(items) for _ in range(40)) if "error" in item}
    assert errors == {f"shard {shards[0]}", f"shard {shards[1]}"}
    with pytest.warns(UserWarning, match="skipping shard") as caught:
        items = iter(_stream([str(s) for s in shards], 0, world=1, skip_bad=True))
        names = [next(items)["name"] for _ in range(13)]  # 3 + 0 + 4 + 4 good samples an epoch: into the second
    assert len(set(names)) == 11
    messages = [str(w.message) for w in caught]
    assert any(f"{shards[1]}: " in m for m in messages) and not any("unclosed" in m for m in messages)


def test_ddp_two_cpu_ranks_train_from_shards(shard_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "dehaze.cli.train",
        *_train_args(shard_dir, run, 3, "--set", "train.save_rank_weights=true"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = load_file(str(run / "rank0.safetensors")), load_file(str(run / "rank1.safetensors"))
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    readers = torch.load(run / "last.state.pt", weights_only=True)["stream"]["readers"]
    assert sorted(readers) == ["0", "1"]  # both ranks' positions, gathered to rank 0


def test_too_few_shards_to_hold_out_is_refused_before_training(shard_dir: Path, tmp_path: Path, capsys) -> None:
    two = f"{shard_dir}/train-{{000000..000001}}.tar"
    args = ["--shards", two, "--out", str(tmp_path / "run"), "--steps", "1", *TINY_TRAIN_ARGS]
    assert train_main([*args, "--set", "train.test_fraction=0"]) == 1  # 10% of two shards: none held out
    err = capsys.readouterr().err
    assert "2 shard(s) and no pairs to validate or test on; give --val" in err
    assert not (tmp_path / "run" / "last.state.pt").exists()


def test_unreadable_photo_stops_synthesis_or_is_skipped(tmp_path: Path, capsys) -> None:
    clean = _photos(tmp_path / "clean", 3)
    (clean / "broken.png").write_bytes(b"not an image")
    args = [str(clean), str(tmp_path / "out"), "--shards", "--crop", "16", "--quiet"]
    assert synth_main(args) == 1
    assert "broken.png" in capsys.readouterr().err and not list((tmp_path / "out").glob("*.tar"))
    assert synth_main([*args, "--skip-bad", "--overwrite"]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "broken.png" in captured.err and "wrote 3 samples" in captured.out


def test_a_changed_reader_layout_restarts_the_earliest_epoch() -> None:
    position = StreamPosition()
    position.load_state_dict({"layout": [1, 2], "readers": {"0": [3, 1, 2], "1": [2, 0, 5]}})
    assert position.for_layout((1, 2), print) == {0: (3, 1, 2), 1: (2, 0, 5)}  # same layout: exact
    messages: list[str] = []
    assert position.for_layout((2, 2), messages.append) == {r: (2, 0, 0) for r in range(4)}
    assert "restarts epoch 2" in messages[0]
