"""Real programs start to finish through ``agmem run``: worker pools, whole process trees,
the program's own end, a program that owns its interpreter (issue 17). Real processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

AGMEM = [sys.executable, "-m", "autograd_mem"]
START_METHODS = ["fork", "spawn"] + (["forkserver"] if sys.version_info >= (3, 12) else [])


def run(
    tmp_path: Path, source: str, *options: str, args: tuple[str, ...] = (), plain: bool = False
) -> subprocess.CompletedProcess[str]:
    """``agmem run`` (or ``python`` when ``plain``) on a script written to ``tmp_path``,
    its TMPDIR there too."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    command = [sys.executable] if plain else [*AGMEM, "run", *options]
    return subprocess.run([*command, str(script), *args], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, env=env)


def scratch_folders(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("agmem-*"))


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


# --- 1. the program's processes behave as they do without agmem ------------------------------

POOLS = """
import concurrent.futures, multiprocessing as mp, subprocess, sys
def square(x):
    return x * x
def busy(x):
    import time
    time.sleep(30)
if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    with ctx.Pool(2) as pool:
        assert pool.map(square, range(8)) == [x * x for x in range(8)]
    pool = ctx.Pool(2)
    assert pool.map(square, range(4)) == [0, 1, 4, 9]
    pool.close(); pool.join()
    pool = ctx.Pool(2)
    pool.map_async(busy, range(2))
    pool.terminate(); pool.join()
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        assert list(executor.map(square, range(4))) == [0, 1, 4, 9]
    assert subprocess.run([sys.executable, "-c", "print(7)"], capture_output=True,
                          text=True).stdout == "7\\n"
    print("pools ok")
"""


@pytest.mark.parametrize("method", START_METHODS)
def test_pools_end_as_in_a_plain_run(tmp_path, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    plain = run(tmp_path, POOLS, args=(method,), plain=True)
    ended = run(tmp_path, POOLS, "--format", "json", args=(method,))
    assert plain.returncode == 0 and "pools ok" in plain.stdout
    assert ended.returncode == 0, ended.stderr
    assert "pools ok" in ended.stderr  # the program's output, shown on agmem's stderr
    assert json.loads(ended.stdout)["runs"][0]["exit_status"] == 0
    assert scratch_folders(tmp_path) == []


FORKED_CHILD_STATE = """
import gc, os, signal, sys
from autograd_mem.measure.guard import PARENT_DEATH_SIGNAL
pid = os.fork()
if pid == 0:
    # a forked process: nothing of agmem's (its handler, its gc callback) is left here
    ours = signal.getsignal(PARENT_DEATH_SIGNAL) not in (signal.SIG_DFL, None)
    os._exit(10 + int(ours) + 2 * len(gc.callbacks))
_, status = os.waitpid(pid, 0)
print("forked child status", os.waitstatus_to_exitcode(status))
pid = os.fork()
if pid == 0:
    import time
    time.sleep(30)
    os._exit(0)
os.kill(pid, signal.SIGTERM)  # a program ending its own child with SIGTERM
_, status = os.waitpid(pid, 0)
print("terminated child status", os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_has_nothing_of_agmem_and_dies_by_sigterm(tmp_path):
    ended = run(tmp_path, FORKED_CHILD_STATE, "--quiet")
    assert ended.returncode == 0, ended.stderr
    # (--quiet hides the program's output: read it from a plain JSON-less run instead)
    shown = run(tmp_path, FORKED_CHILD_STATE, "--format", "json")
    assert "forked child status 10" in shown.stderr
    assert "terminated child status -15" in shown.stderr


def test_sigint_reaches_the_program_as_keyboard_interrupt(tmp_path):
    ended = run(tmp_path, """
        import os, signal, time
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(2)
            print("no KeyboardInterrupt")
        except KeyboardInterrupt:
            print("got KeyboardInterrupt")
    """, "--format", "json")
    assert ended.returncode == 0, ended.stderr
    assert "got KeyboardInterrupt" in ended.stderr


def test_a_fork_returning_through_agmem_ends_as_python_would(tmp_path):
    ended = run(tmp_path, """
        import os
        pid = os.fork()
        if pid:
            _, status = os.waitpid(pid, 0)
            print("copy ended with", os.waitstatus_to_exitcode(status))
        else:
            print("copy says hello")
            raise SystemExit(4)
    """, "--format", "json")
    assert ended.returncode == 0, ended.stderr
    assert "copy says hello" in ended.stderr and "copy ended with 4" in ended.stderr
    assert json.loads(ended.stdout)["runs"][0]["exit_status"] == 0


# --- 2. the whole tree is measured, and nothing of it is left ------------------------------------

DAEMON = """
import subprocess, sys, time
holder = (
    "import os, sys, time; b = bytearray(30 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]);"
    "open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
)
subprocess.Popen([sys.executable, "-c", holder, "daemon.pid"], start_new_session=True)
time.sleep(1.0)
"""


def test_a_setsid_daemon_is_sampled_and_ended_with_the_program(tmp_path):
    ended = run(tmp_path, DAEMON, "--format", "json")
    assert ended.returncode == 0, ended.stderr
    daemon = int((tmp_path / "daemon.pid").read_text())
    assert wait_gone(daemon)
    metrics = json.loads(ended.stdout)["metrics"]
    # its 30 MiB were sampled below the program (psutil saw them while it lived)
    assert metrics["children_peak_rss_bytes"] >= 30 * 1024 * 1024
    assert scratch_folders(tmp_path) == []


def _start_agmem(tmp_path: Path, source: str) -> subprocess.Popen[str]:
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    return subprocess.Popen([*AGMEM, "run", "--quiet", str(script)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


STUBBORN = """
import multiprocessing as mp, os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
def hold():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(120)
if __name__ == "__main__":
    worker = mp.get_context("fork").Process(target=hold)
    worker.start()
    daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                              start_new_session=True)
    open("tree.pids", "w").write(f"{os.getpid()} {worker.pid} {daemon.pid}")
    time.sleep(120)
"""


def _tree_of(tmp_path: Path) -> list[int]:
    deadline = time.monotonic() + 20
    while not (tmp_path / "tree.pids").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # sampled at least once
    return [int(p) for p in (tmp_path / "tree.pids").read_text().split()]


def test_sigterm_to_agmem_ends_a_tree_that_ignores_it_and_leaves_no_scratch(tmp_path):
    agmem = _start_agmem(tmp_path, STUBBORN)
    pids = _tree_of(tmp_path)
    agmem.send_signal(signal.SIGTERM)
    agmem.wait(timeout=20)
    assert agmem.returncode == 143
    assert all(wait_gone(pid) for pid in pids)
    assert scratch_folders(tmp_path) == []


def test_sigkill_to_agmem_ends_the_tree_and_the_next_run_removes_the_scratch(tmp_path):
    agmem = _start_agmem(tmp_path, STUBBORN)
    pids = _tree_of(tmp_path)
    agmem.kill()
    agmem.wait(timeout=5)
    # the program, its worker and its setsid daemon end within a few seconds
    assert all(wait_gone(pid, 5.0) for pid in pids)
    stale = scratch_folders(tmp_path)
    # (the child removes the scratch itself on its parent's death; left or not, the
    # next run removes any folder whose owner is dead)
    (tmp_path / "agmem-999999999-stale").mkdir()
    (tmp_path / "agmem-999999999-stale" / "owner").write_text("999999999 1\n")
    (tmp_path / "agmem-not-ours").mkdir()  # no owner file: not agmem's to remove
    after = run(tmp_path, "print('next')", "--quiet")
    assert after.returncode == 0
    assert [p.name for p in scratch_folders(tmp_path)] == ["agmem-not-ours"], stale


# --- 3. the program ends its own way, and agmem reports that truly ------------------------------


def test_os_exit_passes_its_status_on_with_the_figures_measured(tmp_path):
    ended = run(tmp_path, """
        import os, time
        held = bytearray(50 * 1024 * 1024)
        held[::4096] = b"x" * len(held[::4096])
        time.sleep(0.3)
        os._exit(7)
    """, "--format", "json")
    assert ended.returncode == 7
    assert "ended its process itself with status 7" in ended.stderr
    assert "a bug in agmem" not in ended.stderr
    document = json.loads(ended.stdout)
    assert document["runs"][0]["exit_status"] == 7
    assert document["peak_rss_source"] == "samples"
    assert document["metrics"]["peak_rss_growth_bytes"] >= 45 * 1024 * 1024
    assert document["timeline"]["rss_bytes"]
    assert any("parent's samples" in note for note in document["runs"][0]["incomplete"])


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGKILL, 137), (signal.SIGTERM, 143)])
def test_a_program_killed_by_a_signal_exits_128_plus_n_without_blaming_the_oom_killer(
    tmp_path, signum, status
):
    ended = run(tmp_path, f"import os\nos.kill(os.getpid(), {int(signum)})\n", "--format", "json")
    assert ended.returncode == status
    assert f"killed by {signal.Signals(signum).name}" in ended.stderr
    assert "the kernel's OOM killer ended it" not in ended.stderr
    assert json.loads(ended.stdout)["runs"][0]["exit_status"] == status


def test_an_uncaught_exception_and_sys_exit_pass_their_status_on(tmp_path):
    assert run(tmp_path, "raise ValueError('no')", "--quiet").returncode == 1
    assert run(tmp_path, "import sys\nsys.exit(9)", "--quiet").returncode == 9


# --- 4. the program owns the interpreter ---------------------------------------------------------

CYCLES = """
class Node:
    pass
for _ in range(30_000):
    node = Node()
    node.me = node
"""


@pytest.mark.parametrize("takeover", [
    "gc.callbacks.clear()",
    "gc.callbacks = []",
    "gc.disable()",
    "gc.freeze()",
    "gc.set_threshold(0)",
    "tracemalloc.start(); tracemalloc.stop()",
    "signal.signal(signal.SIGTERM, lambda *a: None); signal.signal(signal.SIGINT, signal.SIG_IGN)",
    "threading.Thread(target=time.sleep, args=(0.3,), daemon=True).start()",
])
def test_a_program_that_owns_its_interpreter_is_measured_without_a_false_figure(
    tmp_path, takeover
):
    source = f"import gc, signal, threading, time, tracemalloc\n{takeover}\n{CYCLES}"
    ended = run(tmp_path, source, "--format", "json", "--tracemalloc")
    assert ended.returncode == 0, ended.stderr
    document = json.loads(ended.stdout)
    metrics, notes = document["metrics"], document["runs"][0]["incomplete"]
    # (the last few hundred self-cycles are still young when the program ends)
    most = 25_000
    if "clear" in takeover:
        # the counts are the collector's own: the self-cycles were collected all the same
        assert metrics["gc_collected"] >= most
        assert any("removed agmem's observer" in note for note in notes)
    elif "disable" in takeover or "threshold" in takeover:
        assert sum(metrics["gc_collections"]) == 0 and notes == []
    elif "tracemalloc.stop" in takeover:
        assert metrics["tracemalloc_peak_bytes"] is None
        assert any("stopped tracemalloc" in note for note in notes)
    else:
        # rebinding gc.callbacks does not detach the observer: the collector calls the
        # list it was given at start-up, whatever the name now points to
        assert metrics["gc_collected"] >= most and notes == []


def test_an_executor_left_open_ends_as_at_interpreter_exit(tmp_path):
    # given a pool the program never shuts down: python wakes its manager thread at exit
    # (threading._register_atexit); agmem must too, or wait on it forever
    ended = run(tmp_path, """
        import concurrent.futures
        def plus_one(x):
            return x + 1
        if __name__ == "__main__":
            executor = concurrent.futures.ProcessPoolExecutor(2)
            print(list(executor.map(plus_one, range(4))))
    """, "--format", "json", "--timeout", "30")
    assert ended.returncode == 0, ended.stderr
    assert "[1, 2, 3, 4]" in ended.stderr


# A daemon started the moment before the program ends its process: no sample sees it.
EXIT_AT_ONCE = """
import os, subprocess, sys
daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                          start_new_session=True)
open("daemon.pid", "w").write(str(daemon.pid))
os._exit(7)
"""


def test_a_daemon_started_just_before_os_exit_is_ended_too(tmp_path):
    ended = run(tmp_path, EXIT_AT_ONCE, "--quiet")
    assert ended.returncode == 7, ended.stderr
    daemon = int((tmp_path / "daemon.pid").read_text())
    assert wait_gone(daemon, 5.0)
    assert scratch_folders(tmp_path) == []
