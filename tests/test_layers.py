"""The package's layers import only downwards, counting imports inside functions (README, Layout):

    cli -> (dashboard) -> analysis -> experiments -> engine -> (loading) -> rules -> scenario -> base modules

plots read files: they never import the engine, the rules or the analyses, and analyses never import plots (they
return data; the CLI draws); both read bordersim's directories through `sim.directories`, a base module. The
dashboard sits under the CLI and uses the Mesa engine, the plots' style and the rules, never the sweep framework or
the analyses."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SIM = Path(__file__).resolve().parents[1] / "sim"

# rank of each layer: a module may import modules of its own layer or of a lower rank
LAYERS = [
    ("base", ("sim.errors", "sim.api_checks", "sim.outputs", "sim.outcomes", "sim.observed", "sim.directories",
              "sim.weighted", "sim.provenance", "sim.interrupts", "sim.extras", "sim.numbers")),
    ("scenario", ("sim.scenario",)),
    ("rules", ("sim.rules", "sim.loading")),
    ("engine", ("sim.engine",)),
    ("experiments", ("sim.experiments",)),
    ("plots", ("sim.plots",)),
    ("analysis", ("sim.analysis",)),
    ("dashboard", ("sim.dashboard",)),
    ("cli", ("sim.cli", "sim.__main__", "sim.entry")),
]
FORBIDDEN = {  # importer layer -> layers it must not import although they rank lower
    "plots": {"rules", "engine"},
    "analysis": {"plots"},
    "dashboard": {"experiments", "analysis"},  # the live Mesa engine and the plots' style, not the sweep machinery
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SIM.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    for name, prefixes in LAYERS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    return None


def _runtime_nodes(tree: ast.AST):
    """Every node, leaving out `if TYPE_CHECKING:` blocks (annotations only; never executed)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports() -> nx.DiGraph:
    """Module -> imported sim module, for every import statement anywhere in the file (functions included; not
    those under `if TYPE_CHECKING:`, which only annotations see)."""
    modules = {module_name(p): p for p in SIM.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for node in _runtime_nodes(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            for target in targets:
                if target.startswith("sim.") and target != name:
                    graph.add_edge(name, target)
    return graph


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in imports() if m != "sim" and layer_of(m) is None]
    assert unplaced == []


def test_no_import_cycle_among_modules_or_packages():
    graph = imports()
    assert list(nx.simple_cycles(graph)) == []
    layers = nx.DiGraph((layer_of(a), layer_of(b)) for a, b in graph.edges if layer_of(a) != layer_of(b))
    assert list(nx.simple_cycles(layers)) == []


def test_imports_point_down_the_layers():
    rank = {name: i for i, (name, _) in enumerate(LAYERS)}
    wrong = []
    for a, b in imports().edges:
        la, lb = layer_of(a), layer_of(b)
        if la is None or lb is None:
            continue
        if rank[lb] > rank[la] or lb in FORBIDDEN.get(la, set()):
            wrong.append(f"{a} ({la}) imports {b} ({lb})")
    assert wrong == []


def test_the_check_sees_an_upward_import_inside_a_function(tmp_path, monkeypatch):
    """The checker itself: an import of the CLI inside a function of the rules is found."""
    fake = tmp_path / "sim"
    (fake / "rules").mkdir(parents=True)
    (fake / "cli").mkdir()
    (fake / "rules" / "x.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sim.engine\n"
                                         "def f():\n    from sim.cli.main import main\n")
    (fake / "cli" / "main.py").write_text("def main():\n    pass\n")
    monkeypatch.setattr(__import__(__name__), "SIM", fake)
    assert ("sim.rules.x", "sim.cli.main") in imports().edges
    assert ("sim.rules.x", "sim.engine") not in imports().edges


# The array engine must not pay for Mesa (1.5 s of imports): neither it nor anything it imports, however indirectly,
# imports the Mesa engine, the plain-Mesa reference or the `mesa` package itself.
MESA_FREE = ("sim.engine.arrays",)
MESA_MODULES = ("sim.engine.mesa", "sim.engine.reference")


def imports_mesa(path: Path) -> bool:
    """Whether a file imports the third-party `mesa` package anywhere (not under `if TYPE_CHECKING:`)."""
    for node in _runtime_nodes(ast.parse(path.read_text())):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        if any(n == "mesa" or n.startswith("mesa.") for n in names):
            return True
    return False


def mesa_reached(graph: nx.DiGraph, roots: tuple[str, ...]) -> list[str]:
    """Modules reachable from the `roots` packages that are Mesa modules or import `mesa`."""
    files = {module_name(p): p for p in SIM.rglob("*.py")}
    start = [m for m in graph if any(m == r or m.startswith(r + ".") for r in roots)]
    reached = set(start).union(*(nx.descendants(graph, m) for m in start))
    return sorted(m for m in reached if m.startswith(MESA_MODULES) or (m in files and imports_mesa(files[m])))


def test_the_array_engine_reaches_no_mesa():
    assert mesa_reached(imports(), MESA_FREE) == []


def test_the_mesa_check_sees_an_indirect_import(tmp_path, monkeypatch):
    """The checker itself: the array engine importing a module that imports mesa is found."""
    fake = tmp_path / "sim"
    (fake / "engine" / "arrays").mkdir(parents=True)
    (fake / "engine" / "arrays" / "model.py").write_text("from sim.engine.core import x\n")
    (fake / "engine" / "core.py").write_text("def f():\n    import mesa.discrete_space\n")
    monkeypatch.setattr(__import__(__name__), "SIM", fake)
    assert mesa_reached(imports(), MESA_FREE) == ["sim.engine.core"]
