"""First-time imports run untraced inside UntracedImports, tracing resumes after them, and
what they added is counted apart."""

from __future__ import annotations

import importlib
import sys
import tracemalloc

import pytest

from autograd_mem.probes import allocated
from autograd_mem.probes.imports import UntracedImports
from autograd_mem.probes.tracing import Tracing

MODULE = """
payload = [bytearray(1024) for _ in range(2000)]  # 2 MiB allocated at import
"""


@pytest.fixture()
def fresh_module(tmp_path, monkeypatch):
    """A module never imported before, that allocates 2 MiB when it is."""
    name = f"agmem_fresh_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def traced_from(name: str, snapshot: tracemalloc.Snapshot) -> int:
    return sum(
        stat.size for stat in snapshot.statistics("filename") if name in stat.traceback[0].filename
    )


@pytest.mark.parametrize("how", ["statement", "import_module"])
def test_a_first_import_is_untraced_and_tracing_resumes(fresh_module, how):
    tracing = Tracing(4)
    tracing.start()
    try:
        before = [bytearray(1024) for _ in range(100)]  # traced before the import
        with UntracedImports(tracing) as imports:
            if how == "statement":
                module = __import__(fresh_module)
            else:
                module = importlib.import_module(fresh_module)
            after = [bytearray(1024) for _ in range(100)]  # traced again
            snapshot = tracemalloc.take_snapshot()
            limit = tracemalloc.get_traceback_limit()
    finally:
        tracing.stop()
    assert len(module.payload) == 2000
    # then: next to nothing of the module's 2 MiB traced (under pytest, one 64-byte block
    # made in its body is); the test's own lists, made before and after the import,
    # traced (the traces made before it kept); the same limit
    assert traced_from(f"{fresh_module}.py", snapshot) <= 1024
    assert traced_from("test_imports.py", snapshot) >= 200 * 1024
    assert len(before) == len(after) == 100 and limit == 4
    assert imports.imports >= 1 and imports.seconds > 0
    # and: the import is counted apart, one module, its 2,000 KiB kept (by the allocators)
    assert imports.modules == 1
    if allocated.allocated_bytes() is not None:
        assert 2000 * 1024 <= imports.kept_bytes <= 2000 * 1024 * 1.15


def test_an_import_agmem_asks_for_is_not_counted_as_the_programs(fresh_module):
    from autograd_mem.probes import imports as imports_module

    tracing = Tracing(4)
    tracing.start()
    try:
        with UntracedImports(tracing) as imports:
            # an import seen as coming from agmem's own package (its reading of a collection)
            code = compile(f"__import__({fresh_module!r})", imports_module.__file__, "exec")
            exec(code, {})
            snapshot = tracemalloc.take_snapshot()
    finally:
        tracing.stop()
    assert imports.imports == 0 and imports.modules == 0
    assert traced_from(f"{fresh_module}.py", snapshot) >= 2000 * 1024


def test_without_the_context_an_import_is_traced(fresh_module):
    tracemalloc.start(4)
    try:
        __import__(fresh_module)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert traced_from(f"{fresh_module}.py", snapshot) >= 2000 * 1024


def test_tracing_that_was_off_stays_off(fresh_module):
    assert not tracemalloc.is_tracing()
    with UntracedImports():
        __import__(fresh_module)
        assert not tracemalloc.is_tracing()
