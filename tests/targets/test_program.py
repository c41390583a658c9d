"""Tests for whole programs: parsing, telling them from workloads and results, checking, running.

Running is checked in real interpreters, against ``python`` itself where it can be: the
fixtures under ``tests/programs`` print how they were started, and a program run by
:func:`run_program` must see, print and exit what it sees, prints and exits under
``python script.py`` / ``python -m module``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_mem.errors import UsageError, WorkloadError
from autograd_mem.targets.program import (
    ArgumentKind,
    ProgramSpec,
    check_program,
    classify_argument,
    parse_program,
    parse_program_args,
    run_program,
    unused_workload,
)

PROGRAMS = Path(__file__).parent.parent / "programs"
REPORT_PREFIX = "agmem-fixture: "


def driver(*after: str) -> str:
    """The measured child's part, in miniature: run the program given as JSON words, run the
    lines ``after``, exit with the program's status. ``-c`` leaves sys.argv as ``["-c",
    words]``: the program must get its own."""
    return "".join(
        [
            "import json, sys\n",
            "from autograd_mem.targets.program import parse_program_args, run_program\n",
            "status = run_program(parse_program_args(json.loads(sys.argv[1])))\n",
            *(line + "\n" for line in after),
            "sys.exit(status)\n",
        ]
    )


DRIVER = driver()


def run_with_agmem(
    words: list[str], cwd: Path = PROGRAMS, driver: str = DRIVER, stderr: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    """Run ``words`` through run_program in a fresh interpreter (its stdin /dev/null)."""
    return subprocess.run(
        [sys.executable, "-c", driver, json.dumps(words)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def run_with_python(words: list[str], cwd: Path = PROGRAMS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *words],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def fixture_report(stdout: str) -> dict[str, object]:
    """The ``agmem-fixture:`` line a fixture prints: argv, __name__, sys.path[0], cwd..."""
    lines = [line for line in stdout.splitlines() if line.startswith(REPORT_PREFIX)]
    assert len(lines) == 1, stdout
    return json.loads(lines[0][len(REPORT_PREFIX) :])


# --- parsing --------------------------------------------------------------------------------


def test_a_script_and_its_arguments():
    spec = parse_program_args(["path/to/train.py", "--lr", "0.1", "--", "-x"])
    assert spec == ProgramSpec(script="path/to/train.py", args=("--lr", "0.1", "--", "-x"))
    assert spec.words == ("path/to/train.py", "--lr", "0.1", "--", "-x")
    assert spec.name == "path/to/train.py"


@pytest.mark.parametrize("words", [["-m", "pkg.mod", "x", "-m"], ["-mpkg.mod", "x", "-m"]])
def test_a_module_and_its_arguments(words):
    spec = parse_program_args(words)
    assert spec == ProgramSpec(module="pkg.mod", args=("x", "-m"))
    assert spec.words == ("-m", "pkg.mod", "x", "-m")
    assert spec.name == "-m pkg.mod"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "no program given"),
        (["-m"], "-m needs a module name"),
        (["-m", ".rel"], "relative module names are not supported"),
        (["-m", "pkg..mod"], "is not a module name"),
        (["-m", "1pkg"], "is not a module name"),
        (["-m", "pkg.mod-x"], "is not a module name"),
        (["-x", "train.py"], "'-x' is not a program"),
        ([""], "'' is not a program"),
    ],
)
def test_malformed_programs_are_refused_in_one_line(words, message):
    with pytest.raises(UsageError) as caught:
        parse_program_args(words)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_variant_is_split_as_a_shell_would():
    spec = parse_program("train.py --name 'run 2' --note \"a b\" c\\ d")
    assert spec == ProgramSpec(script="train.py", args=("--name", "run 2", "--note", "a b", "c d"))
    assert parse_program("-m pkg.train --fix") == ProgramSpec(module="pkg.train", args=("--fix",))


def test_an_unbalanced_quote_is_a_usage_error():
    with pytest.raises(UsageError) as caught:
        parse_program("train.py --name 'run")
    assert caught.value.message == (
        'cannot split "train.py --name \'run" into words: No closing quotation'
    )


_MODULE = r"[A-Za-z_][A-Za-z0-9_]{0,5}(\.[A-Za-z_][A-Za-z0-9_]{0,5}){0,2}"
_words = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(
    target=st.from_regex(r"[A-Za-z_][A-Za-z0-9_ ./]*\.py", fullmatch=True),
    module=st.from_regex(_MODULE, fullmatch=True),
    as_module=st.booleans(),
    args=st.lists(_words, max_size=4),
)
def test_words_and_command_round_trip(target, module, as_module, args):
    spec = (
        ProgramSpec(module=module, args=args)
        if as_module
        else ProgramSpec(script=target, args=args)
    )
    # words is the plain form (JSON); command is what a person types again
    assert parse_program_args(list(spec.words)) == spec
    assert parse_program(spec.command) == spec


@pytest.mark.parametrize("fields", [{}, {"script": "a.py", "module": "a"}])
def test_a_spec_is_a_script_or_a_module(fields):
    with pytest.raises(ValueError, match="exactly one of script and module"):
        ProgramSpec(**fields)


# --- telling programs, workloads and saved results apart -----------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("before.json", ArgumentKind.SAVED_RESULT),
        ("runs/A.JSON", ArgumentKind.SAVED_RESULT),
        ("seed", ArgumentKind.WORKLOAD),
        ("mlp", ArgumentKind.WORKLOAD),
        ("pkg.mod:step", ArgumentKind.WORKLOAD),
        ("work:step", ArgumentKind.WORKLOAD),
        ("dir/work.py:step", ArgumentKind.WORKLOAD),
        ("train.py", ArgumentKind.PROGRAM),
        ("train.py --fix", ArgumentKind.PROGRAM),
        ("train.py --resume ckpt:3 --out a.json", ArgumentKind.PROGRAM),
        ("./train", ArgumentKind.PROGRAM),
        ("bin/train --fix", ArgumentKind.PROGRAM),
        ("odd:dir/train.py", ArgumentKind.PROGRAM),
        ("-m pkg.train --fix", ArgumentKind.PROGRAM),
        ("-mpkg.train", ArgumentKind.PROGRAM),
    ],
)
def test_each_argument_is_told_by_its_first_word(text, kind, tmp_path):
    assert classify_argument(text, cwd=str(tmp_path)) is kind


def test_an_existing_file_without_extension_is_a_program(tmp_path):
    (tmp_path / "fit").write_text("print('hi')\n")
    assert classify_argument("fit --fix", cwd=str(tmp_path)) is ArgumentKind.PROGRAM


def test_a_builtin_name_wins_over_a_file_of_that_name(tmp_path):
    (tmp_path / "seed").write_text("print('hi')\n")
    assert classify_argument("seed", cwd=str(tmp_path)) is ArgumentKind.WORKLOAD
    assert classify_argument("./seed", cwd=str(tmp_path)) is ArgumentKind.PROGRAM


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("strong", "'strong' is neither a program"),
        ("", "empty argument"),
        ("seed --size 3", "a workload takes no arguments"),
        ("pkg.mod:step x", "a workload takes no arguments"),
        ("a.json b.json", "a saved result takes no arguments"),
        ("train.py 'open", "cannot split"),
    ],
)
def test_arguments_that_name_nothing_are_refused(text, message, tmp_path):
    with pytest.raises(UsageError) as caught:
        classify_argument(text, cwd=str(tmp_path))
    assert message in caught.value.message


# --- checking without running ----------------------------------------------------------------


def test_an_existing_script_passes_its_check():
    spec = parse_program_args(["leaky_script.py", "--fix"])
    assert check_program(spec, cwd=str(PROGRAMS)) is spec


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: None, "program not found: prog.py"),
        (lambda d: (d / "prog.py").mkdir(), "program prog.py is a directory, not a script"),
        (lambda d: os.mkfifo(d / "prog.py"), "program prog.py is not a regular file"),
        (
            lambda d: (d / "prog.py").write_text("x = 1\nif x\n    pass\n"),
            "cannot parse program prog.py: expected ':' (line 2)",
        ),
        (lambda d: (d / "prog.py").write_bytes(b"x = 1\x00\n"), "cannot parse program prog.py"),
    ],
)
def test_a_script_that_cannot_run_is_refused_in_one_line(make, message, tmp_path):
    make(tmp_path)
    with pytest.raises(WorkloadError) as caught:
        check_program(ProgramSpec(script="prog.py"), cwd=str(tmp_path))
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message


def test_a_directory_with_a_main_gets_a_hint(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__main__.py").write_text("print('hi')\n")
    with pytest.raises(WorkloadError, match=r"is a directory, not a script \(it has a __main__"):
        check_program(ProgramSpec(script="app"), cwd=str(tmp_path))


def test_a_file_under_a_file_is_not_found(tmp_path):
    (tmp_path / "data").write_text("")
    with pytest.raises(WorkloadError, match=r"program not found: data/prog\.py"):
        check_program(ProgramSpec(script="data/prog.py"), cwd=str(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_script_is_refused(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text("print('hi')\n")
    script.chmod(0)
    with pytest.raises(WorkloadError, match=r"cannot read program prog\.py: Permission denied"):
        check_program(ProgramSpec(script="prog.py"), cwd=str(tmp_path))


def test_a_non_python_file_is_left_to_python(tmp_path):
    (tmp_path / "prog").write_bytes(b"\x00\x01 not source")
    check_program(ProgramSpec(script="prog"), cwd=str(tmp_path))


@pytest.mark.parametrize("module", ["leakpkg", "leakpkg.run", "leakpkg.__main__", "json.tool"])
def test_runnable_modules_pass_their_check(module):
    check_program(ProgramSpec(module=module), cwd=str(PROGRAMS))


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("leakpkg.nope", "cannot find module 'leakpkg.nope' for -m"),
        ("no_such_agmem_module", "cannot find module 'no_such_agmem_module' for -m"),
        ("leakpkg.run.deeper", "cannot find module 'leakpkg.run.deeper' for -m"),
        ("json", "-m json: 'json' is a package without a __main__ module"),
    ],
)
def test_modules_python_could_not_run_are_refused(module, message):
    with pytest.raises(WorkloadError) as caught:
        check_program(ProgramSpec(module=module), cwd=str(PROGRAMS))
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message


def test_checking_a_module_imports_none_of_its_packages(tmp_path):
    # given a package whose __init__ leaves a mark and fails when imported
    package = tmp_path / "sideeffects"
    (package / "sub").mkdir(parents=True)
    marker = tmp_path / "imported"
    (package / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nraise RuntimeError('imported')\n"
    )
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "__main__.py").write_text("print('hi')\n")
    (package / "sub" / "tool.py").write_text("print('hi')\n")
    # when its subpackage and a module in it are checked
    check_program(ProgramSpec(module="sideeffects.sub"), cwd=str(tmp_path))
    check_program(ProgramSpec(module="sideeffects.sub.tool"), cwd=str(tmp_path))
    with pytest.raises(WorkloadError, match="'sideeffects' is a package without a __main__"):
        check_program(ProgramSpec(module="sideeffects"), cwd=str(tmp_path))
    # then nothing of it ran
    assert not marker.exists()
    assert "sideeffects" not in sys.modules


# --- running: as python runs it -----------------------------------------------------------


def test_a_script_sees_what_it_sees_under_python():
    # given a script with arguments, run from another directory by a relative path
    cwd = PROGRAMS.parent
    words = ["programs/leaky_script.py", "--n", "5", "--fix"]
    # when agmem runs it, and python does
    ours, pythons = run_with_agmem(words, cwd=cwd), run_with_python(words, cwd=cwd)
    # then it ends, prints and sees the same, but for argv[0] (absolute: see program.py)
    assert ours.returncode == pythons.returncode == 0, ours.stderr
    seen, expected = fixture_report(ours.stdout), fixture_report(pythons.stdout)
    assert seen["argv"] == [str(PROGRAMS / "leaky_script.py"), "--n", "5", "--fix"]
    assert expected["argv"] == words
    for key in ("name", "path0", "cwd", "main_file", "main_spec", "fix", "n"):
        assert seen[key] == expected[key], key
    assert seen["name"] == "__main__"
    assert seen["path0"] == str(PROGRAMS)
    assert seen["cwd"] == str(cwd)
    assert ours.stdout.splitlines()[1:] == pythons.stdout.splitlines()[1:]
    assert "made 320 KiB in 5 steps, fix=True" in ours.stdout


@pytest.mark.parametrize(
    "words", [["-m", "leakpkg", "--n", "3"], ["-m", "leakpkg.run", "--n", "3"]]
)
def test_a_module_sees_exactly_what_it_sees_under_python_m(words):
    ours, pythons = run_with_agmem(words), run_with_python(words)
    assert ours.returncode == pythons.returncode == 0, ours.stderr
    assert fixture_report(ours.stdout) == fixture_report(pythons.stdout)
    assert fixture_report(ours.stdout)["name"] == "__main__"
    assert ours.stdout == pythons.stdout


@pytest.mark.parametrize(
    "ending",
    [
        ["normal"],
        ["exit-none"],
        ["exit-int", "7"],
        ["exit-int", "0"],
        ["exit-int", "256"],
        ["exit-int", "-1"],
        ["exit-text", "cannot go on: bad input"],
        ["raise"],
        ["chained"],
    ],
)
def test_a_program_exits_and_reports_as_under_python(ending):
    # given a program ending normally, by sys.exit(...) or by an uncaught exception
    words = ["ends.py", *ending]
    # when agmem runs it, and python does
    ours = run_with_agmem(words, driver=driver("print('status', status)"))
    pythons = run_with_python(words)
    # then the status and stderr are python's: the traceback starts at the program's frame
    assert ours.stdout.splitlines()[-1] == f"status {pythons.returncode}"
    assert ours.returncode == pythons.returncode
    assert ours.stderr == pythons.stderr
    assert "program.py" not in ours.stderr and "runpy" not in ours.stderr


def test_exit_statuses_are_the_programs_own():
    assert run_with_agmem(["ends.py", "exit-int", "7"]).returncode == 7
    assert run_with_agmem(["ends.py", "exit-text", "no"]).returncode == 1
    assert run_with_agmem(["ends.py", "raise"]).returncode == 1
    assert run_with_agmem(["ends.py", "normal"]).returncode == 0


def test_exit3_gives_status_3_and_its_stderr():
    done = run_with_agmem(["exit3.py"])
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "exit3: loading the data",
        "exit3: the data is corrupt",
        "exit3: giving up",
    ]
    assert done.stdout == "exit3: this program writes to stdout first\n"


def test_a_syntax_error_reads_as_under_python(tmp_path):
    (tmp_path / "bad.py").write_text("x = 1\nif x\n    pass\n")
    ours, pythons = (
        run_with_agmem(["bad.py"], cwd=tmp_path),
        run_with_python(["bad.py"], cwd=tmp_path),
    )
    assert ours.returncode == pythons.returncode == 1
    assert ours.stderr == pythons.stderr
    assert "SyntaxError" in ours.stderr


@pytest.mark.parametrize("ending", ["normal", "exit-none", "exit-text", "raise", "chained"])
def test_nothing_of_the_program_is_kept_after_it_ends(ending):
    # given a program that holds a buffer in a global and one in a local when it ends
    then_look = driver(
        "import gc; gc.collect()",
        "print('alive', [ref() is not None for ref in sys.agmem_fixture_held])",
    )
    # when agmem has run it and the collector has run once
    done = run_with_agmem(["ends.py", ending, "x"], driver=then_look)
    # then neither buffer is alive: agmem kept neither the globals nor the frames
    assert done.stdout.splitlines()[-1] == "alive [False, False]", done.stdout + done.stderr


def test_the_window_opens_before_the_program_and_closes_after_its_threads():
    # given a window that says when it opens and closes, and what it was closed with
    windowed = textwrap.dedent(
        """
        import json, sys
        from autograd_mem.targets.program import parse_program_args, run_program

        class Window:
            def __enter__(self):
                print("window opened", flush=True)
            def __exit__(self, *exc_info):
                print("window closed", exc_info, flush=True)

        sys.exit(run_program(parse_program_args(json.loads(sys.argv[1])), Window()))
        """
    )
    # when a program that leaves a working thread behind runs in it
    threads = run_with_agmem(["threads.py"], driver=windowed)
    # then the window closes after the thread finished, as python waits for it
    assert threads.stdout.splitlines() == [
        "window opened",
        "threads.py: main code returned",
        "threads.py: the thread finished",
        "window closed (None, None, None)",
    ]
    # and a program that raises closes the window cleanly, its traceback printed after
    raises = run_with_agmem(["ends.py", "raise"], driver=windowed, stderr=subprocess.STDOUT)
    lines = [line for line in raises.stdout.splitlines() if not line.startswith(REPORT_PREFIX)]
    assert lines[:3] == [
        "window opened",
        "window closed (None, None, None)",
        "Traceback (most recent call last):",
    ]
    assert raises.returncode == 1


@pytest.mark.parametrize(("keep_stdin", "seen"), [(False, "got ''"), (True, "got 'typed text'")])
def test_stdin_is_closed_unless_kept(keep_stdin, seen):
    # given agmem's own stdin carrying text, and a child started as the runner starts it
    parent = (
        "import subprocess, sys\n"
        "from autograd_mem.targets.program import child_stdin\n"
        f"child = [sys.executable, '-c', {DRIVER!r}, '[\"reads_stdin.py\"]']\n"
        f"sys.exit(subprocess.call(child, stdin=child_stdin({keep_stdin})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", parent],
        cwd=PROGRAMS,
        input="typed text",
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then the program reads nothing, unless --stdin kept it
    assert done.returncode == 0, done.stderr
    assert done.stdout == seen + "\n"


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_worker_processes_start_from_a_program_run_here(start_method):
    # spawn re-imports the main module by its __file__ in each worker: it must be found
    words = ["workers.py", "--mib", "1", "--hold", "0.1", "--start-method", start_method]
    done = run_with_agmem(words)
    assert done.returncode == 0, done.stderr
    assert "workers done, exit codes [0, 0]" in done.stdout


def test_argv_and_path_are_restored_after_the_program(tmp_path):
    # given a program that changes sys.path and sys.argv
    (tmp_path / "meddles.py").write_text(
        "import sys\nsys.path.insert(0, '/meddled')\nsys.argv.append('meddled')\n"
    )
    argv, path = list(sys.argv), list(sys.path)
    # when it runs in this process
    status = run_program(ProgramSpec(script=str(tmp_path / "meddles.py")))
    # then this process's argv and path are as they were
    assert status == 0
    assert sys.argv == argv
    assert sys.path == path


def test_ctrl_c_is_not_swallowed(tmp_path):
    (tmp_path / "interrupted.py").write_text("raise KeyboardInterrupt\n")
    argv = list(sys.argv)
    with pytest.raises(KeyboardInterrupt):
        run_program(ProgramSpec(script=str(tmp_path / "interrupted.py")))
    assert sys.argv == argv


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmHWM")
def test_the_training_pair_differs_in_peak_memory():
    # The pair agmem compare is shown with: same loss, one line apart, far apart in memory.
    peaks = {}
    for name in ("train_leaky.py", "train_fixed.py"):
        # VmHWM, not ru_maxrss: ru_maxrss keeps the forking parent's peak across exec.
        then_peak = driver(
            "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM')]",
            "print('peak', peak[0].split()[1])",
        )
        done = run_with_agmem([name, "--steps", "60", "--samples", "4000"], driver=then_peak)
        assert done.returncode == 0, done.stderr
        peaks[name] = int(done.stdout.splitlines()[-1].split()[1]) * 1024
        loss_line = done.stdout.splitlines()[0]
        assert "final loss" in loss_line
    assert peaks["train_leaky.py"] - peaks["train_fixed.py"] >= 10 * 2**20, peaks


@pytest.mark.parametrize(
    ("source", "suggested"),
    [
        ("import numpy as np\nblocks = []\ndef helper(a, b):\n    pass\n"
         "def step(i):\n    blocks.append(i)\n", "step"),
        ('"""A workload."""\ndef work(i):\n    return i\n', "work"),
        # code at the top level: the script runs something, whatever it defines
        ("def step(i):\n    pass\nstep(0)\n", None),
        ("def step(i):\n    pass\nif __name__ == '__main__':\n    step(0)\n", None),
        ("def step(i):\n    pass\nfor i in range(3):\n    step(i)\n", None),
        # nothing that could be a workload: no suggestion
        ("def helper(a, b):\n    pass\n", None),
        ("def broken(:\n", None),
    ],
)
def test_a_script_that_only_defines_a_workload_is_told_apart(tmp_path, source, suggested):
    script = tmp_path / "work.py"
    script.write_text(source)

    assert unused_workload(ProgramSpec(script=str(script))) == suggested


def test_a_module_is_never_said_to_run_nothing():
    assert unused_workload(ProgramSpec(module="json.tool")) is None
