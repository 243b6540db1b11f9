"""The layer's layout: folders by role, each importing only from the folders below it, no import circle, no long
file, package __init__ files that import nothing, and DynamoDB reached only from table/.

Kept apart from test_layer_rules.py, which `make mutation` runs on mutated copies of the layer (longer files, and
not at this path)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "python" / "aichat"

# Each folder of the layer and the folders it may import from, besides its own: each only from those below it, so
# a reader can learn the layer from the bottom up, and nothing below ever changes for what is above.
MAY_IMPORT = {
    "core": set(),
    "notify": {"core"},
    "providers": {"core"},
    "table": {"core", "notify"},
    "tools": {"core", "notify", "table", "providers"},
    "services": {"core", "notify", "table", "providers"},
    "turn": {"core", "notify", "table", "providers", "tools", "services"},
    "wiring": {"core", "notify", "table", "providers", "tools", "services", "turn"},
    "api": {"core", "notify", "table", "providers", "tools", "services", "turn", "wiring"},
}
MAX_TOP_LEVEL_ENTRIES = 16
MAX_FILE_LINES = 400


@cache
def layer_modules() -> dict[str, Path]:
    """Every module of the layer by its dotted name (read once per run)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _type_checking_only(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path, *, with_type_checking: bool) -> Iterator[str]:
    """The aichat modules a file imports, at top level or inside functions (a lazy import is a dependency too)."""
    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child) and not with_type_checking:
                continue
            yield child
            yield from walk(child)

    modules = layer_modules()
    for node in walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("aichat"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aichat"):
            for alias in node.names:
                # `from aichat.table import keys` imports the module aichat.table.keys.
                full = f"{node.module}.{alias.name}"
                yield full if full in modules else node.module


def folder_of(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_each_folder_imports_only_from_the_folders_below_it() -> None:
    upward = [f"{name} imports {imported}" for name, path in layer_modules().items() if folder_of(name)
              for imported in imports_of(path, with_type_checking=True)
              if folder_of(imported) not in {folder_of(name), *MAY_IMPORT[folder_of(name)]}]
    assert upward == []


def test_every_folder_of_the_layer_has_its_import_rule() -> None:
    folders = {p.stem for p in PACKAGE.iterdir() if (p.is_dir() and p.name != "__pycache__") or p.suffix == ".py"}
    assert folders - {"__init__"} == set(MAY_IMPORT)


def test_the_layer_has_no_import_circle() -> None:
    graph = {name: {i for i in imports_of(path, with_type_checking=False) if i != name}
             for name, path in layer_modules().items()}
    circles = []

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
        return seen

    for module in graph:
        # A package's __init__ is imported with each of its modules, never the other way round.
        if module in reach(module):
            circles.append(module)
    assert circles == []


def test_the_layer_top_level_is_short_and_no_file_is_long() -> None:
    top = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(top) <= MAX_TOP_LEVEL_ENTRIES, top
    long = {str(path.relative_to(PACKAGE)): n for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text().splitlines())) > MAX_FILE_LINES}
    assert long == {}


def test_a_package_init_holds_a_docstring_and_nothing_else() -> None:
    # So importing one module of a folder loads only that module (the stream authorizer's cold start counts).
    def statements(path: Path) -> list[str]:
        return [type(node).__name__ for node in ast.parse(path.read_text()).body
                if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]

    inits = {str(path.relative_to(PACKAGE)): statements(path) for path in PACKAGE.rglob("__init__.py")}
    assert {name: body for name, body in inits.items() if body} == {}


def test_only_the_table_folder_talks_to_dynamodb() -> None:
    # wiring builds the client and hands it in; everything else reads and writes through table/.
    calls = ("get_item(", ".query(", "put_item(", "update_item(", "delete_item(", "transact_write_items(",
             "batch_write_item(", "transact_get_items(", ".scan(")
    outside = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if path.relative_to(PACKAGE).parts[0] != "table" and any(c in path.read_text() for c in calls))
    assert outside == []
