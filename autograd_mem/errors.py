"""Errors that carry their own exit code, turned into it in one place: ``cli.main``."""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Iterable


class ExitCode(enum.IntEnum):
    """agmem's exit codes: an API, defined once here with their meanings.

    Every command's ``--help`` epilog (:func:`exit_code_epilog`) and the README's table
    (:func:`exit_code_table`, checked by a test) are made from this one definition.
    """

    OK = 0
    REGRESSION = 1
    USAGE = 2
    RUN_FAILED = 3
    # 128 + the signal's number, as a shell reports a process ended by that signal.
    HUNG_UP = 129
    INTERRUPTED = 130
    TERMINATED = 143

    @property
    def meaning(self) -> str:
        """What the code means, in one sentence, whichever command returned it."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "success (`agmem check`: every gated metric holds)",
    ExitCode.REGRESSION: "a memory regression or a budget exceeded (`agmem check`); "
    "the report names the metrics and their causes",
    ExitCode.USAGE: "bad usage or input, found before any run: one line `agmem: error: …` "
    "(options, workload, program, or a baseline or result file missing, unreadable, "
    "corrupt, truncated, of another kind or schema version)",
    ExitCode.RUN_FAILED: "the measured run failed (workload error, crash, killed by a signal "
    "or the OOM killer, past --timeout), or a measured program exited with a non-zero status",
    ExitCode.HUNG_UP: "hung up (SIGHUP), handled like Ctrl-C",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C): the measured child and every process it "
    "started are stopped, its scratch folder removed, no output file half-written",
    ExitCode.TERMINATED: "terminated (SIGTERM: `timeout`, a CI cancel, `docker stop`), "
    "handled like Ctrl-C",
}


def exit_code_epilog(codes: Iterable[ExitCode] = tuple(ExitCode), width: int = 78) -> str:
    """The "Exit codes:" block of a command's ``--help``, from the codes it can return."""
    lines = ["\b", "Exit codes:"]
    for code in codes:
        text = code.meaning.replace("`", "")
        lines += textwrap.wrap(
            text, width, initial_indent=f"  {int(code):<5}", subsequent_indent=" " * 7
        )
    return "\n".join(lines) + "\n"


def exit_code_table() -> str:
    """The README's exit-code table, in Markdown."""
    rows = [f"| {int(code)} | {code.meaning} |" for code in ExitCode]
    return "\n".join(["| code | meaning |", "|---|---|", *rows]) + "\n"


class AgmemError(Exception):
    """Base of every error agmem reports to a person as one line."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Extra lines (the tail of a child's stderr) shown after the one-line message.
        self.detail = detail


class UsageError(AgmemError):
    """Bad options or input, found before any measured run starts."""

    exit_code = ExitCode.USAGE


class WorkloadError(UsageError):
    """A workload that is unknown or cannot be imported."""


class BaselineError(UsageError):
    """A baseline file that is missing, unreadable, corrupt or of another schema."""


class ResultFormatError(UsageError):
    """A JSON document that is not a result agmem can read."""


class OutputError(UsageError):
    """A report or baseline that cannot be written where it was asked to go (exit 2)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        # The bare cause ("No space left on device"), for callers that name the file their way.
        self.reason = reason or message


class RunFailedError(AgmemError):
    """The measured child failed: the workload raised, crashed, or was killed."""

    exit_code = ExitCode.RUN_FAILED


class ProgramExitError(RunFailedError):
    """A measured program exited with a non-zero status (exit 3).

    Its run was measured all the same: ``measurement`` (a ``result.Measurement``, typed
    loosely here so that this module imports nothing) holds it, for a command to report.
    """

    def __init__(
        self, message: str, *, detail: str | None = None, status: int, measurement: object
    ) -> None:
        super().__init__(message, detail=detail)
        self.status = status
        self.measurement = measurement


class InterruptedRunError(AgmemError):
    """The user pressed Ctrl-C; the children were stopped."""

    exit_code = ExitCode.INTERRUPTED


class RunTimedOutError(RunFailedError):
    """A measured child ran past ``--timeout``; it and everything it started were ended."""


class StopSignal(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like KeyboardInterrupt, stopping children on the way.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way
    swallows it, while every ``finally`` and ``except BaseException`` cleanup still runs.
    """

    def __init__(self, signum: int, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = exit_code
        self.message = message
