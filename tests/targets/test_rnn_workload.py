"""The rnn workload: the book's SimpleRNN on SinCurve with truncated BPTT, with or without
unchain_backward; its floor holds against tracemalloc, and the modes and the cut differ."""

from __future__ import annotations

import gc
import json

import pytest
from click.testing import CliRunner

from autograd_mem.analysis.compare import comparison_from_dict
from autograd_mem.cli import cli
from autograd_mem.engine import census, reference_mode
from autograd_mem.schema.config import RunConfig
from autograd_mem.targets import workloads
from autograd_mem.targets.workload_spec import (
    floor_bytes,
    make_step,
    parameters_read,
)
from tests.targets.test_training_workloads import traced_peak


def test_rnn_is_a_built_in_that_says_what_it_reads() -> None:
    assert "rnn" in workloads.names()
    config = RunConfig(workload="rnn", hidden=20, bptt_length=15, unchain=False)
    assert parameters_read(config) == ["hidden 20", "bptt 15", "no unchain_backward"]


def test_the_rnn_learns_the_sine() -> None:
    # given the workload's own step, run over three passes of the sequence
    step = make_step(RunConfig(workload="rnn", hidden=10))
    model = step.model

    def loss_of_a_pass() -> float:
        import numpy as np

        from autograd_mem.engine import no_grad
        from autograd_mem.engine.datasets import SinCurve

        np.random.seed(0)
        data = SinCurve(train=True)
        model.rnn.reset_state()
        with no_grad():
            errors = [
                float(((model.fc(model.rnn(x.reshape(1, 1))).data - t) ** 2).sum()) for x, t in data
            ]
        return sum(errors) / len(errors)

    before = loss_of_a_pass()
    for i in range(3 * 999):
        step(i)
    # then the prediction of the next value is much better than at the start
    assert loss_of_a_pass() < before / 4


FLOOR_CASES = [
    {"mode": mode, "unchain": unchain, "iterations": iterations}
    for mode in ("strong", "weak")
    for unchain in (True, False)
    for iterations in (20, 75)
]


@pytest.mark.parametrize("changes", FLOOR_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_floor_never_exceeds_what_tracemalloc_saw_allocated(changes: dict) -> None:
    config = RunConfig(workload="rnn", hidden=50, bptt_length=30, **changes)
    assert 0 < floor_bytes(config) <= traced_peak(config, config.iterations)


def test_floor_is_a_window_with_unchain_and_the_whole_sequence_without() -> None:
    def floor(**changes) -> int:
        return floor_bytes(RunConfig(workload="rnn", hidden=10, bptt_length=30, **changes))

    assert floor(iterations=500) == floor(iterations=60)  # one window, once Adam exists
    assert floor(iterations=500, unchain=False) > 8 * floor(iterations=500)
    assert floor(iterations=5000, unchain=False) == floor(iterations=999, unchain=False)


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.mark.usefixtures("collector_off")
@pytest.mark.parametrize("mode", ["strong", "weak"])
def test_unchain_keeps_one_window_and_its_absence_the_whole_sequence(mode: str) -> None:
    def functions_alive(unchain: bool, iterations: int) -> int:
        with reference_mode(mode):
            step = make_step(RunConfig(workload="rnn", bptt_length=30, unchain=unchain))
            gc.collect()
            before = census.live_functions()
            for i in range(iterations):
                step(i)
            alive = census.live_functions() - before
            del step
        gc.collect()
        return alive

    # with unchain_backward, 90 steps leave no more than 30 did: a window at most
    # (strong mode: one node per window for the collector, the loss's own)
    assert functions_alive(True, 90) <= functions_alive(True, 30) + 3
    # without it, the hidden state holds every step: three times the steps, three times
    assert functions_alive(False, 90) >= 2.5 * functions_alive(False, 30)


def test_compare_rnn_shows_the_modes_and_the_cut(tmp_path) -> None:
    def compare(*options: str):
        result = CliRunner().invoke(
            cli,
            ["compare", "--workload", "rnn", "--iterations", "900", *options, "--format", "json"],
        )
        assert result.exit_code == 0, result.stderr
        return comparison_from_dict(json.loads(result.stdout)).measurements

    strong, weak = compare("--unchain")
    strong_kept, weak_kept = compare("--no-unchain")
    # weak mode leaves nothing to the collector with or without the cut
    assert weak.metrics.gc_collected == weak_kept.metrics.gc_collected == 0
    assert strong.metrics.gc_collected > 0 and strong_kept.metrics.gc_collected > 0
    # without the cut, the hidden state keeps the sequence: far more objects alive
    assert weak_kept.metrics.max_live_variables > 5 * weak.metrics.max_live_variables
