"""The engine is a layer of its own: it imports nothing from the rest of the package.

Read from the source with ``ast``, so an import inside a function counts too; and,
since the result schema reads the mode names from the engine, importing that
schema (or the pytest plugin) must still not import numpy.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import autograd_mem.engine

ENGINE_DIR = Path(autograd_mem.engine.__file__).parent
ENGINE_MODULES = sorted(ENGINE_DIR.rglob("*.py"))


def imported_modules(path: Path, package_dir: Path = ENGINE_DIR.parent) -> list[str]:
    """Absolute names of every module ``path`` imports, relative imports resolved."""
    package = [package_dir.name, *path.relative_to(package_dir).parent.parts]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
            else:
                names.append(node.module or "")
    return names


def test_the_engine_has_modules_to_check() -> None:
    assert {"core.py", "ops.py", "modes.py"} <= {p.name for p in ENGINE_MODULES}


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: p.name)
def test_engine_module_imports_nothing_from_the_rest_of_the_package(path: Path) -> None:
    outside = [
        name
        for name in imported_modules(path)
        if name.split(".")[0] == "autograd_mem"
        and not (name == "autograd_mem.engine" or name.startswith("autograd_mem.engine."))
    ]
    assert outside == []


def test_the_check_catches_an_import_leaving_the_engine(tmp_path: Path) -> None:
    # given a module under the engine with one absolute and one relative import outside it
    probe = tmp_path / "autograd_mem" / "engine" / "probe.py"
    probe.parent.mkdir(parents=True)
    source = "from autograd_mem.schema.result import X\nfrom .. import units\nfrom . import core\n"
    probe.write_text(source)
    # when its imports are read
    names = imported_modules(probe, tmp_path / "autograd_mem")
    # then both are seen for what they are, and the engine's own import is not flagged
    assert names == ["autograd_mem.schema.result", "autograd_mem", "autograd_mem.engine"]


def test_reading_results_or_loading_the_pytest_plugin_does_not_import_numpy() -> None:
    code = (
        "import sys\n"
        "import autograd_mem.schema.result, autograd_mem.pytest_plugin.plugin\n"
        "import autograd_mem.engine\n"
        "from autograd_mem.engine import REFERENCE_MODES\n"
        "assert autograd_mem.schema.result.REFERENCE_MODES is REFERENCE_MODES\n"
        "print('numpy' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"


def test_every_engine_export_resolves() -> None:
    engine = autograd_mem.engine
    assert sorted(engine.__all__) == sorted(["REFERENCE_MODES", *engine._EXPORTS])
    for name in engine.__all__:
        assert getattr(engine, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        engine.nonexistent  # noqa: B018
