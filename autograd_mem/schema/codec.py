"""Documents as JSON: the versioned header, strict decoding into dataclasses, and the text.

The JSON is an API for machines, so its keys are fixed names with units in them, and
``schema_version`` says which shape a document has: a reader refuses a version it does
not know rather than guessing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from autograd_mem._version import __version__
from autograd_mem.errors import ResultFormatError
from autograd_mem.schema.rules import field_problem, is_int

# 3: the explain document's bytes_held became bytes_held_at_most and bytes_freed_total,
# beside growth bytes and lines, top_lines and waiting (issue 22).
SCHEMA_VERSION = 3


_SCALARS = frozenset({int, float, str, bool, type(None)})


def to_plain(value: Any) -> Any:
    """Dataclasses and tuples to dicts and lists, recursively: the JSON side of a result.

    Public because the baseline and check documents are built from the same pieces.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        # A series (4,096 numbers) is most of a long run's document: copied at C speed.
        if all(type(v) in _SCALARS for v in value):
            return list(value)
        return [to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def from_plain(cls: type, data: Any, where: str) -> Any:
    """Rebuild a dataclass from plain data, refusing missing or unknown keys and broken rules.

    A reader of agmem's JSON (the runner reading its child, ``agmem check`` reading a
    baseline) must fail on a document it does not understand, never guess.
    """
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: expected an object, found {type(data).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise ResultFormatError(f"{where}: unknown keys {sorted(unknown)}")
    missing = [
        name
        for name, f in names.items()
        if name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ResultFormatError(f"{where}: missing key {missing[0]!r}")
    problem = field_problem(cls, data)
    if problem:
        raise ResultFormatError(f"{where}.{problem}")
    kwargs = {name: tuple(v) if isinstance(v, list) else v for name, v in data.items()}
    try:
        return cls(**kwargs)
    except ResultFormatError as exc:  # a rule across fields (RunConfig.__post_init__)
        raise ResultFormatError(f"{where}: {exc.message}") from None
    except TypeError as exc:
        raise ResultFormatError(f"{where}: {exc}") from None


def nested(cls: type, value: Any, where: str) -> Any:
    """A nested dataclass, rebuilt (strictly, by ``from_plain``) when it arrives as a mapping.

    Anything else that is not already one (a list, a number: a hand-edited document) is
    refused here, where its name is known, not left to fail where it is first used.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return from_plain(cls, value, where)
    raise ResultFormatError(f"{where} must be an object, got {value!r:.60}")


def header(kind: str, tool_version: str = __version__) -> dict[str, Any]:
    """The first keys of every agmem document: its schema version, its kind, who wrote it."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "tool": {"name": "agmem", "version": tool_version},
    }


def check_schema(data: Any, kind: str, where: str = "document") -> str:
    """Refuse a document of another kind or schema; return the agmem version that wrote it.

    ``schema_version`` must be the integer itself: ``true`` equals 1 in Python, and a
    reader that accepted it would accept any document that happens to say so.
    """
    if not isinstance(data, Mapping):
        raise ResultFormatError(f"{where}: not a JSON object")
    version = data.get("schema_version")
    if is_int(version) and version > SCHEMA_VERSION:
        raise ResultFormatError(
            f"{where}: written by a newer agmem (schema_version {version}; this agmem "
            f"{__version__} reads schema_version {SCHEMA_VERSION}) — upgrade agmem or "
            "write the document again"
        )
    if not is_int(version) or version != SCHEMA_VERSION:
        raise ResultFormatError(
            f"{where}: schema_version {version!r} is not supported "
            f"(this agmem {__version__} reads schema_version {SCHEMA_VERSION})"
        )
    found = data.get("kind")
    if found != kind:
        hint = " (save one with `agmem baseline save FILE`)" if kind == "baseline" else ""
        raise ResultFormatError(
            f"{where}: a {found!r:.40} document by its 'kind', not a {kind}{hint}"
        )
    tool = data.get("tool")
    if (
        not isinstance(tool, Mapping)
        or set(tool) != {"name", "version"}
        or tool["name"] != "agmem"
        or not isinstance(tool["version"], str)
        or not tool["version"]
    ):
        # The version is shown with the figures ("written by agmem X"): a report must not
        # print whatever a hand-edited document put there.
        raise ResultFormatError(
            f"{where}.tool must be {{\"name\": \"agmem\", \"version\": \"...\"}}, got {tool!r:.80}"
        )
    return tool["version"]


def dumps(document: Mapping[str, Any]) -> str:
    """JSON text for people and machines alike: indented, keys in a stable order, and each
    list of plain values (a series of 4,096 numbers) on one line.

    The one-line series keep a long run's document readable (not 4,096 lines a column)
    and let the standard library's C encoder write them: ``json.dumps(indent=2)`` takes
    the pure-Python encoder for the whole document. NaN and infinity are refused, as
    ``allow_nan=False`` does: they are not JSON.
    """
    return _encoded(document, "") + "\n"


def _encoded(value: Any, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = (f"{inner}{json.dumps(str(k))}: {_encoded(v, inner)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if all(type(v) in _SCALARS for v in value):
            return json.dumps(value, allow_nan=False)
        return "[\n" + ",\n".join(inner + _encoded(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, allow_nan=False)
