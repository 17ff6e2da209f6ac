"""The package layering holds: imports go down ``axis → storage → signing → envelope``, and never in a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("envelope", "signing", "storage", "axis")
#: What each package may import from the project, besides itself.
ALLOWED = {
    "envelope": set(),
    "signing": {"envelope"},
    "storage": {"envelope", "signing"},
    "axis": {"envelope", "signing", "storage"},
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an imported name lives in (``axis.exchange.submission.accept`` → the module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every project module ``module`` imports (at any depth of its code), with the line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (target := _resolve(alias.name)) is not None:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}") if base else None
                if target is None:
                    target = _resolve(base)
                if target is not None:
                    yield target, node.lineno


GRAPH = {m: {t for t, _ in _imports(m, p) if t != m} for m, p in MODULES.items()}


def _third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_graph_sees_the_project() -> None:
    # A walker that found nothing would pass every check below.
    assert len(MODULES) > 80
    assert "axis.exchange.submission" in GRAPH["axis.api.exchange"]
    assert "envelope.xml" in GRAPH["signing.verifier"]


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_only_go_down_the_layers(package: str) -> None:
    upward = [
        f"{m} imports {t}"
        for m, targets in GRAPH.items() if m.split(".")[0] == package
        for t in sorted(targets) if t.split(".")[0] not in ALLOWED[package] | {package}
    ]
    assert upward == []


def test_no_import_cycle_among_project_modules() -> None:
    # Tarjan's strongly connected components: any component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_exchange_use_cases_know_nothing_of_http_frameworks() -> None:
    offenders = {
        m: sorted(_third_party(p) & {"aiohttp", "aiohttp_jinja2"})
        for m, p in MODULES.items() if m.startswith("axis.exchange")
    }
    assert any(m == "axis.exchange.submission" for m in offenders)
    assert {m: names for m, names in offenders.items() if names} == {}


def test_each_axis_subpackage_says_what_it_holds() -> None:
    for path in sorted((ROOT / "axis").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{path.parent.name} has no docstring"
