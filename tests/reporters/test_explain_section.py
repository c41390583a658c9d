"""The explain section: shapes by bytes held, the remainder, growth, and no false "no cycle"."""

from __future__ import annotations

import io
import os

from rich.console import Console

from autograd_mem.reporters import explain
from autograd_mem.schema.explain import CycleShape, ExplainReport, PathStep, SourceLine, TypeGrowth

MiB = 1024 * 1024


def shape(name: str, cycles: int, held: int, *, line: int = 13) -> CycleShape:
    return CycleShape(
        types=(name,),
        path=(PathStep(name, ".me"),),
        cycles=cycles,
        objects=cycles,
        bytes_held=held,
        allocated_at=SourceLine(os.path.join(os.getcwd(), "leak.py"), line, "step"),
        hint="an object referring to itself",
    )


def report(*shapes: CycleShape, growth: tuple[TypeGrowth, ...] = ()) -> ExplainReport:
    objects = sum(s.objects for s in shapes)
    return ExplainReport(
        collections=2 if shapes else 0,
        garbage_objects=objects,
        garbage_by_type={s.types[0]: s.objects for s in shapes},
        array_bytes_held=0,
        example_cycle=(shapes[0].types[0],) * 2 if shapes else (),
        shapes=shapes,
        bytes_held=sum(s.bytes_held for s in shapes),
        growth=growth,
    )


def rendered(value: ExplainReport) -> str:
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(explain.renderable(value))
    return out.getvalue()


ENGINE = CycleShape(
    types=("Square", "Variable", "tuple"),
    path=(
        PathStep("Variable", ".creator"), PathStep("Square", ".outputs"), PathStep("tuple", "[0]"),
    ),
    cycles=3000,
    objects=13000,
    bytes_held=306 * MiB,
    allocated_at=None,
    hint="the engine in strong mode",
)


def test_paths_read_as_the_code_would_write_them():
    assert explain.path_text(ENGINE) == "Variable.creator → Square.outputs → tuple[0] → Variable"
    odd = CycleShape(("A",), (PathStep("A", "?"), PathStep("…", "7 more steps")), 1, 9, 0)
    assert explain.path_text(odd) == "A ? → … 7 more steps … → A"
    assert explain.site_text(SourceLine(os.path.join(os.getcwd(), "w.py"), 4, "f")) == "w.py:4 in f"
    assert explain.site_text(None) == "unknown (not traced)"


def test_the_table_lists_shapes_with_count_bytes_path_line_and_hint():
    text = rendered(report(shape("Leaky", 20, 5 * MiB), ENGINE))
    assert "Leaky.me → Leaky" in text
    assert "5.0 MiB" in text and "leak.py:13 in step" in text
    assert "hint: an object referring to itself" in text
    assert "13,020 objects in 2 collections, 3,020 reference cycles of 2 shapes" in text
    assert "No reference cycle" not in text and "no reference cycle" not in text
    assert "not shown" not in text


def test_a_remainder_line_accounts_for_every_object_not_listed():
    shapes = tuple(shape(f"T{i}", 10 + i, (100 - i) * 1024) for i in range(8))
    value = report(*shapes)
    text = rendered(value)
    hidden = shapes[explain.SHAPES_SHOWN:]
    objects = sum(s.objects for s in hidden)
    assert f"{objects} more objects in {len(hidden)} shapes not shown" in text
    listed = sum(s.objects for s in shapes[: explain.SHAPES_SHOWN])
    assert listed + objects == value.garbage_objects


def test_no_cycle_is_said_only_when_the_collector_found_nothing():
    text = rendered(report(growth=(TypeGrowth("Record", 3, 1003),)))
    assert "found no garbage" in text
    assert "Record: 3 → 1,003 (+1,000)" in text


def test_markdown_has_the_same_figures():
    text = explain.markdown(report(*(shape(f"T{i}", 1, 1024) for i in range(7))))
    assert "| 1 | 1 | 1.0 KiB | `T0.me → T0` | `leak.py:13 in step` |" in text
    assert "2 more objects in 2 shapes not shown (2.0 KiB)" in text


def test_a_failure_message_names_the_largest_shape():
    line = explain.describe_shape(shape("Leaky", 10, 10 * MiB))
    assert line == "10 cycles Leaky.me → Leaky holding 10.0 MiB, made at leak.py:13 in step"
