"""The sandbox package's shape: no import cycles, one copy of the spec it serves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lemlist_sandbox
from lemlist_sandbox import contract

PACKAGE = Path(lemlist_sandbox.__file__).resolve().parent
SHARED_SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "lemlist-api" / "openapi-v2.json"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports, read with ``ast`` (every import: top level, inside
    functions, under ``TYPE_CHECKING``). ``from pkg import name`` counts as importing ``pkg.name`` when that
    is a module, else ``pkg``."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_sandbox_package_has_no_import_cycle():
    graph = import_graph(PACKAGE)
    assert len(graph) > 30 and "lemlist_sandbox.routes.common" in graph["lemlist_sandbox.routes.leads"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    """Proof the test above can fail: a package whose modules import each other, one of them lazily."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from ..a import x\n")
    (package / "c.py").write_text("from . import a\n")
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.sub.b"]]


def test_the_served_spec_is_the_shared_spec_byte_for_byte():
    if not SHARED_SPEC.exists():
        pytest.skip(f"{SHARED_SPEC} is not here (the sandbox's copy is used alone)")
    assert contract.SPEC_FILE.read_bytes() == SHARED_SPEC.read_bytes()
