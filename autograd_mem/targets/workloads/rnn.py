"""``rnn``: the book's step 59, a SimpleRNN learning the sine curve with truncated BPTT."""

from __future__ import annotations

from typing import Any

from autograd_mem.schema.config import RunConfig
from autograd_mem.targets.workloads import FLOAT32_BYTES, FLOAT64_BYTES, Step, Workload

# The book's SinCurve is 1000 points, 999 (value, next value) pairs: a sequence.
SINCURVE_STEPS = 999


def _rnn_step(config: RunConfig) -> Step:
    """The book's step 59: a SimpleRNN (an ``RNN`` of ``hidden`` units and a ``Linear``)
    learns the next value of ``SinCurve``, one value per iteration, with Adam.

    Every ``bptt_length`` steps (and at the sequence's end) the summed loss is
    backpropagated and the parameters updated: truncated backpropagation through
    time. With ``unchain`` the graph is then cut (``unchain_backward``), as the book
    does; without it the hidden state keeps every step of the sequence reachable
    until the sequence ends and ``reset_state`` drops it. An iteration is one step of
    the sequence; the sequence restarts every 999 steps. The weights are sized before
    the first iteration, so they belong to the baseline, as the data does.
    """
    import numpy as np

    from autograd_mem.engine import no_grad
    from autograd_mem.engine.datasets import SinCurve
    from autograd_mem.engine.layers import RNN, Linear
    from autograd_mem.engine.models import Model
    from autograd_mem.engine.ops import mean_squared_error
    from autograd_mem.engine.optimizers import Adam

    np.random.seed(config.rng_seed)  # SinCurve's noise and the layers' weights
    data = SinCurve(train=True)
    xs, ts = data.data.reshape(-1, 1, 1), data.label.reshape(-1, 1, 1)
    model = Model()
    model.rnn, model.fc = RNN(config.hidden), Linear(1)
    with no_grad():
        model.fc(model.rnn(xs[0]))
        model.rnn(xs[0])  # h2h is sized at the second step
    optimizer = Adam().setup(model)
    held: list[Any] = [0]  # the loss summed over the current window

    def rnn_step(iteration: int) -> None:
        t = iteration % SINCURVE_STEPS
        if t == 0:
            model.rnn.reset_state()
        held[0] = held[0] + mean_squared_error(model.fc(model.rnn(xs[t])), ts[t])
        if (t + 1) % config.bptt_length and t + 1 < SINCURVE_STEPS:
            return
        loss = held[0]
        model.cleargrads()
        loss.backward()
        if config.unchain:
            loss.unchain_backward()
        optimizer.update()
        held[0] = 0

    rnn_step.model = model  # type: ignore[attr-defined]  # for inspection
    return rnn_step


def _rnn_floor(config: RunConfig) -> int:
    """``rnn``: the hidden path of the graph at its longest, the gradients and Adam's state.

    Each step of the sequence adds to the graph four ``1 x h`` float64 arrays on the
    hidden state's path (the input's and the previous state's linear maps, their sum,
    its tanh); the first step of a sequence has no previous state, so two. With
    ``unchain`` the graph is at most one window of ``bptt_length`` steps; without it
    the whole sequence so far, up to its 999 steps. At the end of the first backward
    the graph is alive with every parameter's gradient (float64, ``h^2 + 3h + 1``
    values: ``x2h``'s ``1 x h`` and ``h`` bias, ``h2h``'s ``h x h``, the output layer's
    ``h`` and 1); from the first update on, Adam keeps two float32 moments per
    parameter. The loss, the outputs and the Variables themselves are left out: this
    is a lower bound.
    """
    h, window, iterations = config.hidden, config.bptt_length, config.iterations
    longest = min(iterations, SINCURVE_STEPS)
    steps = min(window, longest) if config.unchain else longest
    floor = (4 * steps - 2) * h * FLOAT64_BYTES
    parameters = h * h + 3 * h + 1
    if iterations >= window:
        floor += parameters * FLOAT64_BYTES
    if iterations >= 2 * window:
        floor += 2 * parameters * FLOAT32_BYTES
    return floor


WORKLOAD = Workload(
    make_step=_rnn_step,
    floor_bytes=_rnn_floor,
    listed=5,
    parameters=lambda c: [
        f"hidden {c.hidden}",
        f"bptt {c.bptt_length}",
        "unchain_backward" if c.unchain else "no unchain_backward",
    ],
)
