"""Tests for the RSS probes: the child's own readings, the kernel peak, the parent's samplers."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from autograd_mem.probes import rss

MIB = 1024 * 1024


def test_current_rss_sees_touched_memory():
    before = rss.current_rss_bytes()
    block = np.ones(48 * MIB // 8)  # 48 MiB, every page written
    after = rss.current_rss_bytes()
    del block
    assert after - before >= 40 * MIB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_peak_reset_forgets_an_earlier_peak():
    # given a peak made and released before the reset
    block = np.ones(64 * MIB // 8)
    del block
    rss.release_free_heap()
    peak_before, _ = rss.peak_rss_bytes(reset_done=False)
    # when the peak is reset
    assert rss.reset_peak_rss()
    peak_after, source = rss.peak_rss_bytes(reset_done=True)
    # then it starts again from about the current RSS
    assert source == "VmHWM"
    assert peak_after <= peak_before - 32 * MIB
    assert peak_after >= rss.current_rss_bytes() - 4 * MIB


def test_releasing_the_free_heap_leaves_no_garbage_for_the_collector():
    # given no garbage before
    gc.collect()
    # when the free heap is given back, as the child does just before its baseline
    rss.release_free_heap()
    # then the collector finds nothing: no garbage of agmem's lands in a measured window
    assert gc.collect() == 0


GROWING_CHILD = """
import time, numpy as np
blocks = []
for _ in range(8):
    blocks.append(np.ones(4 * 1024 * 1024 // 8))
    time.sleep(0.03)
"""


@pytest.mark.parametrize("backend", rss.SAMPLERS)
def test_sampler_follows_a_growing_child_and_stops_when_it_ends(backend):
    # given a child that grows by 4 MiB every 30 ms
    child = subprocess.Popen([sys.executable, "-c", GROWING_CHILD])
    sampler = rss.RssSampler(child.pid, 0.01, backend).start()
    child.wait()
    time.sleep(0.05)
    samples = sampler.stop()
    # then the samples are in time order and see the growth
    assert len(samples.seconds) >= 5
    assert list(samples.seconds) == sorted(samples.seconds)
    assert max(samples.rss_bytes) - samples.rss_bytes[0] >= 16 * MIB


def test_unknown_sampler_is_refused():
    with pytest.raises(ValueError, match="sampler"):
        rss.RssSampler(1, 0.01, "guess")


@pytest.mark.parametrize("backend", rss.SAMPLERS)
def test_stopping_never_waits_out_a_long_interval(backend):
    # given a sampler of a live process with an interval of a minute
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = rss.RssSampler(sleeper.pid, 60.0, backend).start()
        time.sleep(0.2)
        # when it is stopped, it returns at once with the first sample
        started = time.monotonic()
        samples = sampler.stop()
        assert time.monotonic() - started < 2
        assert len(samples.rss_bytes) == 1 and sampler.error is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_interval_too_long_for_a_wait_is_capped():
    sampler = rss.RssSampler(os.getpid(), 1e30)
    assert sampler.interval_seconds == rss.MAX_SAMPLE_INTERVAL_SECONDS
