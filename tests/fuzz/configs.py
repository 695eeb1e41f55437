"""Training configs from a :class:`random.Random`: YAML files (the default config with odd values, unknown keys,
YAML tags, aliases, deep nesting, bad bytes) and ``--set section.key=value`` strings."""

from __future__ import annotations

import json
from random import Random
from typing import Any

from fuzz.mutate import mutate_bytes, odd_value

# Scalars as YAML text: implicit types YAML 1.1 resolves (dates, octal, sexagesimal, yes/no), tags, aliases
YAML_SCALARS = (
    ".nan",
    "-.inf",
    "1e400",
    "-1e400",
    "1e-5",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "190:20:30",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "yes",
    "off",
    "~",
    "null",
    "''",
    '"\\u0000"',
    "!!binary aGVsbG8=",
    "!!python/object:os.system",
    "!!python/name:os.system",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!float '1'",
    "!!int 3.5",
    "!custom 1",
    "*nothing",
    "&anchor 5",
    "[1, 2]",
    "[0.9, 0.1]",
    "[1, [2, 3]]",
    "{a: 1}",
    "? [a, b]",
    "|\n    text",
    "99999999999999999999999999",
    "-0",
    "4.0",
    "true",
    "guided",
    "hinge",
)


def _sections() -> dict[str, dict[str, Any]]:
    """Every option of every section with its default, as plain YAML/JSON values."""
    from dehaze.config import Config

    return Config().to_dict()


def scalar_text(rng: Random) -> str:
    """A value as YAML text: one of :data:`YAML_SCALARS`, or an odd JSON value (JSON is YAML flow syntax)."""
    if rng.random() < 0.5:
        return rng.choice(YAML_SCALARS)
    text = json.dumps(odd_value(rng), allow_nan=True)
    return text.replace("NaN", ".nan").replace("-Infinity", "-.inf").replace("Infinity", ".inf")


def option_name(rng: Random) -> str:
    """``section.key``: mostly a real option, sometimes an unknown one or a malformed name."""
    sections = _sections()
    section = rng.choice(sorted(sections))
    roll = rng.random()
    if roll < 0.8:
        return f"{section}.{rng.choice(list(sections[section]))}"
    return rng.choice((f"{section}.nope", "nope.steps", section, f"{section}.", ".steps", "a.b.c", "é\n.x", ""))


def _deep(rng: Random) -> str:
    depth = rng.choice((50, 1200))  # 1200: past both our 32-level limit and Python's recursion limit
    return rng.choice(("[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth, "- " * depth + "1"))


def yaml_text(rng: Random) -> str:
    """A config file: ``section: {key: value}`` lines, some options at their defaults, none to three of them odd
    (a value, a misspelt key, a section that is not a mapping)."""
    sections, lines = _sections(), []
    names = [(section, key) for section in sorted(sections) for key in sections[section]]
    odd = {rng.choice(names) for _ in range(rng.choice((0, 1, 1, 2, 3)))}
    for section in sorted(sections):
        if rng.random() < 0.2 and all(name[0] != section for name in odd):
            continue
        lines.append(f"{section}:" if rng.random() < 0.97 else f"{section}: {scalar_text(rng)}")
        for key, default in sections[section].items():
            if (section, key) in odd:
                value = scalar_text(rng) if rng.random() < 0.8 else _deep(rng)
                lines.append(f"  {key if rng.random() < 0.9 else key + '_x'}: {value}")
            elif rng.random() < 0.3:
                lines.append(f"  {key}: {json.dumps(default)}")
    if rng.random() < 0.1:
        lines.append(rng.choice(("a: &x [1, 2]\nb: *x", "? [a, b]\n: 1", "1: 2", "null: 3", "---\nmodel: {}", "\t- x")))
    return "\n".join(lines) + "\n"


def damaged_yaml(rng: Random) -> bytes:
    """A YAML config file's bytes: valid-looking text, a top-level oddity, or damaged bytes."""
    roll = rng.random()
    if roll < 0.08:
        text = rng.choice(("", "---", "5", "- a\n- b", "model", "model: [", "\ufeffmodel: {}", "&a [*a]", _deep(rng)))
        return text.encode()
    data = yaml_text(rng).encode()
    return mutate_bytes(rng, data) if roll > 0.8 else data


def set_overrides(rng: Random) -> list[str]:
    """One to four ``--set`` strings: ``section.key=value`` with odd values, no ``=``, odd names or spacing."""
    items = []
    for _ in range(rng.randint(1, 4)):
        name, value = option_name(rng), scalar_text(rng) if rng.random() < 0.9 else _deep(rng)
        roll = rng.random()
        if roll < 0.8:
            items.append(f"{name}={value}")
        elif roll < 0.9:
            items.append(rng.choice((name, f" {name} = {value} ", f"{name}=={value}", f"={value}", f"{name}=")))
        else:
            items.append(rng.randbytes(rng.randint(0, 40)).decode("utf-8", errors="replace"))
    return items
