"""Byte sizes between people ("20 MiB", "1.5 GB") and code (integers of bytes)."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int | float) -> int:
    """Parse ``"20 MiB"``, ``"1.5 GB"``, ``"512k"`` or a plain number into bytes.

    Decimal units (kB, MB, GB) are powers of 1000 and binary ones (KiB, MiB, GiB)
    powers of 1024, as the SI and IEC define them; a bare number is bytes.
    Raises ``ValueError`` naming the text when it is not a size.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"a size cannot be negative: {text!r}")
        return int(text)
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (expected a number and a unit, like '20 MiB')")
    number, unit = match.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(
            f"unknown size unit {unit!r} in {text!r} (use B, kB, MB, GB, KiB, MiB, GiB)"
        )
    return round(float(number) * factor)


def format_bytes(n_bytes: float | None, *, signed: bool = False) -> str:
    """Render bytes in binary units for people: ``1536`` -> ``"1.5 KiB"``."""
    if n_bytes is None:
        return "–"
    sign = ""
    if n_bytes < 0:
        sign = "-"
    elif signed and n_bytes > 0:
        sign = "+"
    value = abs(float(n_bytes))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            if unit == "B":
                return f"{sign}{int(value):,} B"
            return f"{sign}{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_count(n: float | None, *, signed: bool = False) -> str:
    """Counts with thousands separators: ``12792`` -> ``"12,792"``."""
    if n is None:
        return "–"
    if signed:
        return f"{int(n):+,}"
    return f"{int(n):,}"


def format_seconds(seconds: float | None) -> str:
    """Durations in the unit that keeps 3 significant digits: s, ms or µs."""
    if seconds is None:
        return "–"
    if seconds == 0:
        # No collection, no pause: "0 s" rather than a precise-looking "0.0 µs".
        return "0 s"
    value = abs(seconds)
    if value >= 1:
        return f"{seconds:.2f} s"
    if value >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"
