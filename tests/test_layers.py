"""The kit's import structure: no circle among its modules and no import upward across its layers.

Layers, lowest first (a module may import its own layer and those below, never above)::

    0 paths
    1 data                                   (datasets: glyphs, Omniglot, text collections, protocols)
    2 episodes, device, stats, training      (samplers and shared training pieces)
    3 the wings: multitask, blackbox, fewshot, lm, causal_lm, textdata, augment, plot
    4 grading                                (it imports the wings only inside functions, lazily)
    5 cli, demo, __main__, the package itself

Only module-level imports count: an import inside a function is a deliberate late import, and one
under ``if TYPE_CHECKING:`` never runs.
"""
from __future__ import annotations

import ast
from pathlib import Path

from metakit.paths import REPO_ROOT

LAYERS = {"paths": 0, "data": 1, "episodes": 2, "device": 2, "stats": 2, "training": 2,
          "multitask": 3, "blackbox": 3, "fewshot": 3, "lm": 3, "causal_lm": 3, "textdata": 3, "augment": 3,
          "plot": 3, "grading": 4, "cli": 5, "demo": 5, "__main__": 5, "metakit": 5}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((REPO_ROOT / "metakit").rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The kit modules that ``path`` imports at module level (a name imported from a package that
    is itself a submodule counts as that submodule)."""
    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str | None] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {owner(alias.name) for alias in node.names if alias.name.startswith("metakit")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("metakit"):
            found.add(owner(node.module))
            found |= {owner(f"{node.module}.{alias.name}") for alias in node.names}
    return {name for name in found if name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else parts[0]]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, str] = {}
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == "open":
                cycles.append(path[path.index(successor):] + [successor])
            elif successor not in state:
                visit(successor)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_every_kit_module_has_a_layer() -> None:
    unplaced = sorted({name.split(".")[1] if "." in name else name for name in import_graph()} - set(LAYERS))
    assert not unplaced, f"add these to LAYERS (and to this module's docstring): {unplaced}"


def test_no_module_imports_upward() -> None:
    upward = [f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
              for name, targets in import_graph().items() for target in sorted(targets) if layer(target) > layer(name)]
    assert not upward, "\n".join(upward)


def test_no_import_circle() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    """The two checks on a graph with a planted circle and a planted upward import."""
    graph = {"metakit.data.a": {"metakit.data.b"}, "metakit.data.b": {"metakit.data.a"},
             "metakit.paths": {"metakit.grading.runner"}, "metakit.grading.runner": set()}
    assert find_cycles(graph) == [["metakit.data.a", "metakit.data.b", "metakit.data.a"]]
    assert layer("metakit.grading.runner") > layer("metakit.paths")
    real = import_graph()
    assert "metakit.grading.runner" in real["metakit.grading.report"] or \
        "metakit.grading.records" in real["metakit.grading.report"], "the graph sees real imports"
    assert "metakit.data.protocols" in real["metakit.fewshot"], "a name imported from a submodule counts"
