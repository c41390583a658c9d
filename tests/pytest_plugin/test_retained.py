"""The max_retained budget: memory a test still holds after its call, with the line (issue 23)."""

from __future__ import annotations

import pytest

from autograd_mem.schema.units import parse_size

QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-p", "no:randomly")

CACHING = r"""
import json
import tracemalloc

import pytest

CACHE = {}
DOCUMENT = json.dumps([{"id": i, "name": f"user{i}", "tags": ["a", "b"]} for i in range(30_000)])


@pytest.mark.agmem(max_retained="1 MiB")
def test_caches_a_parsed_document():
    before = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    CACHE["doc"] = json.loads(DOCUMENT)
    after = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    print(f"\nTRUTH {after - before}")


@pytest.mark.agmem(max_retained="1 MiB")
def test_parses_and_drops_it():
    assert len(json.loads(DOCUMENT)) == 30_000
"""


def test_a_test_caching_a_few_mib_fails_max_retained_with_its_line(
    pytester: pytest.Pytester,
) -> None:
    # given a test that keeps a parsed JSON document (a few MiB) in a module cache, and one
    # that parses the same document and drops it
    pytester.makepyfile(test_cache=CACHING)
    result = pytester.runpytest_subprocess(*QUIET, "-s")
    # then the caching test fails its budget, naming the bytes and the line, and the
    # other passes
    result.assert_outcomes(passed=1, failed=1)
    truth = int(next(line for line in result.stdout.lines if line.startswith("TRUTH")).split()[1])
    assert truth > 3 * 1024 * 1024  # tracemalloc's own count of what the cache keeps
    failure = next(line for line in result.stdout.lines
                   if "memory retained after the call (tracemalloc)" in line)
    assert "> limit 1.0 MiB, most allocated at " in failure
    # the line is the test's own, walked out from json's decoder (which allocated the bytes)
    caching_line = CACHING.strip().splitlines().index('    CACHE["doc"] = json.loads(DOCUMENT)') + 1
    assert failure.split("most allocated at ")[1].endswith(f"test_cache.py:{caching_line}"), failure
    # and the bytes it reports are tracemalloc's truth, within 10%
    reported = parse_size(failure.split("(tracemalloc): ")[1].split(" >")[0])
    assert abs(reported - truth) <= 0.10 * truth, (reported, truth)
