"""files.py: what is at an output path decides how it is written, and nothing is destroyed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_mem.errors import OutputError
from autograd_mem.schema import files


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    files.write_atomic(target, "hello")
    mask = os.umask(0)
    os.umask(mask)
    assert target.read_text() == "hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_a_255_character_name_is_written_with_a_shorter_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 255)
    files.check_writable(target, "--output")
    files.write_atomic(target, "long")
    assert target.read_text() == "long"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_hard_linked_file_is_rewritten_in_place_shorter_or_longer(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text("x" * 1000)
    os.link(first, second)
    inode = first.stat().st_ino
    for text in ("short", "y" * 5000):
        files.write_atomic(second, text)
        assert first.read_text() == second.read_text() == text
        assert first.stat().st_ino == inode and first.stat().st_nlink == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    files.write_atomic(link, "made")
    assert link.is_symlink() and (tmp_path / "target").read_text() == "made"


def test_dev_stdout_on_a_regular_file_is_appended_to_not_replaced(tmp_path: Path) -> None:
    # given stdout redirected to a file (`agmem ... -o /dev/stdout >> log`)
    log = tmp_path / "log"
    log.write_text("before\n")
    script = (
        "from autograd_mem.schema.files import write_atomic; "
        "write_atomic('/dev/stdout', 'report\\n')"
    )
    with open(log, "a") as stdout:
        subprocess.run([sys.executable, "-c", script], stdout=stdout, check=True)
    # then the report went through the shell's file, which is still the same file
    assert log.read_text() == "before\nreport\n"


def test_two_names_of_one_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("")
    (tmp_path / "alias").symlink_to(tmp_path / "r.txt")
    with pytest.raises(OutputError, match="--output and --svg name the same file"):
        files.check_distinct_outputs({"--output": tmp_path / "r.txt", "--svg": tmp_path / "alias"})
    files.check_distinct_outputs({"--output": tmp_path / "r.txt", "--svg": tmp_path / "s.svg",
                                  "--html": None})


def test_a_directory_and_a_missing_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory"):
        files.check_writable(tmp_path, "-o")
    with pytest.raises(OutputError, match="does not exist"):
        files.check_writable(tmp_path / "no" / "r.txt", "-o")

