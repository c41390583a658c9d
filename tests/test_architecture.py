"""The package's shape, read from its source: short functions, and layers that only point down."""

from __future__ import annotations

import ast
from pathlib import Path

import autograd_mem

PACKAGE = Path(autograd_mem.__file__).parent
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, tuple[ast.Module, bool]]:
    """Every module of the package by dotted name, with its AST and whether it is a package."""
    trees = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        trees[name] = (tree, is_package)
    return trees


MODULES = _modules()


def _imported(module: str, tree: ast.AST | None = None) -> set[str]:
    """The package's modules that ``module`` (or ``tree``, a part of it) imports, at any depth.

    Function-level imports count too: they still make the importer depend on the module.
    """
    own_tree, is_package = MODULES[module]
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree or own_tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from autograd_mem.cli import run`` imports the submodule ``run`` (its
            # package's __init__ runs first, but that is the package, not a dependency
            # on what the __init__ defines); ``from autograd_mem.cli import cli``
            # depends on the __init__ itself.
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                names.add(submodule if submodule in MODULES else base)
    return {name for name in names if name in MODULES}


def test_no_function_in_the_package_is_over_60_lines():
    too_long = [
        f"{module}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for module, (tree, _) in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert too_long == []


def test_the_engine_imports_nothing_from_the_rest_of_the_package():
    outside = {
        f"{module} imports {name}"
        for module in MODULES
        if module.startswith("autograd_mem.engine")
        for name in _imported(module)
        if not name.startswith("autograd_mem.engine")
    }
    assert outside == set()


def test_the_runner_does_not_import_the_child():
    assert "autograd_mem.measure.child" not in _imported("autograd_mem.measure.runner")


def test_reporters_do_not_import_the_commands_or_the_runner():
    upward = {
        f"{module} imports {name}"
        for module in MODULES
        if module.startswith("autograd_mem.reporters")
        for name in _imported(module)
        if name.startswith(("autograd_mem.cli", "autograd_mem.measure"))
    }
    assert upward == set()


def _late_imports(module: str) -> list[tuple[int, set[str]]]:
    """Module-level imports after the first definition: their line and what they import."""
    tree, _ = MODULES[module]
    late, seen_code = [], False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            seen_code = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and seen_code:
            late.append((node.lineno, _imported(module, node)))
    return late


def test_no_import_sits_in_the_middle_of_a_module_unless_a_cycle_needs_it():
    # Function-level imports are allowed (they keep numpy out of start-up); a module-level
    # one below the code is allowed only when the module it imports imports this one back.
    unneeded = [
        f"{module}:{line}"
        for module in list(MODULES)
        for line, targets in _late_imports(module)
        if not any(module in _imported(target) for target in targets)
    ]
    assert unneeded == []


# --- the pipeline's layers (issue 18) -----------------------------------------------------

# Each stage's package and its layer: a module may import its own package and the layers
# below its own, never a layer above, and never a sibling stage of the same layer. Data
# flows up this list: engine → targets → measure → analysis → reporters → cli / pytest.
LAYERS: dict[str, int] = {
    "engine": 0,
    "_version": 0,
    "errors": 0,
    "schema": 1,
    "targets": 2,
    "probes": 2,
    "cycles": 3,
    "measure": 4,
    "analysis": 4,
    "reporters": 5,
    "cli": 6,
    "pytest_plugin": 6,
}
# The root's public surface: the package itself, ``python -m autograd_mem``, and the
# DeZero-named modules a user imports (``autograd_mem.functions as F``), one per module
# path of DeZero 0.0.13 (``core_simple`` is the book's early steps' core).
PUBLIC_SURFACE = {"", "__main__", "core", "core_simple", "functions", "functions_conv",
                  "layers", "models", "optimizers", "datasets", "dataloaders", "utils",
                  "transforms", "cuda"}


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_the_root_holds_only_the_public_surface_and_the_stage_packages():
    strays = sorted(
        module for module in MODULES
        if _stage(module) not in LAYERS and _stage(module) not in PUBLIC_SURFACE
    )
    assert strays == []


def test_nothing_inside_agmem_imports_the_dezero_named_modules():
    users = sorted(
        f"{module} imports {name}"
        for module in MODULES
        if _stage(module) in LAYERS
        for name in _imported(module)
        if _stage(name) in PUBLIC_SURFACE - {""} and name.count(".") == 1
    )
    assert users == []


def test_dependencies_point_down_the_pipeline():
    upward = sorted(
        f"{module} imports {name}"
        for module in MODULES
        if _stage(module) in LAYERS
        for name in _imported(module)
        if _stage(name) in LAYERS
        and _stage(name) != _stage(module)
        and LAYERS[_stage(name)] >= LAYERS[_stage(module)]
    )
    assert upward == []


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that reach each other through imports (a few hundred edges: a
    walk from every module is quick, and plainer than Tarjan's algorithm)."""
    reach: dict[str, set[str]] = {}
    for start in graph:
        seen, todo = set(), [start]
        while todo:
            for successor in graph[todo.pop()] - seen:
                seen.add(successor)
                todo.append(successor)
        reach[start] = seen
    groups = {
        tuple(sorted(m for m in graph if m in reach[module] and module in reach[m]))
        for module in graph
    }
    return sorted(list(group) for group in groups if len(group) > 1)


# Being taken apart (issue 18): remove an entry when its circle or upward import is gone;
# the tests fail until then, and again if the list says more than the code does.
CIRCLES_LEFT: list[list[str]] = []


def test_no_two_files_import_each_other_at_any_distance():
    graph = {module: _imported(module) - {module} for module in MODULES}
    assert _circles(graph) == CIRCLES_LEFT


def test_reporters_read_the_schema_and_the_analysis_only():
    readers = {
        f"{module} imports {name}"
        for module in MODULES
        if _stage(module) == "reporters"
        for name in _imported(module)
        if _stage(name) in LAYERS and _stage(name) not in ("reporters", "schema", "analysis")
    }
    assert readers == set()


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


# --- one target type (issue 18) ----------------------------------------------------------

# Modules that still ask which kind of target a config holds, outside targets/ (where
# target_of asks, once). The baseline's confinement in cli/check is being reworked with
# issue 19: a Target.confine(where) would take it.
ASKING_THE_KIND_LEFT = {"autograd_mem.cli.check"}


def _asks_the_kind(node: ast.AST) -> bool:
    """``x.program is None``, ``x.program is not None``, or ``isinstance(x, ProgramTarget)``."""
    if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute):
        return (node.left.attr == "program"
                and any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops))
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
        kinds = ast.unparse(node.args[1]) if len(node.args) == 2 else ""
        return "WorkloadTarget" in kinds or "ProgramTarget" in kinds
    return False


def test_no_module_outside_the_targets_asks_which_kind_of_target_it_has():
    askers = {
        module
        for module, (tree, _) in MODULES.items()
        if _stage(module) != "targets" and module != "autograd_mem.schema.config"
        for node in ast.walk(tree)
        if _asks_the_kind(node)
    }
    assert askers == ASKING_THE_KIND_LEFT


def test_the_kind_finder_finds_each_way_of_asking():
    asks = [ast.parse(text).body[0].value for text in (
        "c.program is None", "m.config.program is not None", "isinstance(t, ProgramTarget)")]
    plain = [ast.parse(text).body[0].value for text in ("c.program == ()", "t.traits.runs_once")]
    assert all(map(_asks_the_kind, asks)) and not any(map(_asks_the_kind, plain))
