"""First-time imports run untraced inside UntracedImports, and tracing resumes after them."""

from __future__ import annotations

import importlib
import sys
import tracemalloc

import pytest

from autograd_mem.probes.imports import UntracedImports

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
    tracemalloc.start(4)
    try:
        with UntracedImports() as imports:
            if how == "statement":
                module = __import__(fresh_module)
            else:
                module = importlib.import_module(fresh_module)
            after = [bytearray(1024) for _ in range(100)]  # traced again
            snapshot = tracemalloc.take_snapshot()
            limit = tracemalloc.get_traceback_limit()
    finally:
        tracemalloc.stop()
    assert len(module.payload) == 2000
    # then: nothing of the module's 2 MiB traced, the test's own list traced, same limit
    assert traced_from(f"{fresh_module}.py", snapshot) == 0
    assert traced_from("test_imports.py", snapshot) >= 100 * 1024
    assert len(after) == 100 and limit == 4
    assert imports.imports >= 1 and imports.seconds > 0


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
