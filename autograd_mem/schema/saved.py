"""The one reader of every file agmem reads back: a saved run, a comparison, a baseline.

``agmem report``, ``agmem compare a.json b.json`` and ``agmem check --baseline`` read
through ``read_saved``, so a file is judged the same way whichever command opens it:
read at most a size cap (a symlink to /dev/zero, a FIFO, a multi-gigabyte array are
refused before they are parsed), decoded, parsed with the nesting and the length of
numbers bounded, then handed by its ``kind`` to that document's one strict reader in
this package. Every way a file can be wrong is one line naming the file and the field,
as the error of the command's kind of file (exit 2); never a traceback.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_mem.errors import BaselineError, ResultFormatError, UsageError
from autograd_mem.schema import baseline as baseline_document
from autograd_mem.schema import comparison as comparison_document
from autograd_mem.schema.baseline import MAX_BASELINE_BYTES, Baseline
from autograd_mem.schema.comparison import ComparisonRecord
from autograd_mem.schema.run import Measurement, measurement_from_dict

# A run document holds bounded series (at most 4,096 points each) per run, about 0.16 MB
# a run at their longest: 32 MiB is some 200 runs in one comparison (12 variants x 17
# repeats). Reading at most this much bounds what a hostile file can make agmem parse,
# and how long a report of an accepted one takes (benchmarks/huge_documents.py: at
# 64 MiB a consistent comparison took 11 s as a table and 19 s as JSON at load 3.5).
MAX_RESULT_BYTES = 32 * 1024**2

Saved = Measurement | ComparisonRecord | Baseline

# Each kind of document agmem writes and reads back, with its one strict reader.
READERS: Mapping[str, Callable[[Any, str], Saved]] = {
    "run": measurement_from_dict,
    "comparison": comparison_document.from_dict,
    "baseline": baseline_document.from_dict,
}


@dataclass(frozen=True)
class JsonFile:
    """A kind of JSON file agmem reads: how messages name it, how large it may be, its error.

    Baselines and saved results (``agmem report``) are read by the same careful reader;
    only these differ.
    """

    what: str  # "baseline": how a message names the file
    max_bytes: int
    error: type[UsageError]
    size_note: str  # why the cap: "a baseline is a few kilobytes"
    create_hint: str = ""  # what to run when the file is missing; "{name}" is its path
    kinds_note: str = ""  # what the command reads, said when a file is another document


BASELINE_FILE = JsonFile(
    "baseline", MAX_BASELINE_BYTES, BaselineError, "a baseline is a few kilobytes",
    "create it with `agmem baseline save {name}`",
)


def read_json(path: str | os.PathLike[str], kind: JsonFile) -> Any:
    """A file's JSON, read at most ``kind.max_bytes``; every way it can be wrong is one line.

    Raises ``kind.error`` (a UsageError: exit 2) for a missing, unreadable, oversized,
    empty, non-UTF-8, truncated, corrupt or hostile (too deep, too long a number) file.
    """
    name = os.fspath(path)
    raw = _read_capped(name, kind)
    if not raw.strip():
        raise kind.error(f"{kind.what} {name} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise kind.error(f"{kind.what} {name} is corrupt: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise kind.error(_json_problem(f"{kind.what} {name}", text, exc)) from None
    except RecursionError:
        raise kind.error(f"{kind.what} {name} is corrupt: nested too deeply") from None
    except ValueError:  # an integer of more digits than int() converts (4,300 by default)
        raise kind.error(
            f"{kind.what} {name} is corrupt: an integer too long to read"
        ) from None


def _read_capped(name: str, kind: JsonFile) -> bytes:
    """The file's bytes, if it is a regular file of at most ``kind.max_bytes``.

    Opened without blocking and checked after opening (not before: the path could be
    swapped in between), so a FIFO cannot hang ``agmem check`` and a device cannot feed
    it forever.
    """
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        hint = f" ({kind.create_hint.format(name=name)})" if kind.create_hint else ""
        raise kind.error(f"{kind.what} file not found: {name}{hint}") from None
    except OSError as exc:
        raise kind.error(f"cannot read {kind.what} {name}: {_reason(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise kind.error(f"cannot read {kind.what} {name}: {what}")
        raw = _read_at_most(fd, kind.max_bytes + 1)
    except OSError as exc:
        raise kind.error(f"cannot read {kind.what} {name}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if len(raw) > kind.max_bytes:
        raise kind.error(
            f"{kind.what} {name} is too large to be a {kind.what} (over "
            f"{kind.max_bytes // 1024**2} MiB; {kind.size_note})"
        )
    return raw


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _json_problem(named: str, text: str, exc: json.JSONDecodeError) -> str:
    """Tell a file cut short (a save interrupted by an older tool, a partial copy) from garbage."""
    rest = text[exc.pos :].rstrip()
    # JSON strings cannot hold a raw newline: one left open with nothing after it on
    # its line ran into the end of the file.
    cut_in_a_string = exc.msg.startswith("Unterminated string") and "\n" not in rest
    cut_in_a_word = bool(rest) and any(word.startswith(rest) for word in ("null", "true", "false"))
    if exc.pos >= len(text.rstrip()) or cut_in_a_string or cut_in_a_word:
        return f"{named} is truncated: the JSON ends early (line {exc.lineno})"
    return f"{named} is corrupt: not valid JSON ({exc.msg} at line {exc.lineno})"


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


RESULT_FILE = JsonFile(
    "result", MAX_RESULT_BYTES, ResultFormatError,
    "agmem writes one that large only for some 200 runs in one comparison",
    "save one with `agmem run --format json -o {name}`",
    "agmem report reads a saved run or comparison (written by `agmem run` or `agmem "
    "compare` with --format json)",
)


def read_saved(path: str | os.PathLike[str], kinds: Sequence[str], file: JsonFile) -> Saved:
    """The document at ``path``, if it is one of ``kinds``, read by that kind's reader.

    Raises ``file.error`` (exit 2) naming the file, and the field where there is one.
    """
    name = os.fspath(path)
    data = read_json(name, file)
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if len(kinds) == 1:
        kind = kinds[0]  # its reader says what else it is, after the schema version
    elif kind not in kinds:
        shown = (f"a {kind!r} document, by its 'kind'" if isinstance(kind, str)
                 else f"not an agmem {file.what} (its 'kind' is {kind!r:.40})")
        raise file.error(f"{file.what} {name}: {shown}; {file.kinds_note}")
    try:
        return READERS[kind](data, f"{file.what} {name}")
    except ResultFormatError as exc:
        raise file.error(exc.message) from None


def read_result(path: str | os.PathLike[str]) -> Measurement | ComparisonRecord:
    """A saved run or comparison (``agmem report``, ``agmem compare a.json b.json``)."""
    document = read_saved(path, ("run", "comparison"), RESULT_FILE)
    assert not isinstance(document, Baseline)
    return document


def read_baseline(path: str | os.PathLike[str]) -> Baseline:
    """A baseline (``agmem check --baseline``); every way it can be wrong is a ``BaselineError``."""
    document = read_saved(path, ("baseline",), BASELINE_FILE)
    assert isinstance(document, Baseline)
    return document
