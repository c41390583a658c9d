"""The progress bar: drawn on a terminal's stderr with a live RSS readout, silent otherwise."""

from __future__ import annotations

import io
import sys

from autograd_mem.cli.progress import run_progress
from autograd_mem.runner import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_shows_the_mode_run_and_rss(monkeypatch):
    stderr = _Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)

    with run_progress(2, quiet=False) as progress:
        on_progress = progress.callback("strong")
        assert on_progress is not None
        on_progress(Progress(run_index=1, runs_total=2, seconds=0.25, rss_bytes=52 * 1024**2))

    drawn = stderr.getvalue()
    assert "strong run 2/2" in drawn
    assert "RSS 52.0 MiB at 250.00 ms" in drawn


def test_the_explain_pass_is_named_as_such(monkeypatch):
    stderr = _Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)

    with run_progress(1, quiet=False) as progress:
        progress.callback("strong")(Progress(1, 1, 0.1, 1024))  # type: ignore[misc]

    assert "strong explain pass" in stderr.getvalue()


def test_quiet_or_not_a_terminal_draws_nothing(monkeypatch):
    for stderr, quiet in ((_Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stderr)
        with run_progress(1, quiet=quiet) as progress:
            assert progress.callback("weak") is None
            progress.finished(1)
        assert stderr.getvalue() == ""
