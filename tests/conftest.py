"""Session-wide: every scratch folder agmem makes during the tests goes to, and leaves, one place.

The measured runs make ``agmem-*`` scratch folders in the temporary directory. Pointing
TMPDIR (for the processes the tests start) and ``tempfile.tempdir`` (for this one) at a
folder of the session's own lets the session check, at its end, that every test cleaned
up after itself: a folder left there is a test, or agmem, that did not.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def scratch_folders_are_all_removed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("tmpdir")
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        tempfile.tempdir = saved_tempdir
    left = sorted(p.name for p in folder.glob("agmem-*"))
    assert left == [], f"scratch folders left behind by the tests: {left}"
