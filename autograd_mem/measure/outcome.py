"""How a measured child ended, decoded once: its result, its failure as one error, its signal.

Each ending is said in one place. A child that wrote its result document is read
through the schema's strict reader (``schema.child``), whose ``ChildStatus`` also maps
the child's exit code for when the file is lost. A program may end its process itself
(``os._exit``, a signal): that is not a failure of the run but the program's own end, and
:func:`ended_on_its_own` says so, with its exit status as a shell would see it.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path

from autograd_mem.errors import AgmemError, ResultFormatError, RunFailedError, WorkloadError
from autograd_mem.schema.child import ChildResult, ChildStatus, child_result_from_plain


def read_child_result(path: Path) -> ChildResult | None:
    """The child's result, or None when it wrote none; a document agmem cannot read is a bug."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        return child_result_from_plain(json.loads(text), "the child's result")
    except (ValueError, ResultFormatError) as exc:
        message = exc.message if isinstance(exc, AgmemError) else str(exc)
        raise RunFailedError(f"agmem could not read its child's result: {message} "
                             "(a bug in agmem)") from None


def exit_status(returncode: int) -> int:
    """The status a shell reports for this ending: the code itself, or 128 + the signal."""
    return returncode if returncode >= 0 else 128 - returncode


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass(frozen=True)
class OomEvidence:
    """The cgroup's OOM kill count before and after the run (None where it cannot be read)."""

    before: int | None
    after: int | None

    def killed(self) -> bool | None:
        if self.before is None or self.after is None:
            return None
        return self.after > self.before


def _oom_count_files() -> list[str]:
    """Where this process's cgroup counts OOM kills: cgroup v2 ``memory.events``, or v1
    ``memory.oom_control`` (Linux 4.13+), at the cgroup's path and at the mount's root (a
    container sees its own cgroup there)."""
    v2, v1 = [], []
    try:
        with open("/proc/self/cgroup", encoding="ascii") as lines:
            for line in lines:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controllers == "":
                    v2.append(f"/sys/fs/cgroup{path.rstrip('/')}/memory.events")
                elif "memory" in controllers.split(","):
                    v1.append(f"/sys/fs/cgroup/memory{path.rstrip('/')}/memory.oom_control")
    except (OSError, ValueError):
        pass
    return [*v2, *v1, "/sys/fs/cgroup/memory/memory.oom_control"]


def oom_kills() -> int | None:
    """The ``oom_kill`` count of this process's cgroup; None where none can be read."""
    for path in _oom_count_files():
        try:
            with open(path, encoding="ascii") as counts:
                for line in counts:
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def how_killed(signum: int, oom: OomEvidence) -> str:
    """``"killed by SIGKILL ..."``: the signal, and what is known of where it came from.

    The OOM killer is named only when the kernel says it acted: the cgroup's OOM kill
    count rose during the run.
    """
    name = signal_name(signum)
    if signum == signal.SIGKILL and oom.killed():
        return (f"killed by {name}: the kernel's OOM killer ended it (the cgroup's "
                f"oom_kill count went from {oom.before} to {oom.after})")
    source = "sent by the program itself or by another process, not by agmem"
    if signum != signal.SIGKILL or oom.killed() is False:
        return f"killed by {name} ({source})"
    return (f"killed by {name} ({source}; whether by the OOM killer is not known: "
            "no cgroup OOM count to read)")


def raise_for_failure(
    returncode: int, result: ChildResult | None, tail: str, oom: OomEvidence
) -> None:
    """Turn a child's failure into the one error that says what happened; return otherwise."""
    status = result.status if result is not None else ChildStatus.of_exit_code(returncode)
    # A workload that closed its stdout and stderr left no log: the traceback kept in
    # the result document says why it failed.
    detail = tail or (result.traceback.rstrip("\n") if result else "") or None
    message = result.message if result is not None else ""
    if result is None and returncode < 0:
        raise RunFailedError(f"the measured child was {how_killed(-returncode, oom)}",
                             detail=detail)
    if status is ChildStatus.OK and result is not None:
        return
    if status is ChildStatus.WORKLOAD_NOT_FOUND:
        raise WorkloadError(message or "the workload could not be imported", detail=detail)
    if status is ChildStatus.WORKLOAD_RAISED:
        raise RunFailedError(f"the workload raised {message or 'an exception'}", detail=detail)
    if status is ChildStatus.INTERNAL_ERROR:
        raise RunFailedError(
            f"agmem failed inside the measured child: {message or 'no reason was recorded'} "
            "(a bug in agmem)"
        )
    if returncode != 0:
        raise RunFailedError(f"the measured child exited with code {returncode}", detail=detail)
    raise RunFailedError("the measured child left no readable result", detail=detail)
