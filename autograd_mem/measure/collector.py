"""The collector's figures of a run, read from its bounded record into the run document's parts.

The same reading serves the child after its window and the parent after a child that
ended without a result (``os._exit``, a signal): the record lives in the child's flight
file (``protocol``), so what was recorded up to the end is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autograd_mem.probes import gc_probe
from autograd_mem.schema.run import GcBuckets, GcEvent

# The iteration in progress at a moment of the run's clock (seconds from its start);
# a program, which has no iterations, is always in its iteration 0.
IterationAt = Callable[[float], int]


def _no_iterations(seconds: float) -> int:
    return 0


def collector_metrics(
    record: gc_probe.GcRecord,
    layout: gc_probe.GcLayout,
    totals: tuple[tuple[int, ...], ...] | None = None,
) -> dict[str, Any]:
    """The collector's ``Metrics`` fields, exact totals per generation of ``layout``.

    ``totals``: the collector's own counts over the same span (``gc.get_stats()``
    deltas), used instead of the record's when the program removed the observer.
    """
    counts, collected, uncollectable = totals or record.per_raw_generation()
    return {
        "gc_collections": layout.fold(counts),
        "gc_collected_per_generation": layout.fold(collected),
        "gc_uncollectable_per_generation": layout.fold(uncollectable),
        "gc_collected": sum(collected),
        "gc_uncollectable": sum(uncollectable),
        "gc_pause_seconds": record.pause_seconds_sum,
        "gc_max_pause_seconds": record.pause_seconds_max,
    }


def gc_buckets(
    record: gc_probe.GcRecord,
    layout: gc_probe.GcLayout,
    offset_seconds: float = 0.0,
    iteration_at: IterationAt = _no_iterations,
) -> GcBuckets:
    """The record's buckets in the run's clock (``offset_seconds`` after the record's origin).

    A bucket's generation counts are folded as the metrics' are; on a free-threaded
    build, which has no generations, each bucket holds its total alone.
    """
    buckets = record.buckets()
    starts = [max(b.start_seconds - offset_seconds, 0.0) for b in buckets]
    return GcBuckets(
        bucket_seconds=record.bucket_seconds,
        start_seconds=tuple(starts),
        iteration=tuple(iteration_at(start) for start in starts),
        collections=tuple(_per_generation(layout, b.collections) for b in buckets),
        collected=tuple(b.collected for b in buckets),
        uncollectable=tuple(b.uncollectable for b in buckets),
        pause_seconds_sum=tuple(b.pause_seconds_sum for b in buckets),
        pause_seconds_max=tuple(b.pause_seconds_max for b in buckets),
    )


def _per_generation(layout: gc_probe.GcLayout, counts: tuple[int, ...]) -> tuple[int, ...]:
    return layout.fold(counts) if layout.labels else (sum(counts),)


def longest_pauses(
    record: gc_probe.GcRecord,
    layout: gc_probe.GcLayout,
    offset_seconds: float = 0.0,
    iteration_at: IterationAt = _no_iterations,
) -> tuple[GcEvent, ...]:
    """The longest pauses kept, each in full, in the order they happened.

    An event's generation is its index in the layout's labels, like the per-generation
    tuples (3.14's incremental "1" and "2" are both "old"); free-threaded builds have
    no labels, so their events keep CPython's raw number.
    """
    events = []
    for c in record.longest():
        seconds = max(c.start_seconds - offset_seconds, 0.0)
        events.append(GcEvent(
            generation=layout.slot(c.generation),
            collected=c.collected,
            uncollectable=c.uncollectable,
            pause_seconds=c.pause_seconds,
            iteration=iteration_at(seconds),
            seconds=seconds,
        ))
    return tuple(events)


def collector_notes(record: gc_probe.GcRecord, offset_seconds: float = 0.0) -> tuple[str, ...]:
    """What the collector figures lack: nothing, or from when the observer was gone."""
    if record.state == gc_probe.LOST:
        last = max(record.last_seen_seconds - offset_seconds, 0.0)
        return (
            f"the program removed agmem's observer from gc.callbacks: collection times and "
            f"pauses stop at {last:.3f} s (the last collection seen); the counts are the "
            "collector's own totals (gc.get_stats)",
        )
    return ()
