"""The measured child: ``python -m autograd_mem.measure.child measure|explain CONFIG RESULT``.

One child measures one run in a fresh interpreter, by the pass its target names
(``workload_pass`` for a workload, ``program_pass`` for a program), tied to its run by
``guard`` (its tree ends with the run, and with the parent). Its result goes back as a
child-result document (``schema.child``) written atomically to ``RESULT`` (stdout
belongs to the workload); its exit code says the same (``ChildStatus``) should the file
be lost. What the pass recorded as it went (the window's start, the baseline, the
collector's record) is in the scratch folder's flight record whatever happens.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import sys
import traceback

from autograd_mem.errors import WorkloadError
from autograd_mem.measure import guard
from autograd_mem.measure.protocol import TRACEBACK_TAIL_CHARACTERS, map_flight_record
from autograd_mem.measure.window import WorkloadRaised
from autograd_mem.schema.child import ChildResult, ChildStatus, child_result_to_plain
from autograd_mem.schema.codec import dumps, from_plain
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.files import write_atomic
from autograd_mem.targets.target import target_of

# The files whose frames lead a workload's traceback: they mean nothing to a user.
_OWN_FILES = frozenset(
    os.path.join(os.path.dirname(__file__), name) for name in ("child.py", "workload_pass.py")
)


def _traceback_text(error: BaseException) -> str:
    """The workload's traceback from its own frames on."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in _OWN_FILES:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _report_raised(error: WorkloadRaised) -> ChildResult:
    """Print the workload's traceback to stderr if it still can, and keep its tail in the result.

    A workload may have closed fds 1 and 2: then the result document, which goes to a
    file of its own, is the only way its reason reaches the parent.
    """
    text = _traceback_text(error.original)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)
        sys.stderr.flush()
    return ChildResult(
        ChildStatus.WORKLOAD_RAISED, message=str(error),
        traceback=text[-TRACEBACK_TAIL_CHARACTERS:],
    )


def _release_std_streams() -> None:
    """Flush stdout and stderr now; drop a stream whose fd the workload closed.

    Otherwise the interpreter's own flush at exit fails and turns the exit code into 120.
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            setattr(sys, name, None)


def _measured(role: str, config: RunConfig, scratch: str) -> ChildResult:
    """Run the pass the target names; every ending becomes a result, agmem's own failure too."""
    target = target_of(config)
    measured_pass = importlib.import_module(f"autograd_mem.measure.{target.traits.measured_pass}")
    try:
        return getattr(measured_pass, role)(config, map_flight_record(scratch))  # type: ignore[no-any-return]
    except WorkloadError as exc:
        # Not printed: the parent shows the message, and the stderr tail it shows
        # beneath would only repeat it.
        return ChildResult(ChildStatus.WORKLOAD_NOT_FOUND, message=exc.message)
    except WorkloadRaised as exc:
        return _report_raised(exc)
    except Exception as exc:  # agmem's own failure: said in one line by the parent
        cause = exc.__cause__ or exc
        message = (f"{exc} ({type(cause).__name__}: {cause})" if cause is not exc
                   else f"{type(exc).__name__}: {exc}")
        return ChildResult(ChildStatus.INTERNAL_ERROR, message=message)


def main(argv: list[str] | None = None) -> int:
    """Entry point; the exit code tells the parent how the run ended even if the file is lost."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("measure", "explain"):
        print(
            "usage: python -m autograd_mem.measure.child measure|explain CONFIG_JSON RESULT_JSON",
            file=sys.stderr,
        )
        return 2
    role, config_path, result_path = args
    scratch = os.path.dirname(os.path.abspath(config_path))
    guard.install(scratch)
    with open(config_path, encoding="utf-8") as handle:
        config = from_plain(RunConfig, json.load(handle), "config")
    result = _measured(role, config, scratch)
    if guard.is_forked_copy():  # a fork of the workload that returned through agmem
        os._exit(result.status.exit_code)
    # As ``python`` ends: the program's atexit handlers (multiprocessing's joins its
    # workers), then, as a supervisor ends a service, whatever it left running.
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    _release_std_streams()
    guard.end_descendants()
    write_atomic(result_path, dumps(child_result_to_plain(result)))
    return result.status.exit_code


if __name__ == "__main__":
    sys.exit(main())
