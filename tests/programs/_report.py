"""Shared by the program fixtures: one line saying how the program was started.

Imported as a top-level module, so importing it at all proves the script's directory
(or, for ``-m``, the working directory) is first on ``sys.path``.
"""

import json
import os
import sys

PREFIX = "agmem-fixture: "


def report(name: str, **extra: object) -> None:
    """Print ``agmem-fixture: {json}`` with the argv, ``__name__``, sys.path[0] and cwd seen."""
    main = sys.modules["__main__"]
    seen = {
        "argv": sys.argv,
        "name": name,
        "path0": sys.path[0],
        "cwd": os.getcwd(),
        "main_file": getattr(main, "__file__", None),
        "main_spec": getattr(getattr(main, "__spec__", None), "name", None),
        **extra,
    }
    print(PREFIX + json.dumps(seen), flush=True)
