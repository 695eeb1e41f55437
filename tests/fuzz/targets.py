"""The readers under test, by name: how a case for each is generated and how the reader is called with it.

A reader's ``run`` returns normally (its result checked: finite pixels in [0, 1], the declared size, ...) or
raises the project's :class:`~dehaze.errors.DehazeError`; :mod:`fuzz.check` judges everything else.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from random import Random

import numpy as np

from dehaze.errors import DehazeError
from fuzz.case import FuzzCase


class PropertyViolation(AssertionError):
    """A reader returned a result that breaks its promise (e.g. NaN pixels, a size it did not declare)."""


@dataclass(frozen=True)
class Target:
    """One reader: ``generate`` draws a case, ``run`` hands it to the reader (raises DehazeError or returns)."""

    name: str
    generate: Callable[[Random], FuzzCase]
    run: Callable[[FuzzCase, Path], None]


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise PropertyViolation(what)


def _check_pixels(array: np.ndarray, channels: tuple[int, ...]) -> None:
    _require(array.dtype == np.float32 and array.ndim == 3 and array.shape[2] in channels, f"bad array {array.shape}")
    _require(bool(np.isfinite(array).all()) and array.min() >= 0.0 and array.max() <= 1.0, "pixels outside [0, 1]")


# ----------------------------------------------------------------------------- images and uploads


def _image_case(rng: Random, bombs: bool = True) -> FuzzCase:
    from fuzz.images import damaged_image, image_suffix

    data, image_format = damaged_image(rng, bombs)
    return FuzzCase("image", data, image_suffix(rng, image_format), {"channels": rng.choice((None, 1, 3))})


def _read_image(case: FuzzCase, path: Path) -> None:
    from dehaze.imageio import read_image, read_image_size

    channels = case.options.get("channels")
    array = read_image(path, channels)
    _check_pixels(array, (channels,) if channels else (1, 3))
    width, height = read_image_size(path)
    _require(array.shape[:2] == (height, width), f"read {array.shape[:2]}, header says {(height, width)}")


def _upload_case(rng: Random) -> FuzzCase:
    from dehaze.defaults import COLOR_MODES

    image = _image_case(rng, bombs=False)  # a bomb under the limit is just a large photo: minutes of dehazing
    options = {
        "color": rng.choice(COLOR_MODES),
        "strength": rng.choice((0.0, 0.5, 1.0, 2.0)),
        "dcp": rng.random() < 0.2,
    }
    return FuzzCase("upload", image.data, image.suffix, options)


@functools.lru_cache(maxsize=1)
def _service():  # noqa: ANN202 - DehazeService, imported lazily
    import atexit
    import shutil

    from dehaze.app.service import DehazeService
    from dehaze.pipeline import RunOptions

    workdir = Path(tempfile.mkdtemp(prefix="dehaze-fuzz-app-"))
    atexit.register(shutil.rmtree, workdir, True)
    return DehazeService(RunOptions(device="cpu"), workdir)


def _upload(case: FuzzCase, path: Path) -> None:
    """``DehazeService.process`` with the shipped models, as the app's Dehaze button calls it."""
    import shutil

    from dehaze.imageio import read_image

    options = case.options
    result = _service().process(path, options["color"], options["strength"], options["dcp"])
    try:
        _require(result.name == path.name, f"result named {result.name!r}")
        if result.error is not None:
            _require(result.after is None, "an error and an output")
            raise DehazeError(f"{result.name}: {result.error}")
        _require(result.after is not None and result.before is not None, "no error and no output")
        _check_pixels(read_image(result.after, None), (1, 3))
    finally:  # every upload gets a folder of its own (a refused one too): none is kept
        for folder in _service().workdir.iterdir():
            shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- checkpoints and training states


def _checkpoint_case(rng: Random) -> FuzzCase:
    from fuzz.checkpoints import damaged_checkpoint

    return FuzzCase("checkpoint", damaged_checkpoint(rng), ".safetensors")


def _load_checkpoint(case: FuzzCase, path: Path) -> None:
    from dehaze.checkpoint import load_generator

    model, _ = load_generator(path)
    _require(not model.training, "model not in eval mode")


def _training_state_case(rng: Random) -> FuzzCase:
    from fuzz.training_states import damaged_training_state

    return FuzzCase("training_state", damaged_training_state(rng), ".state.pt")


def _resume(case: FuzzCase, path: Path) -> None:
    """What ``dehaze-train --resume`` does with ``last.state.pt`` (load, check, restore), on a tiny run's parts."""
    from dehaze.checkpoint import TrainingState
    from fuzz.training_states import tiny_training_parts

    state = TrainingState.resume(path, tiny_training_parts())
    _require(int(state.step) >= 0 and isinstance(float(state.best_psnr), float), "bad step or best_psnr")


# ----------------------------------------------------------------------------- configs


def _yaml_case(rng: Random) -> FuzzCase:
    from fuzz.configs import damaged_yaml

    return FuzzCase("config_yaml", damaged_yaml(rng), ".yaml")


def _load_config(case: FuzzCase, path: Path) -> None:
    """``dehaze-train --config FILE``: read, then every option checked."""
    from dehaze.config import Config, validate_config

    validate_config(Config.load(path))


def _set_case(rng: Random) -> FuzzCase:
    from fuzz.configs import set_overrides

    return FuzzCase("config_set", b"", ".txt", {"overrides": set_overrides(rng)})


def _apply_set(case: FuzzCase, path: Path) -> None:
    """``dehaze-train --set ...``: the strings applied to the defaults, then every option checked."""
    from dehaze.config import Config, apply_overrides, validate_config

    config = Config()
    apply_overrides(config, case.options["overrides"])
    validate_config(config)


# ----------------------------------------------------------------------------- shards


def _shard_case(rng: Random) -> FuzzCase:
    from fuzz.shards import damaged_shard

    options = {"mode": rng.choice(("stream", "stream", "unpack")), "channels": rng.choice((1, 3))}
    options["skip_bad"] = rng.random() < 0.3
    return FuzzCase("shards", damaged_shard(rng), ".tar", options)


def _read_shard(case: FuzzCase, path: Path) -> None:
    """The training stream over one shard (its first items, up to an error item) or the held-out unpacking."""
    import warnings

    from dehaze.data.shards import ShardStream, ShardStreamConfig, unpack_pairs

    options = case.options
    if options["mode"] == "unpack":
        unpack_pairs([str(path)], path.parent / "unpacked")
        return
    config = ShardStreamConfig([str(path)], channels=options["channels"], patch_size=16, skip_bad=options["skip_bad"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # --skip-bad warns about every skipped sample
        for _, item in zip(range(4), ShardStream(config), strict=False):
            if "error" in item:
                raise DehazeError(item["error"])
            for key in ("hazy", "clean"):
                _require(tuple(item[key].shape) == (options["channels"], 16, 16), f"{key} {tuple(item[key].shape)}")
                _check_pixels(item[key].permute(1, 2, 0).numpy(), (options["channels"],))


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target("image", _image_case, _read_image),
        Target("checkpoint", _checkpoint_case, _load_checkpoint),
        Target("training_state", _training_state_case, _resume),
        Target("config_yaml", _yaml_case, _load_config),
        Target("config_set", _set_case, _apply_set),
        Target("shards", _shard_case, _read_shard),
        Target("upload", _upload_case, _upload),
    )
}
