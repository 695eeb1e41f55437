"""Checkpoints from elsewhere: every malformed or hostile file is refused with one line naming it, before any
absurd allocation, through the Python API and through ``dehaze-infer``."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import dehaze.checkpoint as checkpoint
import dehaze.models.build as build_module
from dehaze.checkpoint import (
    FORMAT_TAG,
    TrainingState,
    load_generator,
    load_training_state,
    read_generator_file,
    save_generator,
    save_training_state,
    validate_training_state,
)
from dehaze.cli.infer import main as infer_main
from dehaze.config import MODEL_CHOICES, MODEL_RANGES, CriticConfig, ModelConfig, validate_model_config
from dehaze.errors import ConfigError, DehazeError
from dehaze.models.build import build_critic, build_generator

TINY = ModelConfig(width=4, view_size=16)
TINY_UNET = ModelConfig(arch="unet", base_width=4, depth=2)


def fields(cfg: ModelConfig = TINY, **changes: object) -> dict[str, object]:
    return {**dataclasses.asdict(cfg), **changes}


_WEIGHTS: dict[str, dict[str, torch.Tensor]] = {}


def tensors_of(cfg: ModelConfig = TINY) -> dict[str, torch.Tensor]:
    """Weights of a freshly built ``cfg`` generator (built once per config)."""
    if repr(cfg) not in _WEIGHTS:
        torch.manual_seed(0)
        _WEIGHTS[repr(cfg)] = build_generator(cfg).state_dict()
    return {k: v.clone() for k, v in _WEIGHTS[repr(cfg)].items()}


def write_file(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None) -> Path:
    save_file(tensors, str(path), metadata=metadata)
    return path


def write_generator(path: Path, config_fields: dict[str, object] | str, tensors: dict | None = None) -> Path:
    text = config_fields if isinstance(config_fields, str) else json.dumps(config_fields)
    return write_file(
        path, tensors if tensors is not None else tensors_of(), {"format": FORMAT_TAG, "model_config": text}
    )


def refused(path: Path, *words: str) -> str:
    """Load ``path`` through the API; the error must be one line naming the file (and containing ``words``)."""
    with pytest.raises(DehazeError) as info:
        load_generator(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def no_allocation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building any generator fails the test: a bad config must be refused before a model exists."""
    tensors_of(TINY), tensors_of(TINY_UNET)  # the good weights the tests start from, built beforehand

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a generator was allocated for a config that should have been refused")

    monkeypatch.setattr(build_module, "GuidedGenerator", boom)
    monkeypatch.setattr(build_module, "UNetGenerator", boom)


# ----------------------------------------------------------------------------- good files still load


@pytest.mark.parametrize("cfg", [TINY, TINY_UNET], ids=["guided", "unet"])
def test_good_checkpoints_load(tmp_path: Path, cfg: ModelConfig) -> None:
    path = tmp_path / "good.safetensors"
    save_generator(build_generator(cfg), cfg, path, extra_metadata={"step": 3})
    model, loaded = load_generator(path)
    assert loaded == cfg and not model.training
    tensors, read_cfg, metadata = read_generator_file(path)
    assert read_cfg == cfg and metadata["step"] == "3" and set(tensors) == set(model.state_dict())


def test_legacy_file_without_arch_loads_as_unet(tmp_path: Path) -> None:
    legacy = {k: v for k, v in fields(TINY_UNET).items() if k in ("in_channels", "out_channels", "base_width", "depth")}
    path = write_generator(tmp_path / "old.safetensors", legacy, tensors_of(TINY_UNET))
    assert load_generator(path)[1].arch == "unet"


def test_half_precision_weights_are_accepted(tmp_path: Path) -> None:
    """Same kind (float), other precision: loaded and converted, as ``load_state_dict`` always did."""
    half = {k: v.half() if v.is_floating_point() else v for k, v in tensors_of().items()}
    model, _ = load_generator(write_generator(tmp_path / "half.safetensors", fields(), half))
    assert all(p.dtype == torch.float32 for p in model.parameters())


# ----------------------------------------------------------------------------- absurd or malformed configs

BAD_CONFIGS = [
    (TINY_UNET, "base_width", 10**6),
    (TINY_UNET, "depth", 40),
    (TINY, "width", 10**6),
    (TINY, "view_size", 10**6),
    (TINY, "width", -4),
    (TINY_UNET, "depth", 0),
    (TINY, "guide_radius", -1),
    (TINY, "prior_patch", 4),
    (TINY, "in_channels", 2),
    (TINY, "width", "4"),
    (TINY, "view_size", [16]),
    (TINY, "width", True),
    (TINY_UNET, "depth", 2.0),
    (TINY_UNET, "residual", 1),
    (TINY, "arch", None),
    (TINY, "guide_eps", math.nan),
    (TINY, "guide_eps", math.inf),
    (TINY, "guide_eps", -math.inf),
    (TINY, "guide_eps", 0.0),
    (TINY, "arch", "resnet"),
    (TINY_UNET, "norm", "group"),
    (TINY_UNET, "head", "x" * 10_000),
]


@pytest.mark.parametrize(("cfg", "name", "value"), BAD_CONFIGS, ids=[f"{n}={str(v)[:12]}" for _, n, v in BAD_CONFIGS])
def test_absurd_or_mistyped_config_is_refused_before_building(
    tmp_path: Path, no_allocation: None, cfg: ModelConfig, name: str, value: object
) -> None:
    path = write_generator(tmp_path / "bad.safetensors", fields(cfg, **{name: value}))  # NaN/inf: JSON NaN/Infinity
    message = refused(path, "invalid model config", name)
    assert len(message) < 400


def test_unknown_config_keys_are_named(tmp_path: Path, no_allocation: None) -> None:
    path = write_generator(tmp_path / "bad.safetensors", fields(layers=7, activation="relu"))
    refused(path, "unknown option", "activation", "layers")


@pytest.mark.parametrize(
    "text", ["{not json", "[1, 2]", '"a string"', "null", "[" * 100_000 + "]" * 100_000], ids=lambda t: t[:8]
)
def test_model_config_that_is_not_a_json_object(tmp_path: Path, no_allocation: None, text: str) -> None:
    refused(write_generator(tmp_path / "bad.safetensors", text), "invalid model config")


@pytest.mark.parametrize(
    "metadata",
    [None, {"step": "3"}, {"format": "someone-else", "model_config": json.dumps(fields())}, {"format": FORMAT_TAG}],
    ids=["none", "no-format", "other-format", "no-config"],
)
def test_missing_metadata(tmp_path: Path, no_allocation: None, metadata: dict[str, str] | None) -> None:
    refused(write_file(tmp_path / "bad.safetensors", tensors_of(), metadata), "not a dehaze generator checkpoint")


def test_every_model_field_has_a_bound() -> None:
    names = {f.name for f in dataclasses.fields(ModelConfig)}
    assert names == set(MODEL_CHOICES) | set(MODEL_RANGES)
    validate_model_config(ModelConfig())
    validate_model_config(TINY_UNET)
    with pytest.raises(ConfigError, match=r"model.width.*\[1, 128\]"):
        build_generator(ModelConfig(width=10**6))  # training (build_generator) gets the same check


# ----------------------------------------------------------------------------- tensors that do not fit the config


def _first_weight(tensors: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in tensors.items() if v.ndim == 4)


TENSOR_CASES: dict[str, tuple[Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]], str]] = {
    "wrong-shape": (lambda t: {**t, _first_weight(t): torch.zeros(3, 3)}, "mismatched"),
    "wrong-dtype": (lambda t: {**t, _first_weight(t): t[_first_weight(t)].to(torch.int32)}, "I32"),
    "bool-dtype": (lambda t: {**t, _first_weight(t): t[_first_weight(t)] > 0}, "BOOL"),
    "missing": (lambda t: {k: v for k, v in t.items() if k != _first_weight(t)}, "missing"),
    "extra": (lambda t: {**t, "extra.weight": torch.zeros(2)}, "unexpected: extra.weight"),
    "other-model": (lambda t: tensors_of(ModelConfig(width=8, view_size=16)), "mismatched"),
    "nan-weights": (lambda t: {**t, _first_weight(t): torch.full_like(t[_first_weight(t)], math.nan)}, "NaN"),
    "no-tensors": (lambda t: {}, "missing"),
}


@pytest.mark.parametrize("case", TENSOR_CASES)
def test_tensors_that_do_not_match_the_config(tmp_path: Path, case: str) -> None:
    change, word = TENSOR_CASES[case]
    refused(write_generator(tmp_path / "bad.safetensors", fields(), change(tensors_of())), word)


def test_many_mismatches_are_summarised(tmp_path: Path) -> None:
    tensors = {f"junk{i}": torch.zeros(1) for i in range(50)}
    message = refused(write_generator(tmp_path / "bad.safetensors", fields(), tensors), "and 47 more")
    assert len(message) < 600


# ----------------------------------------------------------------------------- files that are not safetensors


def good_bytes(tmp_path: Path) -> bytes:
    return write_generator(tmp_path / "source.safetensors", fields()).read_bytes()


def _header_length(data: bytes) -> int:
    return struct.unpack("<Q", data[:8])[0]


def _pt_zip(tmp_path: Path) -> bytes:
    torch.save({"weight": torch.zeros(3)}, tmp_path / "model.pt")
    return (tmp_path / "model.pt").read_bytes()


NOT_SAFETENSORS: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "empty": (lambda tmp: b"", "empty"),
    "three-bytes": (lambda tmp: b"abc", "3 bytes"),
    "text": (lambda tmp: b"model weights: see the README\n" * 3, "text file"),
    "pt-zip": (_pt_zip, "PyTorch"),
    "pickle": (lambda tmp: pickle.dumps({"weight": [0.0] * 8}, protocol=2), "pickle"),
    "huge-header-length": (lambda tmp: struct.pack("<Q", 1 << 40) + b"{}", "over the limit"),
    "header-beyond-file": (lambda tmp: struct.pack("<Q", 5000) + b"{}", "truncated"),
    "header-not-json": (lambda tmp: struct.pack("<Q", 9) + b"not json!", "not JSON"),
    "header-a-list": (lambda tmp: struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    "deeply-nested": (lambda tmp: struct.pack("<Q", 200_000) + b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    "bad-dtype": (
        lambda tmp: _raw_safetensors({"w": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, 4),
        "bad entry for tensor 'w'",
    ),
    "bad-shape": (
        lambda tmp: _raw_safetensors({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4),
        "bad entry",
    ),
    "size-mismatch": (
        lambda tmp: _raw_safetensors({"w": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4]}}, 4),
        "corrupt",
    ),
    "truncated-header": (lambda tmp: good_bytes(tmp)[:100], "truncated"),
    "truncated-data": (lambda tmp: good_bytes(tmp)[: _header_length(good_bytes(tmp)) + 8 + 100], "truncated"),
    "last-byte-missing": (lambda tmp: good_bytes(tmp)[:-1], "truncated"),
}


def _raw_safetensors(header: dict, data_size: int) -> bytes:
    raw = json.dumps({**header, "__metadata__": {"format": FORMAT_TAG, "model_config": json.dumps(fields())}})
    return struct.pack("<Q", len(raw)) + raw.encode() + bytes(data_size)


@pytest.mark.parametrize("case", NOT_SAFETENSORS)
def test_files_that_are_not_safetensors(tmp_path: Path, no_allocation: None, case: str) -> None:
    make, word = NOT_SAFETENSORS[case]
    data = make(tmp_path)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    refused(path, word)
    with pytest.raises(DehazeError, match="bad.safetensors"):
        read_generator_file(path)


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.safetensors"
    path.write_bytes(good_bytes(tmp_path))
    monkeypatch.setattr(checkpoint.safetensors_header, "MAX_CHECKPOINT_BYTES", 1000)
    real_open = open

    def no_open(*args: object, **kwargs: object) -> object:
        if args and Path(str(args[0])) == path:
            raise AssertionError("the file was opened")
        return real_open(*args, **kwargs)

    monkeypatch.setattr("builtins.open", no_open)
    refused(path, "too large")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    refused(tmp_path / "nope.safetensors", "not found")
    (tmp_path / "dir.safetensors").mkdir()
    refused(tmp_path / "dir.safetensors", "not found")


# ----------------------------------------------------------------------------- through dehaze-infer


CLI_CASES = {
    "pt-renamed": (lambda tmp: _pt_zip(tmp), "PyTorch"),
    "text": (lambda tmp: b"hello\n" * 4, "text file"),
    "empty": (lambda tmp: b"", "empty"),
    "truncated": (lambda tmp: good_bytes(tmp)[:-10], "truncated"),
    "absurd-config": (lambda tmp: write_generator(tmp / "x.st", fields(width=10**6)).read_bytes(), "model.width"),
}


@pytest.mark.parametrize("case", CLI_CASES)
def test_infer_cli_names_the_bad_checkpoint_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, case: str
) -> None:
    make, word = CLI_CASES[case]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(make(tmp_path))
    image = tmp_path / "in" / "photo.png"
    image.parent.mkdir()
    Image.fromarray(np.full((12, 16), 128, np.uint8)).save(image)
    out = tmp_path / "out"
    capsys.readouterr()
    code = infer_main([str(image), "-o", str(out), "--checkpoint", str(bad), "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0] and word in lines[0], err
    assert not out.exists() or not any(out.rglob("*"))


# ----------------------------------------------------------------------------- training state on resume


def training_state(width: int = 4) -> tuple[dict, dict[str, torch.nn.Module], dict[str, torch.optim.Optimizer]]:
    """A state shaped like the trainer's, and the live modules/optimisers it restores."""
    from torch.optim.swa_utils import AveragedModel

    torch.manual_seed(0)
    cfg = ModelConfig(width=width, view_size=16)
    generator = build_generator(cfg)
    critic = build_critic(CriticConfig(spatial_width=4, frequency_width=4, spatial_layers=2), 1)
    ema = AveragedModel(generator, use_buffers=True)
    opt_g = torch.optim.Adam(generator.parameters())
    opt_d = torch.optim.Adam(critic.parameters())
    generator(torch.rand(1, 1, 16, 16)).mean().backward()
    opt_g.step()
    state = {
        "step": 3,
        "best_psnr": -math.inf,
        "generator": generator.state_dict(),
        "ema": ema.state_dict(),
        "critic": critic.state_dict(),
        "opt_g": opt_g.state_dict(),
        "opt_d": opt_d.state_dict(),
        "scaler_g": {},
        "scaler_d": {},
        "rng": {"torch": torch.get_rng_state()},
    }
    return state, {"generator": generator, "ema": ema, "critic": critic}, {"opt_g": opt_g, "opt_d": opt_d}


def test_training_state_round_trip_validates(tmp_path: Path) -> None:
    state, modules, optimizers = training_state()
    save_training_state(state, tmp_path / "last.state.pt")
    loaded = load_training_state(tmp_path / "last.state.pt")
    validate_training_state(loaded, tmp_path / "last.state.pt", modules, optimizers)
    assert loaded["step"] == 3


def _evil(marker: Path) -> bytes:
    class Evil:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    return pickle.dumps({"step": Evil()}, protocol=2)


BAD_STATE_FILES: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "empty": (lambda tmp: b"", "empty"),
    "text": (lambda tmp: b"step: 3\n", "not a file written by torch.save"),
    "safetensors": (lambda tmp: good_bytes(tmp), "not a file written by torch.save"),
    "truncated": (lambda tmp: _state_bytes(tmp)[:-200], "truncated or corrupt"),
    "garbage-zip": (lambda tmp: b"PK\x03\x04" + bytes(range(256)) * 4, "truncated or corrupt"),
    "pickled-code": (lambda tmp: _evil(tmp / "pwned"), "refused"),
    "not-a-dict": (lambda tmp: _state_bytes(tmp, [1, 2, 3]), "not a dict"),
}


def _state_bytes(tmp_path: Path, state: object | None = None) -> bytes:
    torch.save(state if state is not None else {"step": 1, "w": torch.zeros(100)}, tmp_path / "s.pt")
    return (tmp_path / "s.pt").read_bytes()


@pytest.mark.parametrize("case", BAD_STATE_FILES)
def test_bad_training_state_files(tmp_path: Path, case: str) -> None:
    make, word = BAD_STATE_FILES[case]
    path = tmp_path / "last.state.pt"
    path.write_bytes(make(tmp_path))
    with pytest.raises(DehazeError) as info:
        load_training_state(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message and word in message, message
    assert not (tmp_path / "pwned").exists()


def test_missing_and_oversized_training_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DehazeError, match="not found"):
        load_training_state(tmp_path / "last.state.pt")
    (tmp_path / "last.state.pt").write_bytes(_state_bytes(tmp_path))
    monkeypatch.setattr(checkpoint.training_state, "MAX_TRAINING_STATE_BYTES", 100)
    with pytest.raises(DehazeError, match="too large"):
        load_training_state(tmp_path / "last.state.pt")


STATE_EDITS: dict[str, tuple[Callable[[dict], None], str]] = {
    "no-rng": (lambda s: s.pop("rng"), "missing rng"),
    "no-step": (lambda s: s.pop("step"), "missing step"),
    "step-a-string": (lambda s: s.update(step="3"), "'step'"),
    "negative-step": (lambda s: s.update(step=-1), "'step'"),
    "no-ema": (lambda s: s.update(ema={}), "ema_decay=0"),
    "no-generator": (lambda s: s.pop("generator"), "'generator' weights: missing"),
    "other-generator": (lambda s: s.update(generator=training_state(width=8)[0]["generator"]), "mismatched"),
    "critic-not-tensors": (lambda s: s["critic"].update({"x": "y"}), "not tensors"),
    "other-optimizer": (lambda s: s.update(opt_g=training_state(width=8)[0]["opt_g"]), "'exp_avg'"),
    "optimizer-of-critic": (lambda s: s.update(opt_g=s["opt_d"]), "parameter groups"),
    "optimizer-garbage": (lambda s: s.update(opt_d={"param_groups": 5}), "not an optimiser state"),
}


@pytest.mark.parametrize("case", STATE_EDITS)
def test_incomplete_or_mismatched_training_state(tmp_path: Path, case: str) -> None:
    state, modules, optimizers = training_state()
    edit, word = STATE_EDITS[case]
    edit(state)
    path = tmp_path / "last.state.pt"
    with pytest.raises(DehazeError) as info:
        validate_training_state(state, path, modules, optimizers)
    message = str(info.value)
    assert str(path) in message and "\n" not in message and word in message, message


def test_unused_parts_are_not_required(tmp_path: Path) -> None:
    state, modules, optimizers = training_state()
    state.update(ema={}, critic={}, opt_d={})
    validate_training_state(
        state, tmp_path / "s.pt", {**modules, "ema": None, "critic": None}, {**optimizers, "opt_d": None}
    )


def test_training_state_dataclass_round_trip(tmp_path: Path) -> None:
    state, modules, optimizers = training_state()
    typed = TrainingState.from_dict(state, tmp_path / "s.pt")
    typed.save(tmp_path / "s.pt")
    loaded = TrainingState.load(tmp_path / "s.pt")
    loaded.validate(tmp_path / "s.pt", modules, optimizers)
    written = loaded.to_dict()
    assert set(written) - set(state) == {"real_critic", "opt_real", "stream"}  # unused here
    assert written["real_critic"] == written["opt_real"] == {} and loaded.step == 3
    assert torch.equal(loaded.generator["net.head.weight"], state["generator"]["net.head.weight"])
