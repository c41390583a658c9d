"""The training workloads, train and cnn: they train, their floors hold, the modes differ."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from autograd_mem.analysis.compare import comparison_from_dict
from autograd_mem.cli import cli
from autograd_mem.datasets import get_spiral
from autograd_mem.engine import census, no_grad, reference_mode, using_config
from autograd_mem.errors import ResultFormatError
from autograd_mem.measure import runner
from autograd_mem.schema.config import TRAIN_OPTIMIZERS, RunConfig
from autograd_mem.targets import workloads
from autograd_mem.targets.workload_spec import (
    floor_bytes,
    make_step,
    parse_spec,
)
from autograd_mem.targets.workloads.train import SPIRAL_POINTS

TRAINING = ("train", "cnn")


def test_train_and_cnn_are_built_ins() -> None:
    assert set(TRAINING) <= set(workloads.names())
    assert all(parse_spec(name).builtin == name for name in TRAINING)


def test_the_floor_knows_the_spiral_data_sets_size() -> None:
    assert len(get_spiral()[0]) == SPIRAL_POINTS


def losses(config: RunConfig, iterations: int) -> list[float]:
    """The loss of each step, read from the loss the step keeps bound."""
    with reference_mode(config.mode):
        step = make_step(config)
        found = []
        for i in range(iterations):
            step(i)
            found.append(float(step.held[0].data))
    return found


@pytest.mark.parametrize("optimizer", TRAIN_OPTIMIZERS)
@pytest.mark.parametrize("workload", TRAINING)
def test_each_training_workload_learns(workload: str, optimizer: str) -> None:
    # given 100 minibatches (10 epochs of Spiral, 10 of the images)
    found = losses(RunConfig(workload=workload, optimizer=optimizer), 100)
    # then the loss of the last epoch is well below the first's
    first, last = sum(found[:10]) / 10, sum(found[-10:]) / 10
    assert last < 0.8 * first


def test_a_step_takes_minibatches_of_the_configured_size_and_width() -> None:
    config = RunConfig(workload="train", batch_size=7, hidden=5)
    step = make_step(config)
    step(0)
    assert [p.shape for p in step.model.params()] == [(2, 5), (5,), (5, 3), (3,)]
    assert step.held[0].creator.inputs[0].shape == (7, 3)  # the scores of 7 points


def test_unknown_optimizer_is_refused_by_the_schema() -> None:
    with pytest.raises(ResultFormatError, match="unknown optimizer 'rmsprop'"):
        RunConfig(workload="train", optimizer="rmsprop")


@pytest.mark.parametrize("changes", [{"batch_size": 0}, {"hidden": -1}, {"hidden": 2.5}])
def test_a_hand_built_config_with_a_bad_size_is_refused_by_the_schema(changes: dict) -> None:
    with pytest.raises(ResultFormatError):
        RunConfig(workload="cnn", **changes)


@pytest.mark.parametrize("workload", TRAINING)
def test_floors_grow_with_batch_width_and_optimizer_state(workload: str) -> None:
    def floor(**changes: object) -> int:
        return floor_bytes(RunConfig(workload=workload, **changes))  # type: ignore[arg-type]

    assert floor(batch_size=60) > floor(batch_size=30)
    assert floor(hidden=20) > floor(hidden=10)
    assert floor(optimizer="adam") > floor(optimizer="sgd")
    assert floor(no_grad=True) < floor()
    # a batch is never larger than the data set: 300 points, or 300 images
    assert floor(batch_size=300) == floor(batch_size=10_000)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def traced_peak(config: RunConfig, iterations: int) -> int:
    """tracemalloc's peak over the iterations, the step made before the trace (as the child)."""
    grad = no_grad() if config.no_grad else using_config("enable_backprop", True)
    with reference_mode(config.mode), grad:
        step = make_step(config)
        gc.collect()
        tracemalloc.start()
        try:
            for i in range(iterations):
                step(i)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


FLOOR_CASES = [
    {"workload": w, "mode": m, **extra}
    for w in TRAINING
    for m in ("strong", "weak")
    for extra in ({}, {"optimizer": "adam"}, {"no_grad": True})
]


@pytest.mark.parametrize("changes", FLOOR_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_floor_never_exceeds_what_tracemalloc_saw_allocated(changes: dict) -> None:
    config = RunConfig(**changes)
    assert 0 < floor_bytes(config) <= traced_peak(config, 12)


@pytest.mark.parametrize(
    "changes",
    [{"workload": "cnn"}, {"workload": "train", "batch_size": 300, "hidden": 100}],
    ids=["cnn", "train-wide"],
)
def test_floor_is_most_of_a_weak_steps_peak_where_arrays_dominate(changes: dict) -> None:
    # with arrays much larger than the objects around them, the floor is the bulk of the
    # peak: the rest is numpy's temporaries inside single operations
    config = RunConfig(mode="weak", **changes)
    assert traced_peak(config, 12) <= 1.5 * floor_bytes(config)


@pytest.mark.usefixtures("collector_off")
@pytest.mark.parametrize("workload", TRAINING)
def test_strong_mode_keeps_every_steps_graph_and_weak_mode_one(workload: str) -> None:
    def live_after(mode: str, iterations: int) -> int:
        with reference_mode(mode):
            step = make_step(RunConfig(workload=workload))
            gc.collect()
            before = census.live_variables()
            for i in range(iterations):
                step(i)
            alive = census.live_variables() - before
            del step
        gc.collect()
        return alive

    # strong: each step's graph outlives it, so ten more steps leave ten more graphs
    strong_10, strong_20 = live_after("strong", 10), live_after("strong", 20)
    assert strong_20 - strong_10 >= 10 * 5
    # weak: the same number alive whatever the number of steps
    assert live_after("weak", 10) == live_after("weak", 20) < strong_10 / 2


@pytest.mark.parametrize("workload", TRAINING)
def test_floor_holds_in_a_measured_child(workload: str) -> None:
    # given the workload measured in its own interpreter, with tracemalloc
    config = RunConfig(workload=workload, iterations=20, tracemalloc=True)
    metrics = runner.measure(config).metrics
    # then its floor is at most what the iterations allocated at their peak
    assert metrics.tracemalloc_peak_bytes is not None
    assert 0 < metrics.floor_bytes <= metrics.tracemalloc_peak_bytes


def test_compare_cnn_shows_strong_mode_holding_the_im2col_graphs() -> None:
    # given both modes of the cnn measured through the CLI
    result = CliRunner().invoke(
        cli, ["compare", "--workload", "cnn", "--iterations", "100", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    strong, weak = comparison_from_dict(json.loads(result.stdout)).measurements
    # then only strong mode's graphs wait for the collector, which frees them in bulk
    assert weak.metrics.gc_collected == 0 < strong.metrics.gc_collected
    assert strong.metrics.max_live_variables > 5 * weak.metrics.max_live_variables
    # and strong mode's peak holds several graphs' worth of arrays above weak mode's
    graph_arrays = floor_bytes(RunConfig(workload="cnn")) // 2
    excess = strong.metrics.peak_rss_growth_bytes - weak.metrics.peak_rss_growth_bytes
    assert excess > 3 * graph_arrays
