"""The causes of a failed check: forensics against the baseline's, and cycle shapes gated."""

from __future__ import annotations

import dataclasses
import json
import os

from autograd_mem.analysis.causes import find_causes, is_library_file, shape_rows
from autograd_mem.schema.check import INFO, TOLERANCE, Limits
from autograd_mem.schema.explain import (
    CycleShape,
    ExplainReport,
    PathStep,
    SourceLine,
    TopLine,
    TypeGrowth,
)

HERE = os.path.abspath(__file__)
LIBRARY = json.__file__  # the standard library's json package


def tree(bytes_held: int, file: str = HERE, line: int = 8) -> CycleShape:
    return CycleShape(
        types=("dict", "list"),
        path=(PathStep("dict", "['children']"), PathStep("list", "[0]"),
              PathStep("dict", "['parent']")),
        cycles=1, objects=52, bytes_held_at_most=bytes_held, bytes_freed_total=bytes_held,
        allocated_at=SourceLine(file, line, "work"),
    )


def closure(bytes_held: int) -> CycleShape:
    return CycleShape(
        types=("cell", "function"),
        path=(PathStep("function", ".__closure__['_iterencode']"),
              PathStep("cell", ".cell_contents")),
        cycles=1, objects=3, bytes_held_at_most=bytes_held, bytes_freed_total=bytes_held,
        allocated_at=SourceLine(LIBRARY, 334, "_make_iterencode"),
    )


def report(*shapes: CycleShape, growth: tuple[TypeGrowth, ...] = ()) -> ExplainReport:
    return ExplainReport(collections=1, garbage_objects=10, garbage_by_type={},
                         array_bytes_held=0, example_cycle=(), shapes=shapes, growth=growth)


def test_library_files_are_told_from_the_users() -> None:
    assert is_library_file(LIBRARY)
    assert not is_library_file(HERE)


def test_a_new_shape_of_the_users_code_is_a_cause_and_fails_its_row() -> None:
    before, after = report(closure(900)), report(closure(900), tree(3 * 1024 * 1024))
    [cause] = find_causes(before, after)
    assert (cause.kind, cause.bytes, cause.line) == ("cycle", 3 * 1024 * 1024, f"{HERE}:8")
    assert cause.what == "dict['children'] → list[0] → dict['parent'] → dict"
    assert cause.detail == "new shape"
    [row] = shape_rows(before, after, Limits())
    assert (row.judged, row.passed, row.metric) == (TOLERANCE, False, "cycle at test_causes.py:8")


def test_a_library_shape_is_a_cause_but_never_gated() -> None:
    before, after = report(tree(1000)), report(tree(1000), closure(5000))
    [cause] = find_causes(before, after)
    assert cause.detail == "new shape (library code)"
    rows = shape_rows(before, after, Limits())
    assert [r.passed for r in rows] == [True]  # the user's own tree, unchanged


def test_a_known_shape_fails_only_past_the_tolerance() -> None:
    before = report(tree(10 * 1024 * 1024))
    grown = shape_rows(before, report(tree(11 * 1024 * 1024)), Limits())
    assert grown[0].passed  # +1 MiB: within 10% of 10 MiB
    doubled = shape_rows(before, report(tree(20 * 1024 * 1024)), Limits())
    assert doubled[0].passed is False


def test_without_the_baselines_forensics_shapes_are_info_and_causes_are_all_of_now() -> None:
    records = TypeGrowth("Record", 10, 2010, 1_000, 201_000, SourceLine(HERE, 3, "work"))
    after = report(tree(2048), growth=(records,))
    assert [r.judged for r in shape_rows(None, after, Limits())] == [INFO]
    causes = find_causes(None, after)
    # largest first: the type's 200,000 bytes, then the cycle's 2,048
    assert [(c.kind, c.what) for c in causes] == [
        ("type", "Record"), ("cycle", "dict['children'] → list[0] → dict['parent'] → dict")
    ]
    assert causes[0].detail == "+2,000 live objects"
    assert (causes[0].bytes, causes[0].line) == (200_000, f"{HERE}:3")


def test_a_line_holding_more_at_the_end_is_a_cause() -> None:
    before = dataclasses.replace(report(), top_lines=(TopLine(HERE, 9, "keep", 1_000, 10),))
    after = dataclasses.replace(report(), top_lines=(TopLine(HERE, 9, "keep", 3_001_000, 60),))
    [cause] = find_causes(before, after)
    assert (cause.kind, cause.what, cause.bytes, cause.line) == (
        "line", "keep", 3_000_000, f"{HERE}:9"
    )


def test_at_most_three_causes_largest_first() -> None:
    shapes = [tree(size, line=line) for line, size in enumerate((10, 40, 20, 30), start=1)]
    # every shape has the same key: give them distinct paths
    shapes = [
        CycleShape(types=s.types, path=(PathStep("dict", f"['k{i}']"),), cycles=1, objects=1,
                   bytes_held_at_most=s.bytes_held_at_most, bytes_freed_total=0,
                   allocated_at=s.allocated_at)
        for i, s in enumerate(shapes)
    ]
    causes = find_causes(None, report(*shapes))
    assert [c.bytes for c in causes] == [40, 30, 20]


def test_the_same_cycle_read_from_another_object_is_the_same_shape() -> None:
    rotated = CycleShape(
        types=("dict", "list"),
        path=(PathStep("dict", "['parent']"), PathStep("dict", "['children']"),
              PathStep("list", "[0]")),
        cycles=1, objects=52, bytes_held_at_most=1000, bytes_freed_total=1000,
        allocated_at=SourceLine(HERE, 8, "work"),
    )
    assert find_causes(report(tree(1000)), report(rotated)) == ()
