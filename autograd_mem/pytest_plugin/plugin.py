"""The pytest plugin's hooks: a marked test fails over its budget; ``--agmem`` measures every test.

Registered through the ``pytest11`` entry point ``agmem``, so it loads into every pytest
session where agmem is installed. Loading it imports only ``marks`` (the standard
library and ``schema.units``) to register the marker; without ``--agmem`` and without a
marked test no hook does any work, and the probe, tracemalloc, the engine and the cycle
reader are imported by the first test that is measured.

A test's call is measured (like pytest-memray, not its fixtures) and judged by its
budgets: the session's (``--agmem-max-*``, ``agmem_max_*`` ini keys), each overridden by
the test's marker. With ``--agmem`` every test is measured and the session ends with
the tests that grew memory most and left most to the cyclic collector; ``--agmem-json
FILE`` writes every measured test's figures. Under pytest-xdist the workers measure and
the controller prints the one summary and writes the one file (``session``).
"""

from __future__ import annotations

import inspect
import os
import shlex
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from autograd_mem.pytest_plugin.marks import (
    BUDGETS,
    MARKER,
    UNMARKED,
    MarkerSettings,
    budgets_for,
    marker_line,
    read_budget,
    read_marker,
)

if TYPE_CHECKING:
    from autograd_mem.pytest_plugin.probe import BodyProbe
    from autograd_mem.pytest_plugin.session import Recording

_RECORDING = pytest.StashKey["Recording"]()
_BUDGETS = pytest.StashKey[dict[str, int]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agmem", "agmem: memory of each test's call")
    group.addoption(
        "--agmem", action="store_true",
        help="Measure every test's call (tracemalloc peak growth, objects and cycles left to "
        "the cyclic collector) and list the tests that used most at the end.",
    )
    group.addoption(
        "--agmem-full", action="store_true",
        help="Collect the whole heap before and after every test instead of the young "
        "generations (slower: a full collection walks every object of the session).",
    )
    group.addoption(
        "--agmem-top", type=int, default=5, metavar="N",
        help="How many tests the --agmem summary lists per figure (default 5).",
    )
    group.addoption(
        "--agmem-json", metavar="FILE",
        help="Write every measured test's figures to FILE as JSON (every test with --agmem, "
        "the marked ones without).",
    )
    group.addoption(
        "--agmem-html", metavar="FILE",
        help="Write a page of every measured test to FILE: one self-contained HTML file, "
        "a table to sort and filter whose rows open each test's cycles.",
    )
    for budget in BUDGETS:
        group.addoption(
            budget.option, metavar="LIMIT", default=None,
            help=f"Fail every measured test over this budget ({budget.help}); turns on "
            f"--agmem. A marker's {budget.name} overrides it. Ini key: {budget.ini}.",
        )
        parser.addini(budget.ini, f"{budget.option} for every measured test", default="")


def _session_budgets(config: pytest.Config) -> tuple[dict[str, int], bool]:
    """The session's budgets (ini keys, then options over them) and whether an option set one."""
    budgets: dict[str, int] = {}
    from_options = False
    for budget in BUDGETS:
        option = config.getoption(f"agmem_{budget.name}")
        for source, value in ((budget.ini, config.getini(budget.ini)), (budget.option, option)):
            if value in (None, ""):
                continue
            try:
                budgets[budget.name] = read_budget(budget.name, value)
            except ValueError as exc:
                raise pytest.UsageError(f"agmem: {source}: {exc}") from None
        from_options = from_options or option is not None
    return budgets, from_options


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", marker_line())
    budgets, from_options = _session_budgets(config)
    config.stash[_BUDGETS] = budgets
    every_test = bool(config.getoption("agmem")) or from_options
    json_path, html_path = config.getoption("agmem_json"), config.getoption("agmem_html")
    top = config.getoption("agmem_top")
    if top < 1:
        raise pytest.UsageError(f"--agmem-top must be 1 or more, got {top}")
    for option, path in (("--agmem-json", json_path), ("--agmem-html", html_path)):
        folder = os.path.dirname(os.path.abspath(path)) if path is not None else None
        if folder is not None and not os.path.isdir(folder):
            raise pytest.UsageError(f"{option} {path}: no such directory {folder}")
    if json_path is not None and html_path is not None and (
            os.path.abspath(json_path) == os.path.abspath(html_path)):
        raise pytest.UsageError(f"--agmem-json and --agmem-html name the same file {json_path}")
    if every_test or json_path is not None or html_path is not None:
        from autograd_mem.pytest_plugin.session import Recording

        config.stash[_RECORDING] = Recording(
            every_test, bool(config.getoption("agmem_full")), budgets, top, json_path,
            str(config.invocation_params.dir), html_path,
        )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")  # a pytest-xdist worker


def pytest_collection_finish(session: pytest.Session) -> None:
    recording = session.config.stash.get(_RECORDING, None)
    if recording is not None:
        recording.order = {item.nodeid: index for index, item in enumerate(session.items)}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller: a worker finished; its records join the session's."""
    recording = node.config.stash.get(_RECORDING, None)
    output = getattr(node, "workeroutput", None)
    if recording is not None and output is not None:
        from autograd_mem.pytest_plugin.session import WORKER_KEY

        recording.merge(str(output.get("workerid", "a worker")), output.get(WORKER_KEY))


def pytest_sessionfinish(session: pytest.Session) -> None:
    recording = session.config.stash.get(_RECORDING, None)
    if recording is None:
        return
    if _is_worker(session.config):
        from autograd_mem.pytest_plugin.session import WORKER_KEY

        session.config.workeroutput[WORKER_KEY] = recording.worker_output()  # type: ignore[attr-defined]
        return
    for path, render in ((recording.json_path, _json_text), (recording.html_path, _page_text)):
        if path is None:
            continue
        from autograd_mem.schema.files import write_atomic

        try:
            write_atomic(path, render(recording, session.config))
        except OSError as exc:
            recording.problems.append(f"agmem: error: cannot write {path}: {exc}")
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def _json_text(recording: Recording, config: pytest.Config) -> str:
    from autograd_mem.schema.codec import dumps
    from autograd_mem.schema.pytest_session import to_dict

    return dumps(to_dict(recording.document()))


def _page_text(recording: Recording, config: pytest.Config) -> str:
    """The page, from the very document ``--agmem-json`` writes (read back by its reader)."""
    from autograd_mem.reporters.page import render_data
    from autograd_mem.reporters.page_data import pytest_view
    from autograd_mem.schema.pytest_session import to_dict

    command = shlex.join(["pytest", *config.invocation_params.args])
    header = [f"rootdir: {recording.root}"]
    return render_data(pytest_view(to_dict(recording.document()), header), command)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recording = config.stash.get(_RECORDING, None)
    if recording is None or _is_worker(config):
        return
    if recording.every_test:
        from autograd_mem.pytest_plugin.summary import summary_lines

        terminalreporter.write_sep("=", "agmem: memory per test")
        for line in summary_lines(
            recording.document(), recording.top, recording.root, recording.budgets
        ):
            terminalreporter.write_line(line)
    for problem in recording.problems:
        terminalreporter.write_line(problem, red=True)
    if recording.json_path is not None and not recording.problems:
        terminalreporter.write_line(
            f"agmem: figures of {len(recording.tests)} test(s) written to {recording.json_path}"
        )
    if recording.html_path is not None and not recording.problems:
        terminalreporter.write_line(
            f"agmem: page of {len(recording.tests)} test(s) written to {recording.html_path}"
        )


def _plan(item: pytest.Item) -> tuple[MarkerSettings, bool, Recording | None] | None:
    """How to measure the test: its marker's settings (or UNMARKED), whether it is marked,
    and the session's recording; ``None``: the test is not measured."""
    marker = item.get_closest_marker(MARKER)
    recording = item.config.stash.get(_RECORDING, None)
    if marker is None:
        if recording is None or not recording.every_test:
            return None
        return UNMARKED, False, recording
    try:
        settings = read_marker(marker.args, marker.kwargs)
    except ValueError as exc:
        message = str(exc)
    else:
        return settings, True, recording
    # Failed outside the except block, so the report shows the one line, not a chain.
    pytest.fail(message, pytrace=False)


def _verdict(
    item: pytest.Item, settings: MarkerSettings, marked: bool, recording: Recording | None,
    probe: BodyProbe,
) -> str | None:
    """Record the test's figures and judge them by its budgets: the failure's text, or None."""
    from autograd_mem.pytest_plugin.marks import judge
    from autograd_mem.schema.pytest_session import MeasuredTest

    figures = probe.result
    if figures is None:
        return None
    budgets = budgets_for(item.config.stash[_BUDGETS], settings)
    exceeded = [] if figures.body_raised else judge(budgets, figures, settings.include_library)
    if recording is not None:
        recording.add(MeasuredTest(
            item.nodeid, marked, settings.mode, figures, tuple(v.budget for v in exceeded)
        ))
    if not exceeded:
        return None
    from autograd_mem.pytest_plugin.summary import failure_text

    root = str(item.config.invocation_params.dir)
    return failure_text(item.name, exceeded, figures, settings.mode, root,
                        settings.include_library)


def _measuring(item: pytest.Item, settings: MarkerSettings) -> Any:
    from autograd_mem.pytest_plugin.running import measured

    budgets = budgets_for(item.config.stash[_BUDGETS], settings)
    recording = item.config.stash.get(_RECORDING, None)
    full = recording is not None and recording.full
    return measured(settings, read_all_cycles="max_cycles" in budgets, full=full,
                    retained_limit=budgets.get("max_retained"))


# The plugin is loaded into every pytest session where agmem is installed, so it must
# not break an older pytest: new-style hook wrappers need pluggy >= 1.1 (pytest 8 has
# them; pytest 7.4 may run with an older pluggy), where an old-style hookwrapper works.
if "wrapper" in inspect.signature(pytest.hookimpl.__call__).parameters:

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
        plan = _plan(item)
        if plan is None:
            return (yield)
        from autograd_mem.pytest_plugin.running import BodyTimedOut, NotOnMainThread

        settings, marked, recording = plan
        probe = None
        try:
            with _measuring(item, settings) as probe:
                result = yield
        except (BodyTimedOut, NotOnMainThread) as exc:
            message = f"agmem: {item.name} {exc}"
        else:
            message = None
        finally:
            # Recorded whether the body passed or raised: its figures are its own either way.
            failure = _verdict(item, settings, marked, recording, probe) if probe else None
        if message is None and failure is None:
            return result
        # Failed outside the except block, so the report shows the one line, not a chain.
        pytest.fail(message or failure, pytrace=False)

else:  # pragma: no cover - exercised with pluggy < 1.1 only

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
        plan = _plan(item)
        if plan is None:
            yield
            return
        from autograd_mem.pytest_plugin.running import BodyTimedOut

        settings, marked, recording = plan
        with _measuring(item, settings) as probe:
            outcome = yield
        failure = _verdict(item, settings, marked, recording, probe)
        if outcome.excinfo is None and failure is not None:
            outcome.force_exception(pytest.fail.Exception(failure, pytrace=False))
        elif outcome.excinfo is not None and isinstance(outcome.excinfo[1], BodyTimedOut):
            outcome.force_exception(
                pytest.fail.Exception(f"agmem: {item.name} {outcome.excinfo[1]}", pytrace=False)
            )
