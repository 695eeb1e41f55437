"""No import loops inside the package: the module-level imports of every ``dehaze`` module, read with :mod:`ast`.

An edge A → B is an import of B that runs (or, under ``if TYPE_CHECKING:``, that a type checker follows) when A is
imported: every import statement outside a function body, in absolute or relative form (``from . import x``,
``from ..errors import DehazeError``). ``from P import x`` is an edge to ``P.x`` when that is a module, else to
``P``; importing ``P.Q.m`` also imports the packages ``P`` and ``P.Q``, which count unless A lies inside them.
Imports inside functions are left out: they run later, when the function is called.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dehaze"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements outside function bodies (module body, class bodies, if/try/with blocks)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return found


def imported_names(name: str, path: Path, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The ``dehaze`` modules one import statement of module ``name`` (file ``path``) imports."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:  # relative: from the module's package, one level up per extra dot
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    return {f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source for alias in node.names}


def with_parents(target: str, importer: str) -> set[str]:
    """``target`` and the packages above it that importing it runs, except those ``importer`` is inside."""
    parts = target.split(".")
    parents = {".".join(parts[:i]) for i in range(1, len(parts))}
    return {target} | {p for p in parents if not importer.startswith(p + ".")}


def import_graph() -> dict[str, set[str]]:
    files = modules()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in module_level_imports(tree):
            for target in imported_names(name, path, node, known):
                targets |= with_parents(target, name)
        graph[name] = {target for target in targets if target in known and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, white/grey/black)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_graph_is_read() -> None:
    """The reader sees what it must: absolute, relative and TYPE_CHECKING imports, and the parent packages."""
    graph = import_graph()
    assert "dehaze.video.run" in graph["dehaze.video"]  # from dehaze.video.run import ... in the package
    assert "dehaze.config.loader" in graph["dehaze.config.overrides"]
    assert "dehaze.video" in graph["dehaze.inference"]  # the package, and the modules it names
    assert "dehaze.inference" in graph["dehaze"]  # under if TYPE_CHECKING:
    tree = ast.parse("from . import io\nfrom .steady import SteadyLight\nfrom .. import errors\n")
    nodes = module_level_imports(tree)
    path = PACKAGE / "video" / "run.py"
    found = set().union(*(imported_names("dehaze.video.run", path, node, set(modules())) for node in nodes))
    assert found == {"dehaze.video.io", "dehaze.video.steady", "dehaze.errors"}
    inside = ast.parse("def f():\n    import dehaze.inference\nclass C:\n    import dehaze.errors\n")
    assert [alias.name for node in module_level_imports(inside) for alias in node.names] == ["dehaze.errors"]


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import loop: " + " → ".join(cycle or [])


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
