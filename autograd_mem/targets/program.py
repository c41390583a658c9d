"""Whole programs as agmem takes them: a script or ``-m`` module and its arguments, run unchanged.

A program is measured the way ``memray run`` and ``mprof run`` take one: unchanged. The
parent parses what was typed (:func:`parse_program_args`, :func:`parse_program` for one
shell-quoted variant of ``agmem compare``), tells it from a workload and a saved result
(:func:`classify_argument`) and checks it without running any of it
(:func:`check_program`). The measured child then runs it as ``__main__``
(:func:`run_program`), inside a window the child opens just before the program's first
line and closes just after its last, and gets back the status ``python`` would exit with.

Where the child differs from ``python script.py`` (documented, not hidden):

- ``sys.argv[0]`` and ``__file__`` are the script's absolute path (``python`` keeps
  ``argv[0]`` as typed; ``__file__`` is absolute in both since 3.9). ``runpy`` sets
  both from one name, and an absolute ``__file__`` is the one programs rely on.
- The program's ``atexit`` handlers run when the child exits, after the window.
- stdin: the runner starts the child with :func:`child_stdin` (``/dev/null`` unless
  ``--stdin``), so a program that reads stdin sees its end at once, as under
  ``python script.py < /dev/null``.
"""

from __future__ import annotations

import ast
import enum
import importlib.util
import os

# runpy.run_path imports pkgutil on its first call; imported here, with the child's own
# modules, so that the import is not charged to the program inside a measured window.
import pkgutil  # noqa: F401
import runpy
import shlex
import stat
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from autograd_mem.errors import UsageError, WorkloadError
from autograd_mem.targets import workloads
from autograd_mem.targets.workload_spec import find_module_origin

_PROGRAM_HELP = "path/to/script.py [ARGS...] or -m package.module [ARGS...]"

# Frames of these files lead every traceback of a program run here; they are dropped so
# that an uncaught exception reads as it does under ``python script.py``. Read from the
# code objects: runpy and importlib are frozen on 3.11+ ("<frozen runpy>").
_RUNNER_FILES = frozenset(
    {
        runpy.run_path.__code__.co_filename,
        importlib.util.find_spec.__code__.co_filename,
        importlib._bootstrap._find_and_load.__code__.co_filename,  # type: ignore[attr-defined]
        importlib._bootstrap_external.SourceLoader.exec_module.__code__.co_filename,  # type: ignore[attr-defined]
    }
)


@dataclass(frozen=True)
class ProgramSpec:
    """A program as ``python`` takes it: a script path (as typed) or a module, and its arguments.

    Exactly one of ``script`` and ``module`` is set. ``words`` is its plain form (for a
    child's JSON config and for reports): ``parse_program_args(spec.words) == spec``.
    """

    script: str | None = None
    module: str | None = None
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.script is None) == (self.module is None):
            raise ValueError("a ProgramSpec has exactly one of script and module")
        # Frozen, so hashable and comparable: a list from JSON becomes the tuple here.
        object.__setattr__(self, "args", tuple(self.args))

    @property
    def words(self) -> tuple[str, ...]:
        """The command line after ``python``: ``("train.py", "--fix")``, ``("-m", "pkg.mod")``."""
        if self.module is not None:
            return ("-m", self.module, *self.args)
        assert self.script is not None
        return (self.script, *self.args)

    @property
    def command(self) -> str:
        """The command line as a person would type it again (shell-quoted)."""
        return shlex.join(self.words)

    @property
    def name(self) -> str:
        """The script or module alone, a short label for a table's column."""
        return self.script if self.script is not None else f"-m {self.module}"


class ArgumentKind(enum.Enum):
    """What a positional argument of ``agmem run`` / ``agmem compare`` names."""

    PROGRAM = "program"
    WORKLOAD = "workload"
    SAVED_RESULT = "saved result"


# --- parsing -----------------------------------------------------------------------------


def parse_program_args(words: Sequence[str]) -> ProgramSpec:
    """A program from the words ``agmem run`` was given after its own options (or after ``--``).

    ``["train.py", "--fix"]`` is a script and its argument; ``["-m", "pkg.mod", "x"]``
    and ``["-mpkg.mod", "x"]`` (as ``python`` also takes it) a module. Only the shape
    is checked here; :func:`check_program` finds the file or module.
    """
    if not words:
        raise UsageError(f"no program given (expected {_PROGRAM_HELP})")
    first, rest = words[0], tuple(words[1:])
    if first == "-m":
        if not rest:
            raise UsageError("-m needs a module name (-m package.module [ARGS...])")
        return ProgramSpec(module=_module_name(rest[0]), args=rest[1:])
    if first.startswith("-m"):
        return ProgramSpec(module=_module_name(first[2:]), args=rest)
    if first.startswith("-") or not first:
        raise UsageError(f"{first!r} is not a program (expected {_PROGRAM_HELP})")
    return ProgramSpec(script=first, args=rest)


def parse_program(text: str) -> ProgramSpec:
    """A program from one shell-quoted string: ``"train.py --lr 0.1 --name 'run 2'"``.

    ``agmem compare "train.py --fix" "train.py"`` passes each variant as one argument;
    it is split as a POSIX shell would (``shlex.split``), quotes and backslashes included.
    """
    return parse_program_args(_split(text))


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise UsageError(f"cannot split {text!r} into words: {exc}") from None


def _module_name(name: str) -> str:
    """A dotted module name, refused early when ``python -m`` could not take it either."""
    if name.startswith("."):
        raise UsageError(f"-m {name!r}: relative module names are not supported")
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise UsageError(f"-m {name!r} is not a module name (expected package.module)")
    return name


def classify_argument(text: str, cwd: str | None = None) -> ArgumentKind:
    """Tell what one positional argument names, from its first shell word ``w``.

    The rule, in order (the first that matches decides):

    1. ``w`` ends with ``.json``: a saved result (``agmem compare a.json b.json``);
    2. ``w`` starts with ``-m``: a program run as a module;
    3. ``w`` is a built-in workload (``seed``, ``mlp``), or ``target:function`` where
       ``function`` is an identifier and ``target`` ends with ``.py`` or is a dotted
       module name: a workload;
    4. ``w`` ends with ``.py``, contains a ``/``, or is an existing file: a program.

    Anything else is refused in one line, as is a saved result or a workload followed
    by more words (only a program takes arguments). A built-in name wins over a file
    of the same name in the working directory: write ``./seed`` for the file.
    """
    words = _split(text)
    if not words:
        raise UsageError("empty argument (expected a program, a workload or a saved result)")
    kind = _kind_of_word(words[0], Path(cwd or os.getcwd()))
    if kind is not ArgumentKind.PROGRAM and len(words) > 1:
        raise UsageError(f"a {kind.value} takes no arguments: {text!r}")
    return kind


def _kind_of_word(word: str, cwd: Path) -> ArgumentKind:
    if word.lower().endswith(".json"):
        return ArgumentKind.SAVED_RESULT
    if word.startswith("-m"):
        return ArgumentKind.PROGRAM
    if word in workloads.registry() or _is_workload_target(word):
        return ArgumentKind.WORKLOAD
    if word.endswith(".py") or "/" in word or os.sep in word or (cwd / word).is_file():
        return ArgumentKind.PROGRAM
    raise UsageError(
        f"{word!r} is neither a program ({_PROGRAM_HELP}), a workload (seed, mlp, "
        "package.module:function, file.py:function) nor a saved result (file.json)"
    )


def _is_workload_target(word: str) -> bool:
    target, colon, function = word.rpartition(":")
    if not colon or not target or not function.isidentifier():
        return False
    return target.endswith(".py") or all(part.isidentifier() for part in target.split("."))


# --- checking, without running -----------------------------------------------------------


def check_program(spec: ProgramSpec, cwd: str | None = None) -> ProgramSpec:
    """Check, in the parent, that the child will find the program; runs and imports none of it.

    A script must be a readable regular file (a directory gets its own message) and,
    when it ends with ``.py``, parse. A module is searched as ``python -m`` will search
    it, the working directory first, package by package without running any package's
    ``__init__``; a package needs a ``__main__`` module. Raises WorkloadError (exit 2).
    """
    where = cwd or os.getcwd()
    if spec.script is not None:
        _check_script(Path(where, spec.script), spec.script)
    else:
        assert spec.module is not None
        _check_module(spec.module, [where, *sys.path])
    return spec


def _check_script(path: Path, shown: str) -> None:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise WorkloadError(
            f"program not found: {shown} (looked for {path.absolute()}; a program's path is "
            "read from the current directory)"
        ) from None
    except OSError as exc:
        raise WorkloadError(f"cannot read program {shown}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        hint = " (it has a __main__.py: run that file)" if (path / "__main__.py").is_file() else ""
        raise WorkloadError(f"program {shown} is a directory, not a script{hint}")
    if not stat.S_ISREG(mode):
        raise WorkloadError(f"program {shown} is not a regular file")
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise WorkloadError(f"cannot read program {shown}: {exc.strerror}") from None
    if path.suffix != ".py":
        return  # python runs any file (a .pyc, a zip): only running it can tell
    try:
        ast.parse(source, filename=shown)  # bytes: the file's own coding cookie applies
    except SyntaxError as exc:
        raise WorkloadError(
            f"cannot parse program {shown}: {exc.msg} (line {exc.lineno})"
        ) from None
    except ValueError as exc:  # null bytes
        raise WorkloadError(f"cannot parse program {shown}: {exc}") from None


def _check_module(name: str, search_path: list[str]) -> None:
    if find_module_origin(f"{name}.__main__", search_path) is not None:
        return  # a package with a __main__: python -m runs that
    origin = find_module_origin(name, search_path)
    if origin is None:
        raise WorkloadError(
            f"cannot find module {name!r} for -m (searched the current directory and sys.path)"
        )
    if origin == "<namespace>" or Path(origin).name.startswith("__init__."):
        raise WorkloadError(f"-m {name}: {name!r} is a package without a __main__ module")


def child_stdin(keep_stdin: bool) -> int | None:
    """The ``stdin`` for the measured child: agmem's own with ``--stdin``, else /dev/null."""
    return None if keep_stdin else subprocess.DEVNULL


# --- running, in the measured child --------------------------------------------------------


def run_program(spec: ProgramSpec, window: AbstractContextManager[object] | None = None) -> int:
    """Run the program in this process as ``python`` would run it, and return its exit status.

    The program runs as ``__main__`` in the current directory, with ``sys.argv`` set to
    its path (or its module's file) and arguments and ``sys.path[0]`` to its directory
    (or the current directory for ``-m``); both are restored after. ``window`` is
    entered just before the program's first line and exited just after it ended and
    any non-daemon thread it started has finished (``python`` waits for those too): the
    measured child reads its baseline and starts its probes there. The exception that
    ended the program is caught inside the window, so the window always exits cleanly,
    and reported after it, so the report costs the measurement nothing.

    Status: 0 on a normal end; a ``SystemExit``'s code as the OS passes it on (its low
    8 bits on POSIX; None is 0, any other non-int is printed to stderr and is 1); 1
    after an uncaught exception, whose traceback is printed to stderr from the program's
    first frame on. ``KeyboardInterrupt`` is not caught: Ctrl-C stops agmem's child as
    it stops everything else.

    Nothing of the program is kept once this returns: not its globals (runpy's copy is
    dropped at once), not the frames of its traceback (cleared after printing), so what
    the live-object figures and explain see afterwards is what the program left.
    """
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = list(spec.words if spec.module is None else spec.words[1:])
    if not getattr(sys.flags, "safe_path", False):  # python -P adds no directory
        sys.path[:1] = [_first_path_entry(spec)]
    try:
        with window if window is not None else nullcontext():
            threads_before = set(threading.enumerate())
            ended_by = _execute(spec)
            _wait_for_threads(threads_before)
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
    return _exit_status(ended_by)


def _first_path_entry(spec: ProgramSpec) -> str:
    """What ``python`` puts first on ``sys.path``: the script's real directory; the cwd for -m."""
    if spec.script is not None:
        return os.path.dirname(os.path.realpath(spec.script))
    return os.getcwd()


def _execute(spec: ProgramSpec) -> BaseException | None:
    """Run the program's code; the exception that ended it, or None. Its globals are not kept."""
    try:
        if spec.script is not None:
            runpy.run_path(os.path.abspath(spec.script), run_name="__main__")
        else:
            assert spec.module is not None
            runpy.run_module(spec.module, run_name="__main__", alter_sys=True)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # everything a program can end with, SystemExit included
        return exc
    return None


def _wait_for_threads(threads_before: set[threading.Thread]) -> None:
    """End the program's threads as the interpreter does before exiting: first the calls
    registered with ``threading._register_atexit`` (``concurrent.futures`` and joblib's
    loky wake their manager threads there, which would otherwise wait forever), then a
    join of every non-daemon thread the program started."""
    registered = getattr(threading, "_threading_atexits", None)
    if registered:
        for call in reversed(list(registered)):
            try:
                call()
            except Exception:
                traceback.print_exc()
        registered.clear()  # run once, as at shutdown
    for thread in threading.enumerate():
        if thread not in threads_before and not thread.daemon and thread.is_alive():
            thread.join()


def _exit_status(ended_by: BaseException | None) -> int:
    """The status ``python`` exits with after this ending, with what it prints to stderr."""
    if ended_by is None:
        return 0
    if isinstance(ended_by, SystemExit):
        return _system_exit_status(ended_by.code)
    _report_uncaught(ended_by)
    return 1


def _system_exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):  # bool too: sys.exit(True) exits 1
        # What the parent sees: POSIX keeps the low 8 bits (sys.exit(256) exits 0, -1 is 255).
        return int(code) & 0xFF if os.name == "posix" else int(code)
    # sys.exit("message"): CPython prints the object's str to stderr and exits 1.
    if sys.stderr is not None:
        print(code, file=sys.stderr, flush=True)
    return 1


def _report_uncaught(exc: BaseException) -> None:
    """Print the traceback through ``sys.excepthook`` (the program's own, if it set one)."""
    # The hook prints the exception's own __traceback__ (not its third argument) when
    # the exception has one, so the runner's frames are cut from the exception itself.
    exc.with_traceback(_program_frames(exc.__traceback__))
    try:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    except Exception:
        sys.__excepthook__(type(exc), exc, exc.__traceback__)
    if sys.stderr is not None:
        sys.stderr.flush()
    # The frames hold the program's locals (its arrays, its graphs): release them now,
    # whoever else may still hold the exception.
    seen: set[int] = set()
    chained: BaseException | None = exc
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        traceback.clear_frames(chained.__traceback__)
        chained = chained.__cause__ or chained.__context__


def _program_frames(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the program's first frame on, without this module's and runpy's.

    None when no frame is the program's: a SyntaxError found compiling it, which
    ``python`` also prints without a "Traceback" header.
    """
    skipped = _RUNNER_FILES | {_program_frames.__code__.co_filename}
    first = tb
    while first is not None and first.tb_frame.f_code.co_filename in skipped:
        first = first.tb_next
    return first


# --- a script that defines a workload and runs nothing -----------------------------------

# Top-level statements that run none of the script's own functions: imports, definitions,
# assignments (set-up), a docstring, ``pass``.
_INERT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
          ast.Assign, ast.AnnAssign, ast.Pass)


def runs_nothing_warning(spec: ProgramSpec) -> str | None:
    """A warning for a script that defines a workload function and calls none of its code."""
    function = unused_workload(spec)
    if function is None:
        return None
    return (
        f"{spec.script} defines {function}() but runs nothing at its top level, so agmem "
        f"measures an interpreter doing nothing: to run {function} once per iteration, name "
        f"it {spec.script}:{function}"
    )


def unused_workload(spec: ProgramSpec) -> str | None:
    """The function to suggest when a script only defines functions and calls none of them.

    ``agmem compare before.py after.py`` on files that define ``step`` and do nothing
    else compares two interpreters that ran nothing; ``before.py:step`` is what was meant.
    The suggestion is ``step`` if the script defines it, else its first function of one
    parameter (a workload is called with the iteration's index); None when the script
    runs code at its top level (a call, a loop, an ``if __name__`` block), or is a module.
    """
    if spec.script is None:
        return None
    try:
        tree = ast.parse(Path(spec.script).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for statement in tree.body:
        docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        if not isinstance(statement, _INERT) and not docstring:
            return None
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    one_parameter = [f.name for f in functions if len(f.args.args) == 1]
    names = [f.name for f in functions]
    return "step" if "step" in names else next(iter(one_parameter), None)
