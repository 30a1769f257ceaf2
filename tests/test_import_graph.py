"""The import graph of ``src/agentdeck``: no circles, and the lower layers never reach up.

Every ``import`` counts, wherever it is written: at module level, under
``TYPE_CHECKING`` (the type checker follows those) and inside functions (a deferred
import is still a dependency; deferring it only hides a circle until the day the
function runs first). A module importing ``a.b.c`` depends on ``a.b.c`` only: the
packages above it are loaded first by Python itself, not by a choice of the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "agentdeck"
#: Each layer, and the layers below it that must never import it (the server is the top;
#: the run engine drives the backends; the backends are written with HTTP and the store).
BELOW = {
    "agentdeck.server": (
        "agentdeck.backends",
        "agentdeck.http",
        "agentdeck.runs",
        "agentdeck.store",
    ),
    "agentdeck.runs": ("agentdeck.backends", "agentdeck.http", "agentdeck.store"),
    "agentdeck.backends": ("agentdeck.http", "agentdeck.store"),
}


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every module of the package under ``root``."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``name`` (at ``path``) imports anywhere in its code."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the module pkg.sub; `from mod import name`, mod.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        found |= {target for target in targets if target in modules and target != name}
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    files = module_files(root)
    return {name: imports_of(name, path, set(files)) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

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
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def reaching_up(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a lower layer of a higher one (see ``BELOW``)."""
    return sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        for target in targets
        for layer, below in BELOW.items()
        if target.startswith(layer) and name.startswith(below)
    )


def private_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports of a private module (a part of its name starting with ``_``) from outside
    the package it is private to: a package offers its public names from its
    ``__init__``, and only its own modules reach behind them."""
    found = []
    for name, targets in graph.items():
        for target in targets:
            parts = target.split(".")
            private = next((i for i, part in enumerate(parts) if part.startswith("_")), None)
            if private is None:
                continue
            owner = ".".join(parts[:private])
            if name != owner and not name.startswith(owner + "."):
                found.append(f"{name} imports {target}")
    return sorted(found)


def test_no_module_of_agentdeck_is_part_of_an_import_circle() -> None:
    graph = import_graph(SOURCE)
    assert graph.get("agentdeck.server._app")
    assert circles(graph) == []


def test_no_layer_imports_a_layer_above_it() -> None:
    graph = import_graph(SOURCE)
    assert any(name.startswith("agentdeck.backends.") for name in graph)
    assert any(name.startswith("agentdeck.runs.") for name in graph)
    assert reaching_up(graph) == []


def test_private_modules_are_imported_only_inside_their_package() -> None:
    graph = import_graph(SOURCE)
    assert any(name.startswith("agentdeck.server.chat._") for name in graph)
    assert private_imports(graph) == []


# ---- the checks can fail: they run on a small package written for the purpose ----------


def write_package(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / PACKAGE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    "where",
    [
        "from agentdeck.server import app\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from agentdeck.server.app import X\n",
        "def later():\n    from ..server.app import X\n",
    ],
    ids=["module level", "type checking", "in a function, relative"],
)
def test_a_circle_is_found_wherever_its_import_is_written(tmp_path: Path, where: str) -> None:
    write_package(
        tmp_path,
        {
            "__init__.py": "",
            "server/__init__.py": "",
            "server/app.py": "from agentdeck.server.toolkit import deck\n",
            "server/toolkit.py": where,
            "errors.py": "",
        },
    )
    assert circles(import_graph(tmp_path)) == [["agentdeck.server.app", "agentdeck.server.toolkit"]]


def test_a_package_importing_its_own_submodule_back_is_a_circle(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "__init__.py": "",
            "store/__init__.py": "def open_store():\n    from agentdeck.store.sqlite import S\n",
            "store/sqlite.py": "from agentdeck.store import now\n",
        },
    )
    assert circles(import_graph(tmp_path)) == [["agentdeck.store", "agentdeck.store.sqlite"]]


def test_a_backend_importing_the_server_is_reported(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "__init__.py": "",
            "server/__init__.py": "",
            "server/toolkit.py": "",
            "backends/__init__.py": "",
            "backends/make/__init__.py": "",
            "backends/make/backend.py": "import agentdeck.server.toolkit\n",
        },
    )
    assert reaching_up(import_graph(tmp_path)) == [
        "agentdeck.backends.make.backend imports agentdeck.server.toolkit"
    ]


def test_a_backend_or_the_store_importing_the_run_engine_is_reported(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "__init__.py": "",
            "runs/__init__.py": "",
            "runs/_history.py": "",
            "backends/__init__.py": "",
            "backends/kit.py": "from agentdeck.runs._history import page\n",
            "store/__init__.py": "import agentdeck.runs\n",
        },
    )
    assert reaching_up(import_graph(tmp_path)) == [
        "agentdeck.backends.kit imports agentdeck.runs._history",
        "agentdeck.store imports agentdeck.runs",
    ]


def test_a_private_module_imported_from_outside_its_package_is_reported(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "__init__.py": "",
            "server/__init__.py": "",
            "server/_app.py": "from agentdeck.server.chat._follow import follow\n",
            "server/chat/__init__.py": "from agentdeck.server.chat._follow import follow\n",
            "server/chat/_follow.py": "from agentdeck.server.chat._pauses import ask\n",
            "server/chat/_pauses.py": "",
            "cli.py": "from agentdeck.server._app import build\n",
        },
    )
    assert private_imports(import_graph(tmp_path)) == [
        "agentdeck.cli imports agentdeck.server._app",
        "agentdeck.server._app imports agentdeck.server.chat._follow",
    ]
