"""A workload as named by ``--workload``: parsed, checked in the parent, made a step in the child.

A workload is seen by the child as a *step*: a callable taking the iteration index,
called once per iteration. A built-in is declared by its own module of
``targets.workloads`` (its step builds fresh state: seeded RNG, data, parameters); a
user's workload is their own function, called as ``function(iteration_index)``.

The parent only *checks* a user's workload (:func:`check_workload`): it finds the
module or file and reads its source for the function without executing any of it, so
a workload with side effects at import runs only in the child. A workload the user
did not name (one read from a baseline file) must moreover lie in the current
directory tree: a baseline from someone else cannot make agmem run code from anywhere.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from autograd_mem.errors import WorkloadError
from autograd_mem.schema.config import RunConfig
from autograd_mem.targets import workloads
from autograd_mem.targets.workloads import Step

# What the measurement itself keeps per iteration, all processes together: the child's
# three counters (8 + 4 + 4 bytes); everything else is bounded (``series.MAX_POINTS``).
# benchmarks/long_run.py measured 21.0 bytes at a million iterations. An estimate, used
# only to refuse a run that could not fit before it starts (``runner.measure``).
BOOKKEEPING_BYTES_PER_ITERATION = 24


def _spec_help() -> str:
    builtins = ", ".join(workloads.names())
    return f"a built-in ({builtins}), package.module:function or path/to/file.py:function"


@dataclass(frozen=True)
class WorkloadSpec:
    """A parsed ``--workload`` value: a built-in name, or where a user's function lives."""

    builtin: str | None = None
    module: str | None = None
    path: str | None = None
    function: str | None = None

    @property
    def is_builtin(self) -> bool:
        return self.builtin is not None


@functools.lru_cache(maxsize=64)
def parse_spec(text: str) -> WorkloadSpec:
    """Parse a workload name; raises WorkloadError for an unknown built-in or a malformed spec.

    Cached: the parent's check, its floor and its reports, and the child's warm-up, step
    and floor all ask, and a spec is a pure, frozen function of its text.
    """
    if not isinstance(text, str) or not text.strip():
        raise WorkloadError(f"empty workload name (expected {_spec_help()})")
    if ":" not in text:
        if text in workloads.registry():
            return WorkloadSpec(builtin=text)
        close = difflib.get_close_matches(text.strip().lower(), workloads.names(), n=1)
        if close:
            raise WorkloadError(f"unknown workload {text!r}: did you mean {close[0]!r}?")
        raise WorkloadError(f"unknown workload {text!r} (expected {_spec_help()})")
    target, _, function = text.rpartition(":")
    if not target or not function.isidentifier():
        raise WorkloadError(f"malformed workload {text!r} (expected {_spec_help()})")
    if target.endswith(".py") or os.sep in target or "/" in target:
        return WorkloadSpec(path=target, function=function)
    if not all(part.isidentifier() for part in target.split(".")):
        raise WorkloadError(f"malformed workload {text!r}: {target!r} is not a module name")
    return WorkloadSpec(module=target, function=function)


def parameters_read(config: RunConfig) -> list[str]:
    """``["size 10,000", "depth 3"]``: what the workload reads of ``config``, in words."""
    builtin = workloads.registry().get(config.workload)
    return builtin.parameters(config) if builtin is not None else []


# --- the parent's check: find without executing ------------------------------------------


def check_workload(text: str, cwd: str | None = None, *, confined: bool = False) -> WorkloadSpec:
    """Check that a workload can be found, without importing the user's code.

    Modules are searched as the child will see them: ``python -m`` puts the working
    directory first on ``sys.path``. When the source is Python, it is parsed and the
    function looked up among its top-level names; a module that defines ``__getattr__``
    or star-imports is given the benefit of the doubt (the child will tell).

    ``confined``: the workload was not named by the user (it comes from a baseline file),
    so its file must lie in the current directory tree.
    """
    spec = parse_spec(text)
    if spec.is_builtin:
        return spec
    cwd = cwd or os.getcwd()
    source, where = _source_of(spec, text, cwd)
    if confined:
        _refuse_outside(source, spec, cwd)
    if source is None or not source.name.endswith(".py"):
        return spec  # an extension or namespace module: only importing it can tell
    assert spec.function is not None
    names = _top_level_names(source, where)
    if names is not None and spec.function not in names:
        raise WorkloadError(f"{where} has no function {spec.function!r}")
    return spec


def _source_of(spec: WorkloadSpec, text: str, cwd: str) -> tuple[Path | None, str]:
    """The file a user's workload lives in (None for a namespace package), and its name."""
    if spec.path is not None:
        source = Path(cwd, spec.path)
        if source.is_dir():
            raise WorkloadError(f"workload {spec.path} is a directory, not a Python file")
        if not source.is_file():
            raise WorkloadError(
                f"workload file not found: {spec.path} (looked for {source.absolute()}; a "
                "workload's path is read from the current directory)"
            )
        return source, spec.path
    assert spec.module is not None
    origin = find_module_origin(spec.module, [cwd, *sys.path])
    if origin is None:
        raise WorkloadError(f"cannot find module {spec.module!r} for workload {text!r}")
    where = f"module {spec.module!r}"
    return (Path(origin) if os.path.isabs(origin) else None), where


def _refuse_outside(source: Path | None, spec: WorkloadSpec, cwd: str) -> None:
    """Refuse a workload outside the current directory tree (built-in modules included)."""
    root = Path(cwd).resolve()
    if source is not None and source.resolve().is_relative_to(root):
        return
    what = f"file {spec.path}" if spec.path else f"module {spec.module!r}"
    place = "lies outside" if spec.path else "is not importable from"
    raise WorkloadError(
        f"the baseline's workload {what} {place} the current directory {root}: agmem runs "
        "only code found there unless you name it with --workload"
    )


def find_module_origin(dotted: str, search_path: list[str]) -> str | None:
    """The file of a (sub)module, found package by package without running any ``__init__``."""
    path: list[str] | None = search_path
    origin: str | None = None
    for depth, part in enumerate(dotted.split(".")):
        if path is None:
            return None  # a parent that is a module, not a package
        found = importlib.machinery.PathFinder.find_spec(part, path)
        if found is None and depth == 0:
            # Built-ins and packages behind other finders (editable installs): for a
            # top-level name, find_spec asks every finder without running any code.
            try:
                found = importlib.util.find_spec(part)
            except (ImportError, ValueError):
                found = None
        if found is None:
            return None
        origin = found.origin
        path = list(found.submodule_search_locations or []) or None
    return origin or "<namespace>"


def _top_level_names(source: Path, where: str) -> set[str] | None:
    """Names bound at a module's top level, or None when they cannot be known statically."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"cannot read {where}: {exc}") from None
    except SyntaxError as exc:
        raise WorkloadError(f"cannot parse {where}: {exc.msg} (line {exc.lineno})") from None
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        # Definitions under if/try/with/for at top level still bind module names.
        for attr in ("body", "orelse", "finalbody", "handlers"):
            pending.extend(s for s in getattr(node, attr, []) if isinstance(s, ast.AST))
    if "__getattr__" in names:
        return None
    return names


# --- the child's side: build a step --------------------------------------------------------

_loaded_user_functions: dict[str, Step] = {}


def load_user_function(spec: WorkloadSpec) -> Step:
    """Import a user's workload in the child; raises WorkloadError when it cannot be imported."""
    key = f"{spec.path or spec.module}:{spec.function}"
    if key in _loaded_user_functions:
        return _loaded_user_functions[key]
    try:
        if spec.path is not None:
            path = Path(spec.path).resolve()
            if not path.is_file():
                raise WorkloadError(f"workload file not found: {spec.path}")
            # Like running a script: the file's directory comes first on sys.path.
            sys.path.insert(0, str(path.parent))
            module_spec = importlib.util.spec_from_file_location("agmem_user_workload", path)
            if module_spec is None or module_spec.loader is None:
                raise WorkloadError(f"cannot import {spec.path}: not a Python file")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module
            module_spec.loader.exec_module(module)
        else:
            assert spec.module is not None
            module = importlib.import_module(spec.module)
    except WorkloadError:
        raise
    except Exception as exc:
        where = spec.path or spec.module
        raise WorkloadError(f"cannot import {where}: {type(exc).__name__}: {exc}") from exc
    function = getattr(module, spec.function or "", None)
    if function is None:
        raise WorkloadError(f"{spec.path or spec.module} has no function {spec.function!r}")
    if not callable(function):
        raise WorkloadError(f"{spec.path or spec.module}:{spec.function} is not callable")
    _check_takes_the_iteration_index(function, f"{spec.path or spec.module}:{spec.function}")
    _loaded_user_functions[key] = function
    return function


def _check_takes_the_iteration_index(function: Step, where: str) -> None:
    """Refuse a function that cannot be called as ``function(iteration_index)``.

    Found here, before the warm-up, it is a usage error (exit 2) in one line; found by
    calling it, it would be a TypeError raised "by the workload", with a traceback.
    Callables whose signature Python cannot read (some built-ins) are let through.
    """
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(0)
    except TypeError:
        raise WorkloadError(
            f"{where} must take one argument, the iteration index; its signature is "
            f"{where.rpartition(':')[2]}{signature}"
        ) from None


def make_step(config: RunConfig) -> Step:
    """A fresh step for this configuration: new state for a built-in, the function for a user's."""
    spec = parse_spec(config.workload)
    if spec.builtin is not None:
        return workloads.registry()[spec.builtin].make_step(config)
    return load_user_function(spec)


# --- floors -----------------------------------------------------------------------------------


def floor_bytes(config: RunConfig) -> int | None:
    """Bytes of array data that must be alive at the peak of one iteration; None for user workloads.

    A lower bound: only arrays the algorithm itself keeps are counted, never the
    temporaries numpy makes inside one operation. Each built-in's reasoning is in its
    own module.

    Below a few hundred kilobytes the measured RSS growth can sit a little under the
    floor: small arrays are carved from heap pages that were already resident at the
    baseline (``malloc_trim`` returns only whole free pages), so the kernel sees less
    growth than was allocated. ``tracemalloc``'s peak, which counts allocations, stays
    above the floor at every size (``tests/measure/test_runner.py`` checks it).
    """
    spec = parse_spec(config.workload)
    if spec.builtin is None:
        return None
    return workloads.registry()[spec.builtin].floor_bytes(config)
