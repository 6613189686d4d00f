"""The layers show in the imports (STYLE.md 0): downward only, no cycles, no private names.

Every module of ``sim`` is parsed (not imported) and its ``import`` statements, including
those inside functions, form the module graph. Layers, bottom up: the foundation
(errors, names, streams, ...), scenario, mechanisms, model (engine, Mesa model, agents,
replications), experiment, report and CLI; a module may import its own layer and those
below, never above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

#: layer of each top-level part of the package, bottom (0) to top
LAYERS = {
    "_version": 0, "errors": 0, "metric_names": 0, "numbers": 0, "streams": 0,
    "mesa_compat": 0,
    "scenario": 1,
    "mechanisms": 2,
    "engine": 3, "model": 3, "agents": 3, "replication": 3,
    "experiment": 4,
    "report": 5, "app": 5, "widgets": 5,
    "docgen": 6, "cli_app": 6, "cli_common": 6, "cli": 6, "cli_experiments": 6,
    "cli_ensemble": 6, "cli_bayes": 6, "cli_robustness": 6, "cli_explore": 6,
    "__main__": 6, "__init__": 6,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        nodes.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module imported, names imported from it)`` for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    package = _module_name(path)
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.startswith("sim")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports resolve against the package
                base = package.split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.startswith("sim"):
                found.append((module, [a.name for a in node.names]))
    return found


MODULES = {_module_name(p): p for p in SIM.rglob("*.py")}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for module, names in _imports(path):
            for candidate in [f"{module}.{n}" for n in names] + [module]:
                if candidate in MODULES and candidate != name:
                    targets.add(candidate)
                    break
        graph[name] = targets
    return graph


def test_every_part_has_a_layer() -> None:
    missing = {_part(m) for m in MODULES} - set(LAYERS)
    assert not missing, f"add these to LAYERS: {sorted(missing)}"


#: The one upward dependency, and why: the notebook API of INTERFACES.md has
#: ``res.figure(...)`` and ``res.to_html(...)`` on results, so ``Results`` calls the report
#: layer lazily, inside those two methods; the report reads results and never imports
#: the experiment layer's runner, so nothing else depends upward.
ALLOWED_UPWARD = {("sim.experiment.results", "sim.report")}


def test_imports_point_down_only() -> None:
    wrong = []
    for name, targets in _graph().items():
        if name == "sim":
            continue  # the package's lazy public API re-exports from every layer
        for target in targets:
            if (target != "sim" and LAYERS[_part(target)] > LAYERS[_part(name)]
                    and (name, target) not in ALLOWED_UPWARD):
                wrong.append(f"{name} -> {target}")
    assert not wrong, "upward imports:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    graph = {k: {t for t in v if t != "sim" and (k, t) not in ALLOWED_UPWARD}
             for k, v in _graph().items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycle.extend(stack[stack.index(target):] + [target])
                return True
            if state.get(target) is None and visit(target, [*stack, target]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and visit(start, [start]):
            break
    assert not cycle, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_imported_across_modules(name: str) -> None:
    private = [f"{module}.{n}" for module, names in _imports(MODULES[name]) for n in names
               if n.startswith("_") and not n.startswith("__") and module != name]
    assert not private, f"{name} imports private names: {private}"
