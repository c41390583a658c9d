"""Resident memory: the child's own readings (current, kernel peak, USS) and the parent's samplers.

The child reads its RSS only at a few chosen moments (baseline, end) and its true peak
from the kernel's high-water mark, which sees every page even between samples. The
parent samples the child's RSS from a thread of its own, so sampling costs the child
nothing but the kernel's bookkeeping.
"""

from __future__ import annotations

import ctypes
import resource
import sys
import threading
import time
from array import array
from collections.abc import Callable

import psutil

from autograd_mem.probes.process_tree import ProcessTreeRss

# The longest sampling interval accepted (a config's rule): a run is sampled at least
# once a minute, and a wait this long is one threading.Event.wait takes (1e30 s overflows it).
from autograd_mem.schema.config import MAX_SAMPLE_INTERVAL_SECONDS as MAX_SAMPLE_INTERVAL_SECONDS

SAMPLERS = ("psutil", "memory_profiler")

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kib(key: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``); None where there is none."""
    try:
        with open(_STATUS, encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_bytes() -> int:
    """This process's resident set size now."""
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    return int(psutil.Process().memory_info().rss)


def _find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, looked up once; None where the C library has none."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim  # type: ignore[no-any-return]


# Looked up at import, not per call: a ``CDLL`` caches each function it hands out in
# its own ``__dict__`` and the function keeps its library alive, a reference cycle of
# 12 objects on 3.11. Made per call, just before a measurement, that cycle was garbage
# lying in the measured window for its first collection to find and count, and one of
# its blocks was among those whose survival differed from run to run under tracemalloc.
_MALLOC_TRIM = _find_malloc_trim()


def release_free_heap() -> bool:
    """Give the allocator's free memory back to the OS (glibc ``malloc_trim``); False if impossible.

    Called before the baseline: memory the warm-up freed would otherwise stay resident,
    be counted in the baseline and then reused by the workload, so the growth above the
    baseline would understate what the workload needs.
    """
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark (``VmHWM``) to the current RSS; False where Linux refuses.

    Writing ``5`` to ``/proc/self/clear_refs`` resets the peak resident set size
    (Linux 4.0+, see proc(5)), so the peak read later belongs to the workload alone.
    """
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_bytes(reset_done: bool) -> tuple[int, str]:
    """The kernel's peak RSS of this process, and where it came from.

    ``"VmHWM"`` when it was reset after the baseline, ``"VmHWM-unreset"`` when the
    reset was refused (the peak may then predate the workload), ``"ru_maxrss"`` where
    there is no ``/proc`` (never reset; kilobytes on Linux, bytes on macOS).
    """
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib * 1024, "VmHWM" if reset_done else "VmHWM-unreset"
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (maxrss if sys.platform == "darwin" else maxrss * 1024), "ru_maxrss"


def uss_bytes() -> int | None:
    """Unique set size (memory freed if the process exited); slow: it walks every mapping."""
    try:
        return int(psutil.Process().memory_full_info().uss)
    except (psutil.Error, AttributeError):
        return None


class Samples:
    """RSS samples of another process, folded into at most ``capacity`` buckets as they come.

    Each bucket keeps its first sample's ``time.monotonic()`` seconds, its highest and
    lowest RSS, and its highest descendants' RSS (filled only when sampling a tree).
    When every bucket is in use, neighbouring pairs merge and each bucket takes twice as
    many samples from then on: an hour or a week at 10 ms costs the same few hundred
    kilobytes, and a bucket's minimum and maximum keep every peak and trough a chart can
    draw. The exact peaks are kept aside, over every sample: ``peak_rss_bytes`` (the
    process's own), ``peak_children_bytes`` and ``peak_tree_bytes`` (at one moment).
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self.seconds = array("d")
        self.rss_bytes = array("q")
        self.rss_bytes_min = array("q")
        self.children_rss_bytes = array("q")
        self.per_bucket = 1
        self._in_last = 0
        self.count = 0
        self.peak_rss_bytes = 0
        self.peak_children_bytes = 0
        self.peak_tree_bytes = 0
        self.last_seconds = 0.0
        self.last_rss_bytes = 0

    def add(self, seconds: float, rss: int, children: int | None = None) -> None:
        """Fold one sample in (``children``: the descendants' summed RSS, when sampling a tree)."""
        self.count += 1
        self.last_seconds, self.last_rss_bytes = seconds, rss
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
        if children is not None:
            self.peak_children_bytes = max(self.peak_children_bytes, children)
            self.peak_tree_bytes = max(self.peak_tree_bytes, rss + children)
        if self.seconds and self._in_last < self.per_bucket:
            self._in_last += 1
            self.rss_bytes[-1] = max(self.rss_bytes[-1], rss)
            self.rss_bytes_min[-1] = min(self.rss_bytes_min[-1], rss)
            if children is not None:
                self.children_rss_bytes[-1] = max(self.children_rss_bytes[-1], children)
            return
        if len(self.seconds) >= self.capacity:
            self._merge_pairs()
        self.seconds.append(seconds)
        self.rss_bytes.append(rss)
        self.rss_bytes_min.append(rss)
        if children is not None:
            self.children_rss_bytes.append(children)
        self._in_last = 1

    def _merge_pairs(self) -> None:
        """Halve the buckets in place (their arrays never grow past ``capacity``)."""
        half = len(self.seconds) // 2
        for k in range(half):
            left, right = 2 * k, 2 * k + 1
            self.seconds[k] = self.seconds[left]
            self.rss_bytes[k] = max(self.rss_bytes[left], self.rss_bytes[right])
            self.rss_bytes_min[k] = min(self.rss_bytes_min[left], self.rss_bytes_min[right])
            if self.children_rss_bytes:
                self.children_rss_bytes[k] = max(
                    self.children_rss_bytes[left], self.children_rss_bytes[right]
                )
        for column in (self.seconds, self.rss_bytes, self.rss_bytes_min, self.children_rss_bytes):
            del column[half:]
        self.per_bucket *= 2
        self._in_last = self.per_bucket  # the next sample opens a bucket


class RssSampler:
    """Samples a child's RSS every ``interval_seconds`` from a daemon thread of the parent.

    ``backend="psutil"`` reads ``memory_info().rss``; ``backend="memory_profiler"`` asks
    ``memory_profiler.memory_usage`` for one sample per tick, for users who trust its
    numbers. Both are stamped in ``time.monotonic()``, the clock the child uses, and
    both wait between samples on an event that :meth:`stop` sets, so stopping never
    waits out an interval. An unexpected failure of the thread is kept in ``error``
    for the runner to report, rather than silently leaving the timeline empty.

    ``tree``: also read the RSS of every descendant at each sample (a program's worker
    processes, see ``process_tree``), into ``samples.children_rss_bytes``;
    ``latest_rss_bytes`` is then the whole tree's.
    """

    def __init__(
        self,
        pid: int,
        interval_seconds: float,
        backend: str = "psutil",
        *,
        tree: bool = False,
        recording_from: Callable[[], float] | None = None,
        on_tree: Callable[[tuple[int, ...]], None] | None = None,
    ) -> None:
        if backend not in SAMPLERS:
            raise ValueError(f"unknown sampler {backend!r}")
        self.pid = pid
        self.interval_seconds = min(interval_seconds, MAX_SAMPLE_INTERVAL_SECONDS)
        self.backend = backend
        self.tree = tree
        # Two points fewer than a timeline holds: it adds the child's readings at its edges.
        self.samples = Samples(capacity=4094)
        self.latest_rss_bytes: int | None = None  # None until the first sample
        self.error: str | None = None
        # The moment from which samples are kept (0 until known: the measured window's
        # start, which the child publishes); None keeps every sample.
        self._recording_from = recording_from
        self._on_tree = on_tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"agmem-rss-{pid}", daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> Samples:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.samples

    def _run(self) -> None:
        try:
            read = self._reader()
            children = ProcessTreeRss(self.pid) if self.tree else None
            while not self._stop.is_set():
                self._sample(read, children)
                self._stop.wait(self.interval_seconds)
        except (psutil.Error, ProcessLookupError):
            return  # the child is gone: sampling simply ends
        except Exception as exc:  # reported by the runner: no thread dies unheard
            self.error = f"{type(exc).__name__}: {exc}"

    def _sample(
        self, read: Callable[[], tuple[float, int]], children: ProcessTreeRss | None
    ) -> None:
        moment, rss = read()
        below = None
        if children is not None:
            # Read right after the process's own: one tree, one moment.
            reading = children.read()
            below = reading.children_bytes
            if self._on_tree is not None:
                self._on_tree(reading.pids)
        if rss > 0:  # an exited child (a zombie) reads 0: not a reading of the run
            self.latest_rss_bytes = rss + (below or 0)
        start = self._recording_from() if self._recording_from is not None else None
        if start is None or (start and moment >= start):
            self.samples.add(moment, rss, below)

    def _reader(self) -> Callable[[], tuple[float, int]]:
        if self.backend == "psutil":
            process = psutil.Process(self.pid)

            def read_psutil() -> tuple[float, int]:
                rss = process.memory_info().rss
                return time.monotonic(), int(rss)

            return read_psutil

        from memory_profiler import memory_usage

        # memory_profiler stamps with time.time(); shift to the monotonic clock.
        offset = time.monotonic() - time.time()

        def read_memory_profiler() -> tuple[float, int]:
            # One sample per call (max_iter = timeout / interval = 1), after which it sleeps
            # ``interval``: a millisecond, so the wait between samples stays ours (above).
            readings = memory_usage(
                self.pid, interval=_ONE_SAMPLE_SECONDS, timeout=_ONE_SAMPLE_SECONDS,
                timestamps=True,
            )
            if not readings or readings[0] is None:
                raise psutil.NoSuchProcess(self.pid)
            mib, wall = readings[0]
            return wall + offset, int(mib * 1024 * 1024)

        return read_memory_profiler


# memory_profiler's own sleep after its one sample.
_ONE_SAMPLE_SECONDS = 0.001


def available_memory_bytes() -> int:
    """Memory the system can give a new process without swapping."""
    return int(psutil.virtual_memory().available)
