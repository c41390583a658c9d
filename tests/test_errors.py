"""One ExitCode definition: the README's table and every command's --help are made from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from autograd_mem.analysis.regression import GATES, gates_markdown
from autograd_mem.cli import cli
from autograd_mem.errors import (
    AgmemError,
    ExitCode,
    InterruptedRunError,
    RunFailedError,
    UsageError,
    exit_code_epilog,
    exit_code_table,
)

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_code_has_a_meaning_and_the_readme_table_is_made_from_them() -> None:
    assert all(code.meaning for code in ExitCode)
    assert exit_code_table() in README


def test_errors_carry_their_codes() -> None:
    assert AgmemError("x").exit_code == ExitCode.USAGE
    assert UsageError("x").exit_code == ExitCode.USAGE
    assert RunFailedError("x").exit_code == ExitCode.RUN_FAILED
    assert InterruptedRunError("x").exit_code == ExitCode.INTERRUPTED


def _exit_code_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Exit codes:")
    block = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        block.append(line.strip())
    return block


@pytest.mark.parametrize(
    "command", [[], ["run"], ["compare"], ["report"], ["check"], ["baseline", "save"]]
)
def test_every_commands_help_lists_its_codes_from_the_one_definition(command: list[str]) -> None:
    help_text = CliRunner().invoke(cli, [*command, "--help"]).stdout
    listed = _exit_code_lines(help_text)
    codes = [ExitCode(int(line.split()[0])) for line in listed if line.split()[0].isdigit()]
    assert codes and codes[0] == ExitCode.OK
    assert listed == _exit_code_lines(exit_code_epilog(codes))


def test_the_readme_lists_how_every_metric_is_gated_and_why() -> None:
    assert gates_markdown() in README
    assert all(f"`{gate.metric}`" in gates_markdown() for gate in GATES)
