"""The package layout is the pipeline: imports point down the chain only, and no modules import each
other in a cycle (docs/architecture.md). Walks every import statement of bench/, including those inside
functions, since a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

# Lowest first. A module may import its own package or any package of a lower layer; packages that share
# a layer are peers and must not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("config",),
    ("record",),
    ("data",),
    ("model",),
    ("train",),
    ("evaluate", "probes"),
    ("run",),
    ("report", "sweep", "export"),
    ("verdict",),
    ("site",),
    ("cli",),
    ("__main__",),
)
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(BENCH.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(BENCH.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The bench module that `import name` loads last (a package's __init__ or a module), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """Every bench module that `module` imports, at any depth of its code."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from pkg import mod` loads pkg.mod when it is a module, else pkg itself
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        found |= {target for n in names if n.split(".")[0] == "bench" and (target := resolve(n))}
    found.discard(module)
    return found


GRAPH = {module: imports(module) for module in MODULES}


def stage(module: str) -> str | None:
    """The pipeline package of a module: bench.data.corpus -> data; bench and bench.__init__ -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_package_has_a_layer():
    unplaced = sorted({s for m in MODULES if (s := stage(m)) is not None and s not in LEVEL})
    assert not unplaced, f"packages missing from LAYERS: {unplaced}"


def upward_edges(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a package to one of the same or a higher layer (its own package excepted)."""
    upward = []
    for module, targets in graph.items():
        here = stage(module)
        for target in targets:
            there = stage(target)
            if here is not None and there is not None and there != here and LEVEL[there] >= LEVEL[here]:
                upward.append(f"{module} -> {target}")
    return sorted(upward)


def test_imports_point_down_the_pipeline():
    upward = upward_edges(GRAPH)
    assert not upward, "imports that do not point down the pipeline:\n" + "\n".join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` as a path that returns to its start, or None (iterative DFS)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_guard_against():
    """The walker, the layer rule and the cycle finder on known cases, so none passes by seeing nothing."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    assert upward_edges({"bench.train.x": {"bench.probes.y", "bench.model.z", "bench.train.w"},
                         "bench.evaluate.a": {"bench.probes.b"}}) == [
        "bench.evaluate.a -> bench.probes.b", "bench.train.x -> bench.probes.y"]
    assert "bench.core.errors" in GRAPH["bench.core.files"]  # a module-level import
    assert "bench.train.artifacts" in GRAPH["bench.run.pipeline"]
    assert stage("bench.data.corpus") == "data" and stage("bench") is None


@pytest.mark.parametrize("package", sorted({s for m in MODULES if (s := stage(m))}))
def test_no_module_is_a_grab_bag(package):
    """Modules stay readable: none over 600 lines (the split rule of docs/architecture.md is ~500 lines
    unless a module's one job needs more)."""
    long = {m: n for m, p in MODULES.items() if stage(m) == package
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, f"modules over 600 lines: {long}"
