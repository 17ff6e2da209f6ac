"""The package layering holds: imports go down ``axis → storage → signing → envelope``, never in a circle.

The layout is docs/architecture.md's: the use cases (``axis/exchange``, ``axis/archive``) know none of the
adapters around them, no folder (its modules taken together) imports itself back through another one,
and only the adapters speak HTTP. Each rule is also run against a copy of the tree with one violation
planted, so a checker that sees nothing cannot pass.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("envelope", "signing", "storage", "axis", "migrations")
#: What each package may import from the project, besides itself.
ALLOWED = {
    "envelope": set(),
    "signing": {"envelope"},
    "storage": {"envelope", "signing"},
    "axis": {"envelope", "signing", "storage", "migrations"},
    "migrations": {"envelope", "signing", "storage"},
}
#: The use cases, and the adapters around them that they must never import.
USE_CASES = ("axis.exchange", "axis.archive")
ADAPTERS = ("axis.api", "axis.vxp", "axis.web", "axis.jobs", "axis.cli", "axis.agency", "axis.bench")
#: Where an HTTP framework may be imported: the adapters, the app factory and the app's keys.
HTTP_ALLOWED = (*[a for a in ADAPTERS], "axis.app", "axis.appkeys")
HTTP_FRAMEWORKS = {"aiohttp", "aiohttp_jinja2"}


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@dataclass
class Tree:
    """The project's modules, what each imports from the project and which third-party packages."""

    modules: dict[str, Path]
    graph: dict[str, set[str]]
    third_party: dict[str, set[str]]

    @classmethod
    def read(cls, root: Path) -> Tree:
        """Walk every package under ``root``."""
        modules: dict[str, Path] = {}
        for package in PACKAGES:
            for path in sorted((root / package).rglob("*.py")):
                parts = list(path.relative_to(root).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
        tree = cls(modules, {}, {})
        for module, path in modules.items():
            syntax = ast.parse(path.read_text(encoding="utf-8"), str(path))
            tree.graph[module] = {t for t in tree._imports(module, path, syntax) if t != module}
            tree.third_party[module] = _third_party(syntax)
        return tree

    def resolve(self, name: str) -> str | None:
        """The project module an imported name lives in (``axis.exchange.submission.accept`` → the module)."""
        while name:
            if name in self.modules:
                return name
            name = name.rpartition(".")[0]
        return None

    def _imports(self, module: str, path: Path, syntax: ast.Module) -> Iterator[str]:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(syntax):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if (target := self.resolve(alias.name)) is not None:
                        yield target
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    target = self.resolve(f"{base}.{alias.name}") if base else None
                    if target is None:
                        target = self.resolve(base)
                    if target is not None:
                        yield target

    def folder(self, module: str) -> str:
        """The node a module counts as in the folder graph.

        A module below a layer's top (``axis.exchange.submission``) counts as its folder
        (``axis.exchange``); a layer's own top-level modules (``axis.app``, ``axis.settings``,
        ``storage.db``) each stand alone, since the app factory must import every adapter and every
        adapter reads the settings.
        """
        path = self.modules[module]
        parts = module.split(".")
        if path.name == "__init__.py":
            return module if len(parts) > 1 else module
        return module if len(parts) <= 2 else module.rpartition(".")[0]


def _third_party(syntax: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(syntax):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# The rules: each returns what breaks it (empty when it holds).

def upward_imports(tree: Tree) -> list[str]:
    """Imports that go up the layers (``storage`` importing ``axis``)."""
    return [f"{m} imports {t}" for m, targets in tree.graph.items() for t in sorted(targets)
            if t.split(".")[0] not in ALLOWED[m.split(".")[0]] | {m.split(".")[0]}]


def module_cycles(tree: Tree) -> list[list[str]]:
    """Modules that import themselves back."""
    return _cycles(tree.graph)


def folder_cycles(tree: Tree) -> list[list[str]]:
    """Folders (their modules taken together) that import themselves back through another one."""
    folders: dict[str, set[str]] = {}
    for module, targets in tree.graph.items():
        source = tree.folder(module)
        folders.setdefault(source, set()).update(tree.folder(t) for t in targets if tree.folder(t) != source)
    return _cycles(folders)


def use_cases_importing_adapters(tree: Tree) -> list[str]:
    """Use-case modules that import an adapter."""
    return [f"{m} imports {t}" for m, targets in tree.graph.items() if _within(m, USE_CASES)
            for t in sorted(targets) if _within(t, ADAPTERS)]


#: Adapters that build on another: /vxp and the web UI on the API's problems, auth and submission; the CLI
#: composes everything (it serves, benches and runs jobs); the bench drives the agency client.
ADAPTER_USES = {
    "axis.vxp": ("axis.api",),
    "axis.web": ("axis.api",),
    "axis.cli": ADAPTERS,
    "axis.bench": ("axis.agency",),
}


def _adapter_of(module: str) -> str | None:
    return next((a for a in ADAPTERS if _within(module, (a,))), None)


def adapters_importing_adapters(tree: Tree) -> list[str]:
    """An adapter importing another one it does not build on (the web UI reaching into the jobs, say)."""
    found = []
    for m, targets in tree.graph.items():
        source = _adapter_of(m)
        if source is None:
            continue
        for t in sorted(targets):
            target = _adapter_of(t)
            if target is not None and target != source and target not in ADAPTER_USES.get(source, ()):
                found.append(f"{m} imports {t}")
    return found


def http_outside_adapters(tree: Tree) -> list[str]:
    """Modules outside the adapters that import an HTTP framework."""
    return [f"{m} imports {sorted(names & HTTP_FRAMEWORKS)}" for m, names in tree.third_party.items()
            if names & HTTP_FRAMEWORKS and not _within(m, HTTP_ALLOWED)]


RULES = {
    "upward": upward_imports,
    "module cycle": module_cycles,
    "folder cycle": folder_cycles,
    "use case imports adapter": use_cases_importing_adapters,
    "adapter imports adapter": adapters_importing_adapters,
    "http outside adapters": http_outside_adapters,
}
TREE = Tree.read(ROOT)


def test_the_graph_sees_the_project() -> None:
    # A walker that found nothing would pass every check below.
    assert len(TREE.modules) > 120
    assert "axis.exchange.submission" in TREE.graph["axis.api.exchange"]
    assert "envelope.xml" in TREE.graph["signing.verifier"]
    assert "storage.schema" in TREE.graph["migrations.env"]
    assert TREE.folder("axis.exchange.submission") == "axis.exchange"
    assert TREE.folder("axis.settings") == "axis.settings"
    assert TREE.folder("storage.payloads.store") == "storage.payloads"
    assert TREE.folder("storage.models") == "storage.models"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_layout_rule_holds(rule: str) -> None:
    assert RULES[rule](TREE) == []


#: One planted violation per rule: (file, a line that breaks the rule).
PLANTED = {
    "upward": ("storage/models.py", "from axis import settings as _planted\n"),
    "module cycle": ("envelope/codes.py", "from envelope import parser as _planted\n"),
    "folder cycle": ("axis/exchange/errors.py", "from axis import app as _planted\n"),
    "use case imports adapter": ("axis/archive/calendar.py", "from axis.web import i18n as _planted\n"),
    "adapter imports adapter": ("axis/web/admin.py", "from axis.jobs import scheduler as _planted\n"),
    "http outside adapters": ("axis/exchange/errors.py", "import aiohttp as _planted\n"),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_planted_violation_is_caught(rule: str, tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    file, line = PLANTED[rule]
    target = tmp_path / file
    target.write_text(target.read_text(encoding="utf-8") + line, encoding="utf-8")
    broken = RULES[rule](Tree.read(tmp_path))
    assert broken, f"{rule}: planting {line.strip()!r} in {file} went unnoticed"


def test_each_axis_subpackage_says_what_it_holds() -> None:
    for path in sorted((ROOT / "axis").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{path.parent.name} has no docstring"
