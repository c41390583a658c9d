"""How ``agmem run``, ``baseline save`` and ``check`` split their words: agmem's, then a program's.

The rule is ``python``'s: agmem's own options first; the program starts at ``--``, at a
word starting with ``-m``, or at the first positional word (after ``baseline save``'s
FILE), and every word after it is the program's, options included. Driven through the
CLI with the runner replaced (``fake_measure``): these tests check the configurations
agmem builds, not measurements.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A script ``train.py`` and a package ``pkg`` with a ``__main__``, in the working directory."""
    (tmp_path / "train.py").write_text("print('training')\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "__main__.py").write_text("print('pkg')\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "mode", "program"),
    [
        (["train.py", "--mode", "strong"], "weak", ("train.py", "--mode", "strong")),
        (["--mode", "strong", "train.py", "--epochs", "2"], "strong",
         ("train.py", "--epochs", "2")),
        (["--mode", "strong", "--", "train.py", "--", "x"], "strong", ("train.py", "--", "x")),
        (["-m", "pkg", "--mode", "strong"], "weak", ("-m", "pkg", "--mode", "strong")),
        (["--mode=strong", "-mpkg", "-q"], "strong", ("-m", "pkg", "-q")),
        (["-q", "--sample-interval", "0.02", "train.py"], "weak", ("train.py",)),
    ],
)
def test_the_program_starts_where_python_would_start_it(invoke, fake_measure, scripts, args,
                                                         mode, program):
    result = invoke("run", *args)

    assert result.exit_code == 0, result.stderr
    [config] = fake_measure.configs
    assert (config.mode, config.program) == (mode, program)


def test_run_without_a_program_measures_the_workload_as_before(invoke, fake_measure, scripts):
    result = invoke("run", "--mode", "strong", "--workload", "mlp")

    assert result.exit_code == 0, result.stderr
    [config] = fake_measure.configs
    assert (config.workload, config.mode, config.program) == ("mlp", "strong", None)


def test_stdin_is_kept_only_when_asked(invoke, fake_measure, scripts):
    invoke("run", "train.py")
    invoke("run", "--stdin", "train.py")

    assert [config.stdin for config in fake_measure.configs] == [False, True]


def test_baseline_save_takes_its_file_then_the_program(invoke, fake_measure, scripts):
    result = invoke("baseline", "save", "base.json", "--repeat", "1", "train.py", "--repeat", "9")

    assert result.exit_code == 0, result.stderr
    [config] = fake_measure.configs
    assert (config.repeat, config.program) == (1, ("train.py", "--repeat", "9"))
    assert (scripts / "base.json").exists()


def test_a_program_typed_for_check_replaces_the_baselines_workload(invoke, fake_measure,
                                                                    scripts):
    assert invoke("baseline", "save", "base.json", "--workload", "mlp").exit_code == 0

    result = invoke("check", "--baseline", "base.json", "-q", "train.py", "--fast")

    assert result.exit_code in (0, 1), result.stderr
    config = fake_measure.configs[-1]
    assert config.program == ("train.py", "--fast")


def test_a_workload_typed_for_check_replaces_the_baselines_program(invoke, fake_measure, scripts):
    assert invoke("baseline", "save", "base.json", "train.py").exit_code == 0

    result = invoke("check", "--baseline", "base.json", "-q", "--workload", "seed")

    assert result.exit_code in (0, 1), result.stderr
    assert fake_measure.configs[-1].program is None


def test_a_workload_option_beside_a_baselines_program_is_refused(invoke, fake_measure, scripts):
    assert invoke("baseline", "save", "base.json", "train.py").exit_code == 0

    result = invoke("check", "--baseline", "base.json", "--iterations", "5")

    assert result.exit_code == 2
    assert "--iterations sets a workload's run; the program train.py runs as it is" in (
        result.stderr
    )


def test_an_agmem_option_after_the_script_gets_a_hint(invoke, fake_measure, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys\n")

    result = invoke("run", str(script), "--iterations", "10", "--epochs", "2")

    assert result.exit_code == 0
    # the option went to the program, as python would give it; agmem says where it belongs
    assert fake_measure.configs[0].program == (str(script), "--iterations", "10", "--epochs", "2")
    assert f"--iterations after {script} went to the program" in result.stderr
    assert "--epochs" not in result.stderr.split("note:")[1].split("went")[0]


def test_after_dashes_the_programs_words_are_left_alone(invoke, fake_measure, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys\n")

    result = invoke("run", "--", str(script), "--iterations", "10")

    assert result.exit_code == 0
    assert "note:" not in result.stderr
