"""Hostile baseline files, through the console script: each is one line and exit 2, never a hang.

A baseline may come from anyone (a pull request), so ``agmem check`` reads it as
untrusted input: bounded in size, only from a regular file, every figure checked,
and the workload it names run only if it lies in the current directory tree.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from reporters.factory import make_measurement

from autograd_mem.schema import baseline as baseline_file
from autograd_mem.schema.config import RunConfig

AGMEM = Path(sys.executable).with_name("agmem")
# Small enough that the runs which are allowed to start take a second or two.
SMALL = RunConfig(iterations=20, size=100)


def agmem(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [str(AGMEM)] if AGMEM.exists() else [sys.executable, "-m", "autograd_mem"]
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )


def refused(process: subprocess.CompletedProcess, message: str) -> None:
    """Exit 2, one line on stderr naming the problem, nothing on stdout, no traceback."""
    assert process.returncode == 2, process.stderr
    assert process.stdout == ""
    assert "Traceback" not in process.stderr
    lines = process.stderr.splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("agmem: error: ")
    assert message in lines[0], lines[0]


def document(**config: object) -> dict:
    """A valid baseline document of a small seed run, to be made hostile."""
    measurement = make_measurement("weak")
    measurement = type(measurement)(
        config=RunConfig(**{**SMALL.__dict__, **config}),
        environment=measurement.environment,
        runs=measurement.runs,
    )
    return baseline_file.to_dict(baseline_file.from_measurement(measurement))


def write(path: Path, data: object) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


# --- files that would crash or exhaust a parser --------------------------------------------


def test_nesting_100000_deep_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    refused(agmem("check", "--baseline", str(path), cwd=tmp_path), "nested too deeply")


def test_an_integer_of_5000_digits_is_refused(tmp_path: Path) -> None:
    text = json.dumps(document()).replace('"gc_collected": 0', '"gc_collected": ' + "9" * 5000)
    path = write(tmp_path / "digits.json", text)
    refused(agmem("check", "--baseline", str(path), cwd=tmp_path), "too long")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("peak_rss_bytes", "metrics.peak_rss_bytes must be at most 9,223,372,036,854,775,807"),
        ("wall_seconds", "metrics.wall_seconds must be a finite number"),
    ],
)
def test_a_metric_of_10_to_the_400_is_refused(tmp_path: Path, key: str, message: str) -> None:
    data = document()
    data["metrics"][key] = 10**400
    path = write(tmp_path / "huge.json", data)
    refused(agmem("check", "--baseline", str(path), cwd=tmp_path), message)


def _device(path: Path, minor: int) -> Path:
    """A private copy of /dev/zero (1, 5) or /dev/urandom (1, 9), never the real /dev."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o444, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("mknod needs CAP_MKNOD")
    return path


@pytest.mark.parametrize("minor", [5, 9], ids=["zero", "urandom"])
def test_a_symlink_to_an_endless_device_is_refused(tmp_path: Path, minor: int) -> None:
    link = tmp_path / "base.json"
    link.symlink_to(_device(tmp_path / "device", minor))
    refused(agmem("check", "--baseline", str(link), cwd=tmp_path), "not a regular file")


def test_a_fifo_does_not_block_check(tmp_path: Path) -> None:
    # given a named pipe nobody writes to: reading it would wait forever
    fifo = tmp_path / "base.json"
    os.mkfifo(fifo)
    # then check refuses it at once (the timeout of agmem() would fail the test otherwise)
    refused(agmem("check", "--baseline", str(fifo), cwd=tmp_path), "not a regular file")


def test_a_file_far_larger_than_any_baseline_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "big.json", "[" + "0," * (baseline_file.MAX_BASELINE_BYTES) + "0]")
    refused(agmem("check", "--baseline", str(path), cwd=tmp_path), "too large")


# --- documents that parse but that no run can have produced --------------------------------


def _edited(section: str, key: str, value: object) -> dict:
    data = document()
    if section:
        data[section][key] = value
    else:
        data[key] = value
    return data


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("metrics", "live_variables_end", -4, "live_variables_end must be a count of 0 or more"),
        ("metrics_max", "gc_collected", 2.5, "gc_collected must be a count of 0 or more"),
        ("metrics", "gc_collections", [10, 0], "gc_collections must have one count per generation"),
        ("metrics_min", "gc_uncollectable_per_generation", [0, 0, 0, 0],
         "one count per generation"),
        ("", "schema_version", True, "schema_version True is not supported"),
        ("", "runs", 1.5, "'runs' must be a positive integer"),
        ("environment", "python_version", 3.11, "python_version must be a string, got 3.11"),
        ("environment", "gc_threshold", ["700", 10, 10], "gc_threshold[0] must be a count"),
        ("environment", "gc_layout", "magic", "unknown collector layout 'magic'"),
        ("config", "backward", 1, "config.backward must be true or false, got 1"),
        ("config", "no_grad", True, "backward needs a recorded graph"),
    ],
)
def test_figures_no_run_can_produce_are_refused(
    tmp_path: Path, section: str, key: str, value: object, message: str
) -> None:
    data = _edited(section, key, value)
    if key == "no_grad":
        data["config"]["backward"] = True
    path = write(tmp_path / "edited.json", data)
    refused(agmem("check", "--baseline", str(path), cwd=tmp_path), message)


# --- a baseline must not run code the user did not name ------------------------------------

EVIL = """\
from pathlib import Path
Path({marker!r}).write_text("imported")

def step(i):
    pass
"""


def _evil_module(folder: Path, name: str, marker: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / name
    source.write_text(EVIL.format(marker=str(marker)))
    return source


def test_a_workload_file_outside_the_current_directory_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = _evil_module(tmp_path / "elsewhere", "evil.py", marker)
    here = tmp_path / "project"
    here.mkdir()
    path = write(here / "base.json", document(workload=f"{evil}:step"))

    process = agmem("check", "--baseline", str(path), cwd=here)

    refused(process, "lies outside the current directory")
    assert "--workload" in process.stderr
    assert not marker.exists()


def test_naming_the_workload_on_the_command_line_allows_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = _evil_module(tmp_path / "elsewhere", "evil.py", marker)
    here = tmp_path / "project"
    here.mkdir()
    path = write(here / "base.json", document(workload=f"{evil}:step"))

    process = agmem("check", "--baseline", str(path), "--workload", f"{evil}:step", cwd=here)

    # the run happened (a regression or not: the hand-made figures are not this machine's)
    assert process.returncode in (0, 1), process.stderr
    assert marker.exists()


def test_a_module_importable_only_from_elsewhere_is_not_imported(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    elsewhere = tmp_path / "site"
    _evil_module(elsewhere, "evil_mod.py", marker)
    here = tmp_path / "project"
    here.mkdir()
    path = write(here / "base.json", document(workload="evil_mod:step"))

    process = agmem("check", "--baseline", str(path), cwd=here, env={"PYTHONPATH": str(elsewhere)})

    refused(process, "module 'evil_mod' is not importable from the current directory")
    assert not marker.exists()


def test_a_standard_library_function_is_not_run(tmp_path: Path) -> None:
    path = write(tmp_path / "base.json", document(workload="os:system"))
    refused(agmem("check", "--baseline", str(path), cwd=tmp_path), "module 'os' is not importable")


@pytest.mark.parametrize(
    ("workload", "message"),
    [("pkg.missing:step", "cannot find module 'pkg.missing'"),
     ("pkg.mod:nothing", "module 'pkg.mod' has no function 'nothing'")],
)
def test_validating_a_module_imports_nothing(tmp_path: Path, workload: str, message: str) -> None:
    # given a package in the current directory whose import has a side effect
    marker = tmp_path / "imported"
    _evil_module(tmp_path / "pkg", "__init__.py", marker)
    _evil_module(tmp_path / "pkg", "mod.py", marker)
    path = write(tmp_path / "base.json", document(workload=workload))
    # when a baseline names something in it that is refused
    process = agmem("check", "--baseline", str(path), cwd=tmp_path)
    # then the refusal came without importing the package or the module
    refused(process, message)
    assert not marker.exists()


def test_the_check_says_which_workload_it_runs_before_running_it(tmp_path: Path) -> None:
    (tmp_path / "loop.py").write_text("def step(i):\n    pass\n")
    path = write(tmp_path / "base.json", document(workload="loop.py:step"))

    process = agmem("check", "--baseline", str(path), cwd=tmp_path)

    assert process.returncode in (0, 1), process.stderr
    first = process.stderr.splitlines()[0]
    assert first == f"agmem: checking workload loop.py:step, named by baseline {path}"


def test_a_relative_workload_path_checked_from_another_folder_says_why(tmp_path: Path) -> None:
    # given a baseline saved beside its workload, with the workload's path relative
    saved_in = tmp_path / "repo"
    saved_in.mkdir()
    (saved_in / "loop.py").write_text("def step(i):\n    pass\n")
    path = write(saved_in / "base.json", document(workload="loop.py:step"))
    # when it is checked from another folder
    elsewhere = tmp_path / "ci"
    elsewhere.mkdir()
    process = agmem("check", "--baseline", str(path), cwd=elsewhere)
    # then the one line says the path is read from here, and what to do
    refused(process, "workload file not found: loop.py")
    assert f"relative path is read from the current directory, {elsewhere}" in process.stderr
