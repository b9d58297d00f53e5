"""The shape of the house, checked from the source: imports flow one way between the five packages,
no file imports itself round a cycle, and no production module grows past 500 lines.

Imports are read with `ast`, wherever they are (module level, inside a function, in a branch):
a lazy import that closes a cycle is still a cycle, only deferred. The checks run on a small
tree made here first, so a checker that finds nothing is shown able to find something.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Who may import whom (DESIGN.md): perception < memory, sketchpad < app < evals.
ALLOWED = {
    "perception": set(),
    "memory": {"perception"},
    "sketchpad": {"perception"},
    "app": {"memory", "sketchpad", "perception"},
    "evals": {"app", "perception"},
}
MAX_LINES = 500
# Being split on other branches (issue 11); each leaves this list in the change that splits it.
PENDING_SPLIT: frozenset[str] = frozenset()


def modules(root: Path) -> dict[str, Path]:
    """Every module of the five packages by dotted name ("app.web" for app/web/__init__.py)."""
    found = {}
    for package in ALLOWED:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(root: Path, name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[int, str]]:
    """(line, module) for each of our modules that `name` (at `path`) imports, anywhere in the file.

    `from a.b import c` loads a.b.c when that is a module, and a.b otherwise; relative imports are
    resolved against the importing module's package.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:
                    yield node.lineno, submodule
                elif base in known:
                    yield node.lineno, base


def graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports (ours only, never itself)."""
    known = modules(root)
    return {name: {target for _, target in imports(root, name, path, known)} - {name} for name, path in known.items()}


def layer_breaks(root: Path) -> list[str]:
    known = modules(root)
    broken = []
    for name, path in known.items():
        layer = name.split(".")[0]
        for line, target in imports(root, name, path, known):
            other = target.split(".")[0]
            if other != layer and other not in ALLOWED[layer]:
                broken.append(f"{path.relative_to(root)}:{line}: {layer} imports {target}")
    return broken


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted, smallest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(groups, key=lambda group: (len(group), group))


def oversized(root: Path) -> dict[str, int]:
    """Production modules over MAX_LINES lines, by path from the root."""
    sizes = {str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines()) for path in modules(root).values()}
    return {path: lines for path, lines in sorted(sizes.items()) if lines > MAX_LINES}


# -- the checks, shown able to find what they look for -------------------------------------------


@pytest.fixture
def crooked(tmp_path: Path) -> Path:
    """A tiny tree with a lazy cycle inside app, a relative import, a layer break and a long module."""
    files = {
        "perception/__init__.py": "",
        "perception/base.py": "import memory.store\n",  # perception may import nothing of ours
        "memory/__init__.py": "",
        "memory/store.py": "from perception import base\n",
        "sketchpad/__init__.py": "",
        "app/__init__.py": "",
        "app/web/__init__.py": "",
        "app/web/server.py": "from .tabs import tab\n",
        "app/web/tabs.py": "def tab():\n    from app.web import server\n",  # the lazy import closes the cycle
        "evals/__init__.py": "",
        "evals/run.py": "from app.web.tabs import tab\n" + "x = 1\n" * MAX_LINES,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_checks_find_a_layer_break_a_lazy_cycle_and_a_long_module(crooked: Path):
    assert layer_breaks(crooked) == ["perception/base.py:1: perception imports memory.store"]
    edges = graph(crooked)
    assert edges["app.web.server"] == {"app.web.tabs"} and edges["evals.run"] == {"app.web.tabs"}
    assert cycles(edges) == [["app.web.server", "app.web.tabs"], ["memory.store", "perception.base"]]
    assert oversized(crooked) == {"evals/run.py": MAX_LINES + 1}


# -- the house ----------------------------------------------------------------------------------


def test_imports_flow_one_way_between_the_packages():
    assert layer_breaks(ROOT) == []


def test_no_file_imports_itself_round_a_cycle():
    assert cycles(graph(ROOT)) == []


def test_no_production_module_is_over_500_lines():
    found = oversized(ROOT)
    assert {path: lines for path, lines in found.items() if path not in PENDING_SPLIT} == {}
    split = sorted(PENDING_SPLIT - set(found))
    assert not split, f"{', '.join(split)} no longer over {MAX_LINES} lines: take them off PENDING_SPLIT"
