"""The measured child: ``python -m autograd_mem.measure.child measure|explain CONFIG RESULT``.

One child measures one run in a fresh interpreter, by the pass its target names
(``workload_pass`` for a workload, ``program_pass`` for a program). Its result goes
back as JSON written atomically to ``RESULT`` (stdout belongs to the workload).
The document's ``status`` says how it ended:

- ``ok``: ``environment`` and ``run`` (a RunResult without timeline; the parent adds it
  from its RSS samples), and ``workload_start_monotonic``, the clock origin;
- ``workload-not-found``: the workload could not be imported (``message``);
- ``workload-raised``: the workload raised (``message``; the traceback is on stderr).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import shutil
import signal
import sys
import traceback
from typing import Any

from autograd_mem.errors import WorkloadError
from autograd_mem.measure.protocol import (
    EXIT_INTERNAL_ERROR,
    EXIT_WORKLOAD_NOT_FOUND,
    EXIT_WORKLOAD_RAISED,
    PARENT_PID_VARIABLE,
    TRACEBACK_TAIL_CHARACTERS,
    map_progress_counter,
)
from autograd_mem.measure.window import WorkloadRaised
from autograd_mem.schema.codec import dumps, from_plain
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.files import write_atomic
from autograd_mem.targets.target import target_of

# Linux's prctl option asking for a signal when the parent dies (see _follow_parent).
_PR_SET_PDEATHSIG = 1


def _traceback_text(error: BaseException) -> str:
    """The workload's traceback from its own frames on: the child's mean nothing to a user."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _report_raised(error: WorkloadRaised) -> dict[str, Any]:
    """Print the workload's traceback to stderr if it still can, and keep its tail in the result.

    A workload may have closed fds 1 and 2: then the result document, which goes to a
    file of its own, is the only way its reason reaches the parent.
    """
    text = _traceback_text(error.original)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)
        sys.stderr.flush()
    return {
        "status": "workload-raised",
        "message": str(error),
        "traceback": text[-TRACEBACK_TAIL_CHARACTERS:],
    }


def _follow_parent(scratch: str) -> None:
    """End this child, its workload's processes and the scratch folder when the parent dies.

    The parent stops the child's process group itself on every ending it sees, but it
    cannot when it is SIGKILLed; Linux then sends this child SIGTERM (PR_SET_PDEATHSIG).
    SIGINT gets its default action back, so that a real Ctrl-C sent here kills the
    child instead of reaching the workload as a KeyboardInterrupt it could catch.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    def on_parent_death(signum: int, frame: object) -> None:
        if os.path.basename(scratch).startswith("agmem-"):
            shutil.rmtree(scratch, ignore_errors=True)
        os.killpg(0, signal.SIGKILL)

    parent = os.environ.get(PARENT_PID_VARIABLE)
    if parent is None:
        return  # run by hand, not by the runner
    signal.signal(signal.SIGTERM, on_parent_death)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if str(os.getppid()) != parent:  # the parent died before the request was made
        on_parent_death(signal.SIGTERM, None)


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
    _follow_parent(os.path.dirname(os.path.abspath(config_path)))
    with open(config_path, encoding="utf-8") as handle:
        config = from_plain(RunConfig, json.load(handle), "config")
    target = target_of(config)
    measured_pass = importlib.import_module(f"autograd_mem.measure.{target.measured_pass}")
    progress = map_progress_counter(os.path.dirname(config_path))
    try:
        document = getattr(measured_pass, role)(config, progress)
        code = 0
    except WorkloadError as exc:
        # Not printed: the parent shows the message, and the stderr tail it shows
        # beneath would only repeat it. The exit code says which failure it was if
        # the result file is lost.
        document = {"status": "workload-not-found", "message": exc.message}
        code = EXIT_WORKLOAD_NOT_FOUND
    except WorkloadRaised as exc:
        document = _report_raised(exc)
        code = EXIT_WORKLOAD_RAISED
    except Exception as exc:  # agmem's own failure: said in one line by the parent
        cause = exc.__cause__ or exc
        document = {"status": "internal-error", "message": f"{exc} ({type(cause).__name__}: "
                    f"{cause})" if cause is not exc else f"{type(exc).__name__}: {exc}"}
        code = EXIT_INTERNAL_ERROR
    _release_std_streams()
    write_atomic(result_path, dumps(document))
    return code


if __name__ == "__main__":
    sys.exit(main())
