"""The rules between the tiers, as paths (docs/architecture.md):

- nothing in the core, genhub/api/ or genhub/web/ imports torch, transformers,
  diffusers or genhub/worker/: the web process never loads a model;
- modality apps import the core and never each other;
- no import circles, counting imports inside functions too.

Read from the source with `ast`, so a rule broken in a function that no test
happens to call is still caught.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import ROOT

pytestmark = pytest.mark.unit

PACKAGES = ("genhub", "textgen", "imagegen", "audiogen")
MODALITY_APPS = ("textgen", "imagegen", "audiogen")
ML_LIBRARIES = ("torch", "transformers", "diffusers")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, at any depth (functions included), but for
    those under `if TYPE_CHECKING:`, which only the type checker reads."""
    tree = ast.parse(path.read_text(), str(path))
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING"):
            block.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # `from genhub import jobs` imports the module genhub.jobs.
                candidate = f"{node.module}.{alias.name}"
                yield candidate if candidate in SOURCES else node.module


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _web_side(module: str) -> bool:
    """The core, the API and the pages: everything in genhub/ but the worker."""
    return _is_within(module, "genhub") and not _is_within(module, "genhub.worker")


def test_the_web_side_never_imports_ml_libraries_or_the_worker():
    broken = [
        f"{module} imports {imported}"
        for module, path in SOURCES.items()
        if _web_side(module)
        for imported in _imports(path)
        if any(_is_within(imported, banned) for banned in (*ML_LIBRARIES, "genhub.worker"))
    ]
    assert broken == []


def test_modality_apps_never_import_each_other():
    broken = [
        f"{module} imports {imported}"
        for module, path in SOURCES.items()
        for app in MODALITY_APPS
        if _is_within(module, app)
        for imported in _imports(path)
        for other in MODALITY_APPS
        if other != app and _is_within(imported, other)
    ]
    assert broken == []


def test_the_core_never_imports_a_modality_app():
    broken = [
        f"{module} imports {imported}"
        for module, path in SOURCES.items()
        if _is_within(module, "genhub")
        for imported in _imports(path)
        if any(_is_within(imported, app) for app in MODALITY_APPS)
    ]
    assert broken == []


def test_there_are_no_import_circles():
    graph = {
        module: {imported for imported in _imports(path) if imported in SOURCES}
        for module, path in SOURCES.items()
    }
    circles = []
    state: dict[str, str] = {}  # "visiting" while on the current path, then "done"
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "visiting"
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "visiting":
                circles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in state:
                visit(imported)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert circles == []


def test_the_rules_see_the_whole_tree():
    # A rule that reads nothing passes vacuously: make sure it reads the tiers.
    for expected in ("genhub.jobs", "genhub.api.root", "genhub.web.views", "genhub.worker.tasks"):
        assert expected in SOURCES
    assert "genhub.worker.execution" in set(_imports(SOURCES["genhub.worker.tasks"]))
