"""Minimising a failing case: remove what the failure does not need (delta debugging over bytes and ``--set``
items) while ``still_fails`` holds. (picire, the maintained-looking package for this, was last released in 2021;
the greedy chunk removal below is all we need.)"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from fuzz.case import FuzzCase

Predicate = Callable[[FuzzCase], bool]


@dataclasses.dataclass
class Budget:
    """At most ``tries`` calls of the predicate and ``seconds`` of wall time."""

    tries: int = 2000
    seconds: float = 120.0
    used: int = 0
    started: float = dataclasses.field(default_factory=time.monotonic)

    def left(self) -> bool:
        return self.used < self.tries and time.monotonic() - self.started < self.seconds


def _try(candidate: FuzzCase, still_fails: Predicate, budget: Budget) -> bool:
    budget.used += 1
    return still_fails(candidate)


def shrink_sequence(items: list, rebuild: Callable[[list], FuzzCase], still_fails: Predicate, budget: Budget) -> list:
    """The shortest sub-list found by removing chunks of halving size (from the end first: headers stay)."""
    chunk = max(1, len(items) // 2)
    while chunk >= 1 and budget.left():
        start = len(items) - chunk
        while start >= 0 and budget.left():
            candidate = items[:start] + items[start + chunk :]
            if _try(rebuild(candidate), still_fails, budget):
                items = candidate
            start -= chunk
        chunk //= 2
    return items


def shrink(case: FuzzCase, still_fails: Predicate, budget: Budget | None = None) -> FuzzCase:
    """A smaller case for which ``still_fails`` holds (``case`` itself when nothing can go)."""
    budget = budget or Budget()
    overrides = case.options.get("overrides")
    if overrides:

        def with_overrides(items: list) -> FuzzCase:
            return dataclasses.replace(case, options={**case.options, "overrides": items})

        kept = shrink_sequence(list(overrides), with_overrides, still_fails, budget)
        for index in range(len(kept)):

            def with_item(chars: list, index: int = index) -> FuzzCase:
                return with_overrides([*kept[:index], "".join(chars), *kept[index + 1 :]])

            kept[index] = "".join(shrink_sequence(list(kept[index]), with_item, still_fails, budget))
        case = with_overrides(kept)
    data = shrink_sequence(
        list(case.data), lambda items: dataclasses.replace(case, data=bytes(items)), still_fails, budget
    )
    return dataclasses.replace(case, data=bytes(data))
