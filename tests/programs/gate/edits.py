"""The ordinary next commits of the gate's test programs, and their leaks, as text edits.

``agmem check``'s promise (issue 23) is about a program's next version: these edits
make one from a test program's source, the way its author would, so that the tests
and ``benchmarks/gate_alarms.py`` check the same changes.
"""

from __future__ import annotations

import re

PROGRAMS = ("jsonjob.py", "sqlitejob.py", "numpyjob.py", "sortedjob.py")

# Each program's size constant and its seeded generator, as written in its source.
_SIZES = re.compile(r"^(RECORDS|ROWS|N|PLAYERS) = ([\d_]+)$", re.M)
_SEEDED = re.compile(r"(random\.Random|np\.random\.default_rng)\(\d+\)")


def _argparse(source: str) -> str:
    source = source.replace("\ndef main():\n", '\ndef main():\n    import argparse\n\n'
                            '    parser = argparse.ArgumentParser(description=__doc__)\n'
                            '    parser.add_argument("--verbose", action="store_true")\n'
                            '    options = parser.parse_args()\n'
                            '    if options.verbose:\n        print("starting")\n', 1)
    return source


def _logging(source: str) -> str:
    source = "import logging\n" + source
    source = source.replace("    print(f", "    logging.basicConfig(level=logging.INFO)\n"
                            "    logging.getLogger(__name__).info(f")
    return source


def _one_more_import(source: str) -> str:
    return "import zipfile  # noqa: F401\n" + source


def _more_input(source: str) -> str:
    return _SIZES.sub(lambda m: f"{m[1]} = {int(int(m[2].replace('_', '')) * 1.01)}", source)


def _unseeded(source: str) -> str:
    return _SEEDED.sub(lambda m: f"{m[1]}()", source)


BENIGN = {
    "argparse option": _argparse,
    "print to logging": _logging,
    "one more stdlib import": _one_more_import,
    "1% more input": _more_input,
    "unseeded RNG": _unseeded,
}


def benign(source: str, change: str) -> str:
    """The source after one ordinary change; refuses an edit that changed nothing."""
    edited = BENIGN[change](source)
    if edited == source:
        raise ValueError(f"the edit {change!r} does not apply to this program")
    return edited


def leaky(source: str, keep_bytes: int, at: str) -> str:
    """The source keeping ``keep_bytes`` alive to the end, made at the ``start`` or the ``end``."""
    edited = source.replace("KEEP_BYTES = 0", f"KEEP_BYTES = {keep_bytes}", 1)
    return edited.replace('KEEP_AT = "end"', f'KEEP_AT = "{at}"', 1)
