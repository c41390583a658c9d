"""Fault injection through the console script: every ending is one line and a documented code.

Each test runs ``python -m autograd_mem`` (the ``agmem`` entry point) as a user or a CI
runner would, provokes one fault, and checks what the issue asks of every ending: the
exit code, the one-line message, no traceback, no file destroyed or half-written, no
process left from the measured child's group, and no scratch folder left in the
temporary directory (each test gives agmem a TMPDIR of its own and checks it is empty).

Devices are private ``mknod`` copies in the test's folder, never the real ``/dev``.
"""

from __future__ import annotations

import errno
import os
import pty
import re
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from autograd_mem.measure.protocol import PARENT_PID_VARIABLE

TINY = ("--iterations", "3", "--size", "10")
AGMEM = (sys.executable, "-m", "autograd_mem")


@dataclass
class Ended:
    returncode: int
    stdout: str
    stderr: str
    pid: int

    @property
    def first_line(self) -> str:
        return self.stderr.splitlines()[0] if self.stderr else ""


class Sandbox:
    """A folder to run agmem in, with a temporary directory of its own to check for leftovers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        self.env = {**os.environ, "TMPDIR": str(self.tmp)}

    def workload(self, body: str, name: str = "work.py") -> str:
        (self.root / name).write_text(textwrap.dedent(body))
        return f"{name}:step"

    def start(self, *args: str, **popen: object) -> subprocess.Popen[str]:
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
            [*AGMEM, *args], cwd=self.root, env=self.env, text=True, **popen
        )

    def run(self, *args: str, timeout: float = 120, **popen: object) -> Ended:
        process = self.start(*args, **popen)
        out, err = process.communicate(timeout=timeout)
        ended = Ended(process.returncode, out or "", err or "", process.pid)
        self.assert_clean(ended.pid)
        return ended

    def survivors(self, agmem_pid: int) -> list[int]:
        """Processes started by a child of this agmem (they carry its pid in their environment)."""
        found = []
        for process in psutil.process_iter():
            try:
                if process.environ().get(PARENT_PID_VARIABLE) == str(agmem_pid) and (
                    process.status() != psutil.STATUS_ZOMBIE
                ):
                    found.append(process.pid)
            except (psutil.Error, OSError):
                continue
        return found

    def assert_clean(self, agmem_pid: int) -> None:
        """No process of the measured child's group left, and no scratch or temporary file."""
        deadline = time.monotonic() + 5
        while self.survivors(agmem_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.survivors(agmem_pid) == []
        assert list(self.tmp.iterdir()) == []
        assert [p.name for p in self.root.rglob("*.tmp")] == []


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def assert_one_line(ended: Ended, code: int, pattern: str) -> None:
    assert ended.returncode == code, ended.stderr
    assert ended.stderr.count("\n") == 1, ended.stderr
    assert re.search(pattern, ended.stderr), ended.stderr
    assert "Traceback" not in ended.stderr


def device(path: Path, major: int, minor: int) -> Path:
    """A private copy of a character device (1, 7 is /dev/full; 1, 3 is /dev/null)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("mknod needs root (CAP_MKNOD)")
    return path


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


# --- 1. outputs never destroy what is at the path ---------------------------------------


@pytest.mark.parametrize("option", ["-o", "--html", "--svg"])
def test_a_full_device_as_output_is_one_line_and_stays_a_device(box: Sandbox, option: str) -> None:
    full = device(box.root / "full", 1, 7)
    ended = box.run("run", *TINY, "--format", "json", option, str(full), "--quiet")
    assert_one_line(ended, 2, r"^agmem: error: cannot write '.*full': No space left on device$")
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_full_device_as_baseline_is_one_line(box: Sandbox) -> None:
    full = device(box.root / "full", 1, 7)
    ended = box.run("baseline", "save", str(full), *TINY, "--repeat", "1", "--quiet")
    assert_one_line(ended, 2, r"^agmem: error: .*No space left on device$")
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_null_device_is_written_through(box: Sandbox) -> None:
    null = device(box.root / "null", 1, 3)
    ended = box.run("run", *TINY, "--format", "json", "-o", str(null), "--quiet")
    assert ended.returncode == 0, ended.stderr
    assert stat.S_ISCHR(null.stat().st_mode)


def test_a_fifo_is_written_through_to_its_reader(box: Sandbox) -> None:
    fifo = box.root / "fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    ended = box.run("run", *TINY, "--format", "json", "-o", str(fifo), "--quiet")
    reader.join(timeout=30)
    assert ended.returncode == 0, ended.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert '"kind": "run"' in received[0]


def test_dev_stdout_is_written_through(box: Sandbox) -> None:
    ended = box.run("run", *TINY, "--format", "json", "-o", "/dev/stdout", "--quiet")
    assert ended.returncode == 0, ended.stderr
    assert '"kind": "run"' in ended.stdout


def test_a_symlink_stays_a_link_and_its_target_is_replaced(box: Sandbox) -> None:
    target = box.root / "reports" / "run.json"
    target.parent.mkdir()
    target.write_text("old")
    link = box.root / "link.json"
    link.symlink_to(target)
    ended = box.run("run", *TINY, "--format", "json", "-o", str(link), "--quiet")
    assert ended.returncode == 0, ended.stderr
    assert link.is_symlink()
    assert '"kind": "run"' in target.read_text()


def test_a_replaced_file_keeps_its_mode_and_hard_links(box: Sandbox) -> None:
    private = box.root / "private.json"
    private.write_text("old")
    private.chmod(0o600)
    linked = box.root / "linked.json"
    linked.write_text("old")
    other_name = box.root / "other-name.json"
    os.link(linked, other_name)
    for path in (private, linked):
        ended = box.run("run", *TINY, "--format", "json", "-o", str(path), "--quiet")
        assert ended.returncode == 0, ended.stderr
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert '"kind": "run"' in private.read_text()
    # both names of the hard-linked file see the new report: one inode, still two links
    assert linked.stat().st_ino == other_name.stat().st_ino
    assert linked.stat().st_nlink == 2
    assert '"kind": "run"' in other_name.read_text()


def test_two_outputs_naming_one_file_are_refused(box: Sandbox) -> None:
    report = box.root / "report.txt"
    report.write_text("keep me")
    ended = box.run("run", *TINY, "-o", str(report), "--html", f"{box.root}/./report.txt", "-q")
    assert_one_line(ended, 2, r"^agmem: error: --output and --html name the same file")
    assert report.read_text() == "keep me"


def test_an_output_name_starting_with_equals_is_refused(box: Sandbox) -> None:
    ended = box.run("run", *TINY, "-o=x.json", "--quiet")
    assert_one_line(ended, 2, r"^agmem: error: -.* '=x.json': a file name starting with '='")
    assert not (box.root / "=x.json").exists()


def test_a_name_too_long_is_one_line_and_a_long_legal_name_works(box: Sandbox) -> None:
    ended = box.run("run", *TINY, "-o", "x" * 300, "--quiet")
    assert_one_line(ended, 2, r"^agmem: error: --output: file name too long")
    legal = "y" * 250
    ended = box.run("run", *TINY, "--format", "json", "-o", legal, "--quiet")
    assert ended.returncode == 0, ended.stderr
    assert '"kind": "run"' in (box.root / legal).read_text()


def test_a_read_only_folder_is_refused_before_the_run(box: Sandbox) -> None:
    folder = box.root / "ro"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
        capture_output=True, check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        started = time.monotonic()
        ended = box.run("run", "--iterations", "100000", "-o", str(folder / "r.txt"), "-q")
        assert_one_line(ended, 2, r"^agmem: error: --output .* cannot be written: Read-only")
        assert time.monotonic() - started < 10  # refused before the (long) run
    finally:
        subprocess.run(["umount", str(folder)], check=True)


# --- 2. signals end the child's whole group ---------------------------------------------

# A workload that starts a background process (its "helper"), then runs forever.
FOREVER = """
    import pathlib, subprocess, time
    helper = None
    def step(i):
        global helper
        if helper is None:
            helper = subprocess.Popen(["sleep", "300"])
            pathlib.Path("helper.pid.part").write_text(str(helper.pid))
            pathlib.Path("helper.pid.part").rename("helper.pid")  # seen whole or not at all
        time.sleep(0.05)
"""


def start_forever(box: Sandbox, *extra: str) -> subprocess.Popen[str]:
    workload = box.workload(FOREVER)
    process = box.start(
        "run", "--workload", workload, "--iterations", "100000", "-o", "out.txt", *extra
    )
    wait_for((box.root / "helper.pid").exists)
    return process


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [
        (signal.SIGTERM, 143, "agmem: terminated"),
        (signal.SIGHUP, 129, "agmem: hung up"),
        (signal.SIGINT, 130, "agmem: interrupted"),
    ],
)
def test_a_stop_signal_ends_the_child_its_helpers_and_the_scratch(
    box: Sandbox, signum: int, code: int, message: str
) -> None:
    process = start_forever(box)
    helper = int((box.root / "helper.pid").read_text())
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == code
    assert err == message + "\n"
    assert not psutil.pid_exists(helper) or psutil.Process(helper).status() == "zombie"
    assert not (box.root / "out.txt").exists()
    box.assert_clean(process.pid)


def test_a_normal_end_also_ends_the_workloads_helpers(box: Sandbox) -> None:
    workload = box.workload(FOREVER)
    ended = box.run("run", "--workload", workload, "--iterations", "5", "--quiet")
    assert ended.returncode == 0, ended.stderr
    helper = int((box.root / "helper.pid").read_text())
    wait_for(lambda: not psutil.pid_exists(helper) or psutil.Process(helper).status() == "zombie")


def test_a_killed_agmem_takes_its_child_and_scratch_with_it(box: Sandbox) -> None:
    process = start_forever(box)
    helper = int((box.root / "helper.pid").read_text())
    process.kill()  # SIGKILL: agmem itself can clean nothing up
    process.communicate(timeout=30)
    # the child, told by the kernel that its parent died, ends its group and the scratch
    wait_for(lambda: not psutil.pid_exists(helper) or psutil.Process(helper).status() == "zombie")
    wait_for(lambda: list(box.tmp.iterdir()) == [])
    box.assert_clean(process.pid)


def test_two_quick_interrupts_leave_the_message_on_a_line_of_its_own(box: Sandbox) -> None:
    # given stderr on a terminal, so that the progress bar is drawn
    controller, terminal = pty.openpty()
    workload = box.workload(FOREVER)
    process = box.start(
        "run", "--workload", workload, "--iterations", "100000", stderr=terminal
    )
    os.close(terminal)
    wait_for((box.root / "helper.pid").exists)
    time.sleep(0.5)  # a few progress updates
    # when Ctrl-C comes twice in quick succession
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError as exc:  # EIO: the terminal's other side is closed
            assert exc.errno == errno.EIO
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    screen = b"".join(chunks).decode(errors="replace")
    # then agmem says so once, at the start of a cleared line, without a traceback
    assert process.returncode == 130
    assert screen.count("agmem: interrupted") == 1
    assert re.search(r"(^|\n|\r\x1b\[K)agmem: interrupted", screen), repr(screen[-300:])
    assert "Traceback" not in screen
    box.assert_clean(process.pid)


# --- 3. timeouts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("run",), ("compare", "--modes", "weak,strong"), ("baseline", "save", "base.json")],
)
def test_a_run_past_its_timeout_ends_with_exit_3(box: Sandbox, command: tuple[str, ...]) -> None:
    workload = box.workload(FOREVER)
    started = time.monotonic()
    # (4 s: time enough for the child to start its helper even on a loaded machine, where
    # starting an interpreter and numpy can take seconds)
    ended = box.run(*command, "--workload", workload, "--iterations", "100000",
                    "--timeout", "4", "--quiet")
    assert ended.returncode == 3
    assert ended.first_line == (
        "agmem: error: the measured run timed out after 4 s (--timeout); "
        "it and every process it started were ended (SIGTERM, then SIGKILL after 1 s)"
    )
    assert "Traceback" not in ended.stderr
    assert time.monotonic() - started < 30  # 4 s, the 1 s grace, and the start
    helper = int((box.root / "helper.pid").read_text())
    wait_for(lambda: not psutil.pid_exists(helper) or psutil.Process(helper).status() == "zombie")
    assert not (box.root / "base.json").exists()


def test_check_takes_a_timeout_too(box: Sandbox) -> None:
    workload = box.workload(FOREVER)
    ended = box.run("check", "--workload", workload, "--iterations", "100000",
                    "--max-live-objects", "0", "--timeout", "1", "--quiet")
    assert ended.returncode == 3
    assert "timed out after 1 s" in ended.first_line


def test_a_bad_timeout_is_refused(box: Sandbox) -> None:
    ended = box.run("run", *TINY, "--timeout", "0")
    assert_one_line(ended, 2, r"^agmem: error: --timeout must be a finite number above 0")


# --- 6. stdout errors -------------------------------------------------------------------


def test_a_full_stdout_is_one_line_and_exit_2(box: Sandbox) -> None:
    full = device(box.root / "full", 1, 7)
    with open(full, "w") as stdout:
        ended = box.run("run", *TINY, "--format", "json", "--quiet", stdout=stdout)
    assert_one_line(
        ended, 2, r"^agmem: error: cannot write the report to stdout: No space left on device$"
    )


@pytest.mark.parametrize("output_format", ["json", "table"])
def test_a_closed_pipe_ends_quietly_with_exit_0(box: Sandbox, output_format: str) -> None:
    # like `agmem run --format json | head -0`: the reader is gone before agmem writes
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        ended = box.run("run", *TINY, "--format", output_format, "--quiet", stdout=write_end)
    finally:
        os.close(write_end)
    assert ended.returncode == 0
    assert ended.stderr == ""


# --- 7. memory stays bounded whatever the workload prints -------------------------------


def test_a_chatty_failing_workload_costs_the_parent_only_its_tail(box: Sandbox) -> None:
    # given a workload that prints 200 MiB and then raises
    workload = box.workload("""
        import sys
        def step(i):
            line = "x" * 1023 + "\\n"
            for _ in range(200 * 1024):
                sys.stdout.write(line)
            raise RuntimeError("after the flood")
    """)
    # (started from a small launcher: a process forked from this large pytest process
    # would inherit its peak as its own ru_maxrss, and the bound would measure pytest)
    peak_file = box.root / "maxrss"
    launcher = (
        "import os, sys\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])\n"
        "_, status, usage = os.wait4(pid, 0)\n"
        "open(sys.argv[1], 'w').write(f'{pid} {usage.ru_maxrss}')\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", launcher, str(peak_file), *AGMEM[1:],
         "run", "--workload", workload, "--iterations", "1", "--quiet"],
        cwd=box.root, env=box.env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    _, err = process.communicate(timeout=120)
    agmem_pid, maxrss_kib = map(int, peak_file.read_text().split())
    # then the run fails with the workload's reason and the log's last lines only ...
    assert process.returncode == 3
    assert err.splitlines()[0] == "agmem: error: the workload raised RuntimeError: after the flood"
    assert len(err.splitlines()) <= 25
    # ... and no process of the run held the log in memory (ru_maxrss: the largest, KiB)
    assert maxrss_kib * 1024 < 150 * 1024 * 1024
    box.assert_clean(agmem_pid)


# --- 8. smaller ones --------------------------------------------------------------------


@pytest.mark.parametrize("raised", ["KeyboardInterrupt", "GeneratorExit"])
def test_a_workload_raising_a_base_exception_is_reported_as_its_own(
    box: Sandbox, raised: str
) -> None:
    workload = box.workload(f"""
        def step(i):
            raise {raised}("from the workload")
    """)
    ended = box.run("run", "--workload", workload, *TINY, "--quiet")
    assert ended.returncode == 3
    assert ended.first_line == f"agmem: error: the workload raised {raised}: from the workload"
    assert "killed" not in ended.stderr
    assert "autograd_mem/measure/child.py" not in ended.stderr  # the workload's frames only


def test_a_workload_that_closes_stdout_and_stderr_still_has_its_reason(box: Sandbox) -> None:
    workload = box.workload("""
        import os
        def step(i):
            os.close(1)
            os.close(2)
            raise ValueError("with nowhere to print")
    """)
    ended = box.run("run", "--workload", workload, *TINY, "--quiet")
    assert ended.returncode == 3
    assert ended.first_line == "agmem: error: the workload raised ValueError: with nowhere to print"
    assert 'raise ValueError("with nowhere to print")' in ended.stderr


def test_an_enormous_sample_interval_is_refused(box: Sandbox) -> None:
    ended = box.run("run", *TINY, "--sample-interval", "1e30")
    assert_one_line(ended, 2, r"^agmem: error: --sample-interval must be at most 60 s")


def test_a_long_memory_profiler_interval_does_not_stretch_a_short_run(box: Sandbox) -> None:
    started = time.monotonic()
    ended = box.run("run", *TINY, "--sampler", "memory_profiler", "--sample-interval", "20",
                    "--format", "json", "--quiet")
    assert ended.returncode == 0, ended.stderr
    assert time.monotonic() - started < 10

