"""The measured child's ties to its run: its whole tree ends with the run, and nothing of
agmem's is left in the program's forked processes.

- The child is its descendants' subreaper: an orphan (a daemon's grandchild, a worker
  whose parent died) is re-parented to it, so the parent's sampler still sees it
  below the child, and the child can end it when the program ends.
- When the parent dies, even by SIGKILL, the kernel sends the child PARENT_DEATH_SIGNAL
  (``PR_SET_PDEATHSIG``); its handler ends every descendant, removes the scratch folder
  and ends the child. A real-time signal: no program has a use for it, so no program's
  own handler replaces agmem's (SIGTERM, which a program may handle or ignore, stays
  the program's).
- In a process the program forks (``multiprocessing``'s fork, ``os.fork``), the
  handler goes back to its default and every reset registered with
  :func:`reset_in_forked_copies` runs: the collector's observer is detached (the
  copy's collections are not the measured process's) and agmem's own ``tracemalloc``
  is stopped. Processes that start a fresh interpreter (spawn, forkserver,
  ``subprocess``) inherit nothing of this: ``exec`` resets handlers, and agmem's
  descriptors are close-on-exec.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Callable
from types import FrameType

from autograd_mem.measure import tree
from autograd_mem.measure.protocol import PARENT_PID_VARIABLE
from autograd_mem.probes.process_tree import descendants

PARENT_DEATH_SIGNAL = getattr(signal, "SIGRTMAX", 64) - 2

# The environment variable in which the runner passes the user's own PYTHONHASHSEED
# (or its absence) through the child, which runs with a fixed seed, to the program's
# own processes.
HASHSEED_VARIABLE = "AGMEM_USER_PYTHONHASHSEED"
_UNSET = "-"

_resets: list[Callable[[], object]] = []
_state: dict[str, object] = {}


def reset_in_forked_copies(reset: Callable[[], object]) -> Callable[[], None]:
    """Run ``reset`` in every process forked from the child from now on; returns its remover."""
    _resets.append(reset)
    return lambda: _resets.remove(reset) if reset in _resets else None


def install(scratch: str) -> None:
    """Tie this child to its parent and its tree (see the module's docstring)."""
    _state["pid"] = os.getpid()
    _state["scratch"] = scratch
    parent = os.environ.pop(PARENT_PID_VARIABLE, None)
    _restore_hash_seed()
    os.register_at_fork(after_in_child=_in_forked_copy)
    if parent is None:
        return  # run by hand, not by the runner
    tree.become_subreaper()
    signal.signal(PARENT_DEATH_SIGNAL, _on_parent_death)
    tree.signal_on_parent_death(PARENT_DEATH_SIGNAL)
    if str(os.getppid()) != parent:  # the parent died before the request was made
        _on_parent_death(PARENT_DEATH_SIGNAL, None)


def is_forked_copy() -> bool:
    """Whether this process is a fork of the measured child (the program's), not the child."""
    return _state.get("pid", os.getpid()) != os.getpid()


def end_descendants(first_signal: int = signal.SIGTERM) -> None:
    """End every process below this one: ``first_signal``, a grace period, then SIGKILL."""
    tree.end_processes(
        [tree.Held(pid) for pid in descendants(os.getpid())], first_signal, tree.GRACE_SECONDS
    )


def _restore_hash_seed() -> None:
    """Give the program's own processes the user's PYTHONHASHSEED, not the child's fixed one."""
    value = os.environ.pop(HASHSEED_VARIABLE, None)
    if value is None:
        return
    if value == _UNSET:
        os.environ.pop("PYTHONHASHSEED", None)
    else:
        os.environ["PYTHONHASHSEED"] = value


def _in_forked_copy() -> None:
    if is_forked_copy():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(PARENT_DEATH_SIGNAL) is _on_parent_death:
                signal.signal(PARENT_DEATH_SIGNAL, signal.SIG_DFL)
        for reset in list(_resets):
            with contextlib.suppress(Exception):
                reset()


def _on_parent_death(signum: int, frame: FrameType | None) -> None:
    """The runner is gone: end the whole tree and the scratch folder, then this child."""
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    scratch = str(_state.get("scratch", ""))
    if os.path.basename(scratch).startswith("agmem-"):
        shutil.rmtree(scratch, ignore_errors=True)
    os.kill(os.getpid(), signal.SIGKILL)


def hash_seed_for_child(environ: dict[str, str]) -> dict[str, str]:
    """The runner's side: the child's environment with a fixed seed, the user's kept aside."""
    child = dict(environ)
    child[HASHSEED_VARIABLE] = environ.get("PYTHONHASHSEED", _UNSET)
    # Fixed hashing: set and dict orders, hence allocation patterns, repeat run to run.
    child["PYTHONHASHSEED"] = "0"
    return child


def end_forked_copy(status: int) -> None:
    """End a fork of the program that returned through agmem as ``python`` would end it:
    its ``atexit`` handlers, its buffered output, then its exit status."""
    import atexit
    import sys

    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(status)
