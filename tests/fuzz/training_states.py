"""Training states (``last.state.pt``) from a :class:`random.Random`: the state of a tiny run after one step, with
values swapped for odd ones (wrong types, shapes and dtypes, missing keys), members of its zip damaged and the
archive rewritten (valid CRCs, so the damage reaches the unpickler), or its bytes damaged."""

from __future__ import annotations

import functools
import io
import zipfile
from random import Random
from typing import Any

from fuzz.mutate import mutate_bytes, odd_value


def tiny_training_parts() -> dict[str, Any]:
    """Fresh parts of a tiny run, by :class:`~dehaze.checkpoint.TrainingState` field, as the trainer has them."""
    import torch
    from torch.optim.swa_utils import AveragedModel

    from dehaze.config import CriticConfig, ModelConfig
    from dehaze.models.build import build_critic, build_generator
    from dehaze.train.precision import Precision
    from dehaze.train.sampling import StreamPosition
    from fuzz.checkpoints import TINY_MODELS

    torch.manual_seed(0)
    generator = build_generator(ModelConfig(**TINY_MODELS["guided-gray"]))
    critic = build_critic(CriticConfig(spatial_width=2, spatial_layers=1, frequency_width=2), 1)
    scaler = Precision.choose(False, torch.device("cpu")).scaler
    return {
        "generator": generator,
        "ema": AveragedModel(generator, use_buffers=True),
        "critic": critic,
        "opt_g": torch.optim.Adam(generator.parameters()),
        "opt_d": torch.optim.Adam(critic.parameters()),
        "scaler_g": scaler(),
        "scaler_d": scaler(),
        "real_critic": None,
        "opt_real": None,
        "stream": StreamPosition(),
    }


@functools.lru_cache(maxsize=1)
def tiny_training_state() -> dict[str, Any]:
    """The plain dict a tiny run saves after one optimiser step (Adam state included; made once per process)."""
    import torch

    from dehaze.checkpoint.training_state import TrainingState

    parts = tiny_training_parts()
    for module, optimizer in ((parts["generator"], parts["opt_g"]), (parts["critic"], parts["opt_d"])):
        for parameter in module.parameters():
            parameter.grad = torch.ones_like(parameter)
        optimizer.step()
    parts["stream"].readers = {0: (1, 2, 3)}
    return TrainingState.capture(7, 21.5, parts).to_dict()


def odd_leaf(rng: Random) -> Any:
    """A value that may stand where a tensor, a number or a dict was: odd JSON values, tensors of odd shapes and
    dtypes, or (refused by the weights-only loader) a Python object."""
    import torch

    roll = rng.random()
    if roll < 0.5:
        return odd_value(rng)
    if roll < 0.95:
        shape = [rng.choice((0, 1, 2, 3, 7)) for _ in range(rng.randint(0, 3))]
        dtype = rng.choice((torch.float32, torch.float16, torch.float64, torch.int64, torch.uint8, torch.bool))
        return torch.zeros(shape, dtype=dtype)
    return rng.choice((range(3), complex(1, 2), frozenset({1}), b"bytes", bytearray(b"x")))


def _containers(value: Any, trail: tuple = ()) -> list[tuple]:
    """Paths (key tuples) to every dict or list inside ``value``, itself included."""
    found = [trail] if isinstance(value, dict | list) else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found += _containers(item, (*trail, key))
    return found


def mutate_state(rng: Random, state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``state`` with one to three values replaced, removed or added at any depth."""
    import copy

    state = copy.deepcopy(state)
    for _ in range(rng.randint(1, 3)):
        trail = rng.choice(_containers(state))
        container = state
        for key in trail:
            container = container[key]
        keys = list(container.keys()) if isinstance(container, dict) else list(range(len(container)))
        roll = rng.random()
        if keys and roll < 0.7:
            container[rng.choice(keys)] = odd_leaf(rng)
        elif keys and roll < 0.9:
            key = rng.choice(keys)
            container.pop(key)
        elif isinstance(container, dict):
            container[rng.choice(("extra", 0, "step", "readers"))] = odd_leaf(rng)
        else:
            container.append(odd_leaf(rng))
    return state


def _rezip(rng: Random, data: bytes) -> bytes:
    """The archive with one member's bytes damaged, written back with valid CRCs."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    at = rng.randrange(len(members))
    name, content = members[at]
    members[at] = (name, mutate_bytes(rng, content))
    if rng.random() < 0.1:
        members.pop(rng.randrange(len(members)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def damaged_training_state(rng: Random) -> bytes:
    """A tiny run's training state: valid, with odd values, with a damaged zip member, or with damaged bytes."""
    from dehaze.checkpoint.training_state import training_state_bytes

    state = tiny_training_state()
    roll = rng.random()
    if roll < 0.05:
        return bytes(training_state_bytes(state))
    if roll < 0.55:
        return bytes(training_state_bytes(mutate_state(rng, state)))
    data = bytes(training_state_bytes(state))
    return _rezip(rng, data) if roll < 0.85 else mutate_bytes(rng, data)
