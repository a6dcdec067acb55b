"""The layers of ``kube/``: arrows point one way, and no module imports in a cycle.

An ast walk over every module (function-local imports included, since those hid
cycles before) checks two rules:

* a module imports only from its own room or from rooms below it
  (``LAYERS``; the README's "Architecture" section draws the same picture);
* the module import graph has no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

KUBE = Path(__file__).resolve().parents[1] / "kube"

# Room -> the rooms it may import from (itself always allowed).
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "k8s": {"core"},
    "formula": {"core", "k8s"},
    "archive": {"core", "formula"},
    "install": {"core", "formula", "k8s", "archive"},
    "lint": {"core", "formula", "k8s", "archive"},
    "livetest": {"core", "formula", "k8s", "archive", "install", "lint"},
    # The web catalogue reads the archive; it never installs, lints or tests.
    "site": {"core", "formula", "k8s", "archive"},
    # Clusters by name: the registry, provisioners, backups; runs installs, never lints or tests.
    "clusters": {"core", "formula", "k8s", "archive", "install"},
    "cli": {"core", "formula", "k8s", "archive", "install", "lint", "livetest", "site", "clusters"},
}
# Modules directly in kube/ that are not rooms.
TOP_LEVEL = {"kube", "kube.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(KUBE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in KUBE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every kube module ``name`` imports, with the line, resolved to a module (not a symbol)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "kube":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.split(".")[0] != "kube":
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                yield (candidate if candidate in known else target), node.lineno


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        name: {target for target, _ in imports_of(name, path, known) if target in known and target != name}
        for name, path in found.items()
    }


def test_every_module_lives_in_a_room() -> None:
    stray = sorted(name for name in modules() if room(name) is None and name not in TOP_LEVEL)
    assert stray == [], f"modules outside the rooms {sorted(LAYERS)}: {stray}"


def test_no_module_imports_upward() -> None:
    found = modules()
    known = set(found)
    upward = []
    for name, path in sorted(found.items()):
        source = room(name)
        if source is None:
            continue
        for target, line in imports_of(name, path, known):
            destination = room(target)
            if destination and destination != source and destination not in LAYERS[source]:
                upward.append(f"{path.relative_to(KUBE.parent)}:{line} {source} -> {destination} ({target})")
    assert upward == [], "imports against the layers:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("source", "snippet", "expected"),
    [
        ("kube.core.errors", "from kube.cli import app", "upward"),
        ("kube.formula.load", "from kube.install.hooks import run", "upward"),
        ("kube.cli.app", "from kube.core.errors import KubeError", "fine"),
    ],
)
def test_the_layer_check_can_fail(tmp_path: Path, source: str, snippet: str, expected: str) -> None:
    """The rule above is not vacuous: an upward import is caught."""
    path = tmp_path / "m.py"
    path.write_text(snippet + "\n")
    known = set(modules())
    targets = [target for target, _ in imports_of(source, path, known)]
    src_room, dst_room = room(source), room(targets[0])
    assert src_room and dst_room
    verdict = "fine" if dst_room == src_room or dst_room in LAYERS[src_room] else "upward"
    assert verdict == expected
