"""Fixtures for driving the CLI: a CliRunner, and a stand-in for the runner's measure()."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from reporters.factory import MiB, make_measurement

from autograd_mem.cli import cli
from autograd_mem.measure import runner
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.run import Measurement


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """``invoke("run", "--mode", "weak")``: the agmem command, stdout and stderr apart."""
    cli_runner = CliRunner()

    def run(*args: str) -> Result:
        return cli_runner.invoke(cli, list(args), prog_name="agmem", catch_exceptions=False)

    return run


@dataclasses.dataclass
class FakeMeasure:
    """Records each config it is asked to measure and answers with hand-built figures."""

    calls: list[tuple[RunConfig, bool]] = dataclasses.field(default_factory=list)
    raises: BaseException | None = None

    def __call__(self, config: RunConfig, *, force: bool = False,
                 on_progress: object = None, echo: object = None) -> Measurement:
        self.calls.append((config, force))
        if self.raises is not None:
            raise self.raises
        strong = config.mode == "strong"
        measurement = make_measurement(
            config.mode,
            gc_policy=config.gc_policy,
            peak_growth_bytes=[40 * MiB if strong else 2 * MiB] * config.repeat,
            collected=12_792 if strong and config.gc_policy == "auto" else 0,
            iterations=config.iterations,
            explain=config.explain,
        )
        return dataclasses.replace(measurement, config=config)

    @property
    def configs(self) -> list[RunConfig]:
        return [config for config, _ in self.calls]


@pytest.fixture
def fake_measure(monkeypatch: pytest.MonkeyPatch) -> FakeMeasure:
    """Replace ``runner.measure`` (only: validation stays real) for fast option tests."""
    fake = FakeMeasure()
    monkeypatch.setattr(runner, "measure", fake)
    return fake
