"""Errors that carry their own exit code, turned into it in one place: ``cli.main``."""

from __future__ import annotations

# Exit codes are an API: documented in `agmem --help` and the README.
EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3
EXIT_INTERRUPTED = 130
# 128 + the signal's number, as a shell reports a process ended by that signal.
EXIT_HUNG_UP = 129
EXIT_TERMINATED = 143


class AgmemError(Exception):
    """Base of every error agmem reports to a person as one line."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Extra lines (the tail of a child's stderr) shown after the one-line message.
        self.detail = detail


class UsageError(AgmemError):
    """Bad options or input, found before any measured run starts."""

    exit_code = EXIT_USAGE


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

    exit_code = EXIT_RUN_FAILED


class InterruptedRunError(AgmemError):
    """The user pressed Ctrl-C; the children were stopped."""

    exit_code = EXIT_INTERRUPTED


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
