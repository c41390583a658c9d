"""Bounded series: long columns cut into at most MAX_POINTS buckets, each keeping min and max.

A million iterations, or an hour of RSS samples, must not cost the parent, the JSON or
the chart a million of anything: the chart draws at most a hundred columns, and a
bucket's minimum and maximum keep every peak and trough it could draw. Exact totals
and peaks live in the metrics, never in these series. A series no longer than
MAX_POINTS is kept whole, one bucket per value.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_POINTS = 4_096


def bucket_starts(count: int, max_points: int = MAX_POINTS) -> list[int]:
    """The first index of each bucket: every index up to ``max_points``, else even splits."""
    buckets = min(count, max_points)
    return [k * count // buckets for k in range(buckets)]


def bucket_ranges(count: int, max_points: int = MAX_POINTS) -> list[tuple[int, int]]:
    """``(start, stop)`` of each bucket, covering ``range(count)`` in order."""
    starts = bucket_starts(count, max_points)
    return list(zip(starts, [*starts[1:], count][: len(starts)], strict=True))


def bucket_min_max(
    column: Sequence[float], ranges: Sequence[tuple[int, int]]
) -> tuple[list[float], list[float]]:
    """Each bucket's minimum and maximum of ``column`` (an array: slices stay arrays)."""
    lows, highs = [], []
    for start, stop in ranges:
        part = column[start:stop]
        lows.append(min(part))
        highs.append(max(part))
    return lows, highs
