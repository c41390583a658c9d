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
            names.add(base)
            # ``from autograd_mem import child`` imports the submodule ``child``.
            names.update(f"{base}.{alias.name}" for alias in node.names)
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
