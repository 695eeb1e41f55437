"""``train.compile``: the training passes of the generator and the critics through :func:`torch.compile`.

The generator's training calls (paired crops, real crops, whole scenes) go through a compiled wrapper of the module
the trainer trains (the DDP wrapper under ``torchrun``); the generator itself stays eager, so the EMA copy,
validation and samples (full-size images, whose every new size would recompile) and every checkpoint see the plain
module with its own ``state_dict`` keys. The critics, used only in training, are compiled in place
(:meth:`torch.nn.Module.compile`): every call of theirs is compiled and their keys carry no ``_orig_mod.`` prefix.
Shapes are left to dynamo's default (``dynamic=None``): static first, dynamic after a second size is seen.
"""

from __future__ import annotations

import warnings

import torch

from dehaze.errors import DehazeError


class CompileUnavailable(DehazeError):
    """``train.compile`` was asked for and the backend cannot compile on this machine."""


def _probe(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x * 2.0 + 1.0).sum()


def check_backend(backend: str, device: torch.device) -> None:
    """Compile and run a one-line function with ``backend`` on ``device`` (inductor's C++ compiler included), so
    a machine without a working compiler is refused at the start with a clear message, not mid-step."""
    try:
        torch.compile(_probe, backend=backend, fullgraph=True)(torch.ones(4, device=device))
    except Exception as error:  # any failure of the toolchain: dynamo wraps them in many kinds of exception
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]  # dynamo's hints follow the cause
        raise CompileUnavailable(
            f"train.compile: torch.compile (backend {backend!r}) does not work here: {reason}. Install a C++ "
            f"compiler (gcc/g++, or set CXX), or --set train.compile_backend=aot_eager, or leave train.compile off"
        ) from error


def prepare_backend(backend: str, device: torch.device) -> None:
    """Ready ``backend`` for the process: inductor compiles on the threads torch runs on (not a worker per CPU of
    the machine), a known-harmless warning is silenced, and :func:`check_backend` refuses a broken toolchain."""
    if backend == "inductor":
        import torch._inductor.config as inductor_config

        inductor_config.compile_threads = torch.get_num_threads()
    # dynamo traces through dehaze.spectrum's cached builders of constant masks (pure functions of sizes): correct,
    # and it says so once per builder
    warnings.filterwarnings("ignore", message="Dynamo detected a call to a `functools.lru_cache`")
    check_backend(backend, device)


def compile_training(
    g_train: torch.nn.Module, critics: tuple[torch.nn.Module | None, ...], backend: str, device: torch.device
) -> torch.nn.Module:
    """The compiled wrapper of ``g_train`` (the generator as trained: the module, or its DDP wrapper), after the
    ``critics`` (``None`` where not built) are compiled in place."""
    prepare_backend(backend, device)
    for critic in critics:
        if critic is not None:
            critic.compile(backend=backend)
    return torch.compile(g_train, backend=backend)
