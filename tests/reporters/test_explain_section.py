"""The explain section: shapes by bytes held at once, the remainder, what was still waiting,
growth and lines, paths cut from the left, and no false "no cycle"."""

from __future__ import annotations

import io
import os

from rich.console import Console

from autograd_mem.reporters import explain
from autograd_mem.schema.explain import (
    CycleShape,
    ExplainReport,
    PathStep,
    SourceLine,
    TopLine,
    TypeGrowth,
    WaitingGarbage,
)

MiB = 1024 * 1024
NOTHING_WAITING = WaitingGarbage()


def shape(name: str, cycles: int, held: int, *, line: int = 13) -> CycleShape:
    return CycleShape(
        types=(name,),
        path=(PathStep(name, ".me"),),
        cycles=cycles,
        objects=cycles,
        bytes_held_at_most=held,
        bytes_freed_total=held * 10,
        allocated_at=SourceLine(os.path.join(os.getcwd(), "leak.py"), line, "step"),
        hint="an object referring to itself",
    )


def report(
    *shapes: CycleShape,
    growth: tuple[TypeGrowth, ...] = (),
    waiting: WaitingGarbage = NOTHING_WAITING,
    top_lines: tuple[TopLine, ...] = (),
) -> ExplainReport:
    objects = sum(s.objects for s in shapes)
    return ExplainReport(
        collections=2 if shapes else 0,
        garbage_objects=objects,
        garbage_by_type={s.types[0]: s.objects for s in shapes},
        array_bytes_held=0,
        example_cycle=(shapes[0].types[0],) * 2 if shapes else (),
        shapes=shapes,
        bytes_held_at_most=max((s.bytes_held_at_most for s in shapes), default=0),
        bytes_freed_total=sum(s.bytes_freed_total for s in shapes),
        growth=growth,
        top_lines=top_lines,
        waiting=waiting,
    )


def rendered(value: ExplainReport, width: int = 160) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(explain.renderable(value))
    return out.getvalue()


ENGINE = CycleShape(
    types=("Square", "Variable", "tuple"),
    path=(
        PathStep("Variable", ".creator"), PathStep("Square", ".outputs"), PathStep("tuple", "[0]"),
    ),
    cycles=3000,
    objects=13000,
    bytes_held_at_most=3 * MiB,
    bytes_freed_total=306 * MiB,
    allocated_at=None,
    hint="the engine in strong mode",
)


def test_paths_read_as_the_code_would_write_them():
    assert explain.path_text(ENGINE) == "Variable.creator → Square.outputs → tuple[0] → Variable"
    odd = CycleShape(("A",), (PathStep("A", "?"), PathStep("…", "7 more steps")), 1, 9, 0, 0)
    assert explain.path_text(odd) == "A ? → … 7 more steps … → A"
    assert explain.site_text(SourceLine(os.path.join(os.getcwd(), "w.py"), 4, "f")) == "w.py:4 in f"
    assert explain.site_text(None) == "unknown (not traced)"


def test_the_table_lists_shapes_with_count_bytes_path_line_and_hint():
    text = rendered(report(shape("Leaky", 20, 5 * MiB), ENGINE))
    assert "Leaky.me → Leaky" in text
    assert "5.0 MiB" in text and "50.0 MiB" in text and "leak.py:13 in step" in text
    value = report(shape("Leaky", 20, 5 * MiB), ENGINE)
    assert "holding up to 5.0 MiB at once (356.0 MiB freed in all)" in explain.summary(value)
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


RECORDS = TypeGrowth(
    "Record", 3, 1003, 300, 100_300, SourceLine(os.path.join(os.getcwd(), "leak.py"), 9, "step")
)


def test_no_cycle_is_said_only_when_the_collector_found_nothing():
    text = rendered(report(growth=(RECORDS,)))
    assert "no reference cycle held memory" in text
    assert "Record" in text and "3 → 1,003" in text and "+97.7 KiB" in text
    assert "leak.py:9 in step" in text


def test_garbage_still_waiting_at_the_end_is_reported_apart_and_no_cycle_is_not_said():
    waiting = WaitingGarbage(garbage_objects=1200, cycles=600, bytes_held=114 * MiB,
                             shapes=(shape("generator", 600, 114 * MiB),))
    text = rendered(report(waiting=waiting))
    assert "no reference cycle" not in text
    assert "Still waiting for the collector when the run ended: 600 cycles, 114.0 MiB" in text
    assert "generator.me → generator" in text


def test_top_lines_are_listed_with_bytes_and_blocks():
    lines = (TopLine(os.path.join(os.getcwd(), "leak.py"), 5, "step", 1_598_172, 3001),)
    text = rendered(report(top_lines=lines))
    assert "1.5 MiB" in text and "3,001" in text and "leak.py:5 in step" in text
    assert "- 1.5 MiB in 3,001 blocks  leak.py:5 in step" in explain.markdown(
        report(top_lines=lines))


def test_paths_are_shortened_from_the_left_so_the_file_and_line_survive():
    deep = SourceLine("/a/very/long/path/to/some/project/src/package/targets/workloads.py",
                      326, "seed_step")
    assert explain.site_text(deep, 40) == "…/targets/workloads.py:326 in seed_step"
    text = rendered(report(CycleShape(("A",), (PathStep("A", ".me"),), 1, 1, 10, 10,
                                      allocated_at=deep)), width=80)
    assert "…/workloads.py:326" in text
    assert explain.site_text(deep, 20) == "…/workloads.py:326"


def test_markdown_has_the_same_figures():
    text = explain.markdown(report(*(shape(f"T{i}", 1, 1024) for i in range(7))))
    assert "| 1 | 1 | 1.0 KiB | 10.0 KiB | `T0.me → T0` | `leak.py:13 in step` |" in text
    assert "2 more objects in 2 shapes not shown (2.0 KiB at most)" in text


def test_a_failure_message_names_the_largest_shape():
    line = explain.describe_shape(shape("Leaky", 10, 10 * MiB))
    assert line == (
        "10 cycles Leaky.me → Leaky holding up to 10.0 MiB at once (100.0 MiB freed in all), "
        "made at leak.py:13 in step"
    )
