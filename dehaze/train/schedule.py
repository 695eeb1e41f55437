"""Schedules of a training run: the EMA decay ramp and the learning-rate factor per step."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dehaze.errors import DehazeError


def ema_with_warmup(decay: float) -> Callable[[list, list, torch.Tensor], None]:
    """EMA update for :class:`AveragedModel` whose decay ramps up as (1 + n) / (10 + n) until it reaches ``decay``.

    A fixed 0.999 keeps 55% of the random initialisation after 600 steps, so short runs would be judged on weights
    that barely trained; with the ramp the average follows the weights early and smooths them late.
    """

    @torch.no_grad()
    def update(averaged: list, current: list, num_averaged: torch.Tensor) -> None:
        count = float(num_averaged)
        rate = min(decay, (1.0 + count) / (10.0 + count))
        for average, value in zip(averaged, current, strict=True):
            if average.is_floating_point():
                average.lerp_(value, 1.0 - rate)
            else:  # integer buffers (BatchNorm's batch counter) are copied, not averaged
                average.copy_(value)

    return update


def learning_rate_factor(step: int, total: int, schedule: str, warmup: int) -> float:
    """Multiplier of the base learning rate at ``step``: linear warm-up, then constant or cosine decay to 5%."""
    if schedule not in ("constant", "cosine"):
        raise DehazeError(f"unknown lr_schedule '{schedule}' (use constant or cosine)")
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant" or total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))
