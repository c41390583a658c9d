"""The progress bar: drawn on a terminal's stderr with a live RSS readout, silent otherwise."""

from __future__ import annotations

import dataclasses
import io
import sys

from rich.console import Console

from autograd_mem.cli.progress import run_progress
from autograd_mem.measure.runner import Progress
from autograd_mem.schema.config import RunConfig


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclasses.dataclass(frozen=True)
class _IterationProgress(Progress):
    """A reading that carries the child's iteration count: the hook the bar reads."""

    iterations_done: int = 0


def _drawn(progress) -> str:
    """The bar's line as the terminal would show it now."""
    console = Console(width=160, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(progress._progress.get_renderable())
    return capture.get()


def test_on_a_terminal_the_bar_shows_the_mode_run_and_rss(monkeypatch):
    stderr = _Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)

    config = RunConfig(mode="strong", repeat=2)
    with run_progress([config], ["strong"], quiet=False) as progress:
        on_progress = progress.callback("strong", config)
        assert on_progress is not None
        on_progress(Progress(run_index=1, runs_total=2, seconds=0.25, rss_bytes=52 * 1024**2))

    drawn = stderr.getvalue()
    assert "strong run 2/2" in drawn
    assert "RSS    52.0 MiB" in drawn


def test_before_the_first_sample_the_rss_is_a_dash_not_zero(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    config = RunConfig(mode="weak")
    with run_progress([config], ["weak"], quiet=False) as progress:
        on_progress = progress.callback("weak", config)
        on_progress(Progress(run_index=0, runs_total=1, seconds=0.01, rss_bytes=None))
        drawn = _drawn(progress)
    assert "RSS           –" in drawn and "0 B" not in drawn


def test_the_explain_pass_is_named_as_such(monkeypatch):
    stderr = _Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)

    # as the runner numbers them: 2 measured runs, then the explain pass, 3 in all
    config = RunConfig(mode="strong", explain=True, repeat=2)
    with run_progress([config], ["strong"], quiet=False) as progress:
        on_progress = progress.callback("strong", config)
        on_progress(Progress(1, 3, 0.1, 1024))  # type: ignore[misc]
        assert "strong run 2/2" in _drawn(progress)
        on_progress(Progress(2, 3, 0.1, 1024))  # type: ignore[misc]

    assert "strong explain pass" in stderr.getvalue()
    assert "run 3/3" not in stderr.getvalue()


def test_quiet_or_not_a_terminal_draws_nothing(monkeypatch):
    for stderr, quiet in ((_Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stderr)
        config = RunConfig()
        with run_progress([config], ["weak"], quiet=quiet) as progress:
            assert progress.callback("weak", config) is None
            progress.finished()
        assert stderr.getvalue() == ""


def test_the_bar_counts_iterations_over_every_run_of_every_variant(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    a, b = RunConfig(iterations=100, repeat=2), RunConfig(iterations=50)

    with run_progress([a, b], ["a.py:step", "b.py:step"], quiet=False) as progress:
        on_a = progress.callback("a.py:step", a)
        # a reading without an iteration count: the bar stands at the run's start
        on_a(Progress(1, 2, 0.5, 1024))  # type: ignore[misc]
        assert progress.completed == 100
        # a reading with one (the child's hook): the bar stands at that iteration
        on_a(_IterationProgress(1, 2, 0.6, 1024, iterations_done=40))  # type: ignore[misc]
        assert progress.completed == 140
        progress.finished()
        assert progress.completed == 200
        progress.callback("b.py:step", b)(  # type: ignore[misc]
            _IterationProgress(0, 1, 0.1, 1024, iterations_done=10))
        assert progress.completed == 210


def test_the_bar_keeps_its_place_whatever_the_stage_and_readout(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    short, long = RunConfig(mode="weak"), RunConfig(mode="strong", explain=True, repeat=3)

    starts, widths = set(), set()
    with run_progress([short, long], ["weak", "strong/off"], quiet=False) as progress:
        readings = [("weak", short, Progress(0, 1, 0.001, 900)),
                    ("strong/off", long, Progress(3, 3, 12.5, 1023 * 1024**2))]
        for name, config, reading in readings:
            progress.callback(name, config)(reading)  # type: ignore[misc]
            line = _drawn(progress).splitlines()[0].rstrip()
            # "weak run 1/1" and "strong/off explain pass", 900 B and 1,023.0 MiB: the
            # readout starts in the same column and the line keeps its length
            starts.add(line.index(" RSS "))
            widths.add(len(line))

    assert len(starts) == 1 and len(widths) == 1


def test_the_count_is_the_runs_own_and_the_time_left_is_shown(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    strong, weak = RunConfig(mode="strong", iterations=20_000), RunConfig(iterations=20_000)

    with run_progress([strong, weak], ["strong", "weak"], quiet=False) as progress:
        progress.callback("strong", strong)(  # type: ignore[misc]
            _IterationProgress(0, 1, 0.5, 1024, iterations_done=3_435))
        progress._progress.tasks[0].start_time -= 2  # two seconds in: rich can estimate
        progress.callback("strong", strong)(  # type: ignore[misc]
            _IterationProgress(0, 1, 2.5, 1024, iterations_done=3_500))
        line = _drawn(progress).splitlines()[0].rstrip()

    # the run's own 3,500 of 20,000, not a count spanning both modes (of 40,000)
    assert "3,500/20,000" in line and "40,000" not in line
    assert "eta " in line
    assert len(line) <= 80


def test_a_program_shows_its_time_and_rss_and_no_count(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    config = RunConfig(program=("train.py",))

    with run_progress([config], ["train.py"], quiet=False) as progress:
        progress.callback("train.py", config)(Progress(0, 1, 3.0, 80 * 1024**2))
        line = _drawn(progress).splitlines()[0].rstrip()

    assert "RSS    80.0 MiB" in line
    assert "/?" not in line and "0/" not in line and "eta" not in line
    assert len(line) <= 80
