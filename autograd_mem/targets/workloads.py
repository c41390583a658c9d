"""What a measured child runs: the built-in workloads, a user's ``module:function``, the floors.

A workload is seen by the child as a *step*: a callable taking the iteration index,
called once per iteration. Built-ins build their state (seeded RNG, data, parameters)
in :func:`make_step`, so that a fresh step has fresh state; a user's workload is their
own function, called as ``function(iteration_index)``.

The parent only *checks* a user's workload (:func:`check_workload`): it finds the
module or file and reads its source for the function without executing any of it, so
a workload with side effects at import runs only in the child. A workload the user
did not name (one read from a baseline file) must moreover lie in the current
directory tree: a baseline from someone else cannot make agmem run code from anywhere.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd_mem.errors import WorkloadError
from autograd_mem.schema.config import RunConfig
from autograd_mem.schema.units import format_count

BUILTIN_WORKLOADS = ("seed", "mlp", "train", "cnn", "rnn")

# The figures of the config each built-in reads, as a report names them: the reporters
# show these words without knowing any workload. A user's function reads none of them.
PARAMETERS_READ: dict[str, Callable[[RunConfig], list[str]]] = {
    "seed": lambda c: [f"size {format_count(c.size)}", f"depth {c.depth}"],
    "mlp": lambda c: [f"{format_count(c.size)} samples"],
    "rnn": lambda c: [
        f"hidden {c.hidden}",
        f"bptt {c.bptt_length}",
        "unchain_backward" if c.unchain else "no unchain_backward",
    ],
}

# What the measurement itself keeps per iteration, all processes together: the child's
# three counters (8 + 4 + 4 bytes); everything else is bounded (``series.MAX_POINTS``).
# benchmarks/long_run.py measured 21.0 bytes at a million iterations. An estimate, used
# only to refuse a run that could not fit before it starts (``runner.measure``).
BOOKKEEPING_BYTES_PER_ITERATION = 24

# The mlp's hidden width; its ``size`` is the number of training samples (see _mlp_step).
MLP_HIDDEN = 10
MLP_LEARNING_RATE = 0.2
FLOAT64_BYTES = 8
FLOAT32_BYTES = 4  # DeZero's layers, and so train and cnn, compute in float32
INT64_BYTES = 8  # labels, and max pooling's argmax indexes

# train and cnn: the optimizers offered, and the settings each workload uses them with.
OPTIMIZER_STATE_ARRAYS = {"sgd": 0, "adam": 2}  # arrays of state per parameter
# Ten times Adam's default step: at the default, Spiral's loss barely moves in 100 steps.
ADAM_STEP_SIZE = 0.01
# The Spiral data set's shape (a test checks it against the data), and step 48's rate.
SPIRAL_POINTS, SPIRAL_CLASSES, SPIRAL_FEATURES, SPIRAL_LEARNING_RATE = 300, 3, 2, 1.0
# cnn: synthetic 1-channel square images of CNN_CLASSES classes, a 3x3 convolution
# (padding 1) to ``hidden`` channels, ReLU, 2x2 max pooling, and a linear classifier.
CNN_IMAGE_SIZE, CNN_CLASSES, CNN_SAMPLES = 8, 4, 300
CNN_KERNEL, CNN_POOL, CNN_LEARNING_RATE = 3, 2, 0.1
# rnn: the book's SinCurve is 1000 points, 999 (value, next value) pairs: a sequence.
SINCURVE_STEPS = 999

Step = Callable[[int], object]

_SPEC_HELP = (
    "a built-in (seed, mlp, train, cnn, rnn), package.module:function or path/to/file.py:function"
)


@dataclass(frozen=True)
class WorkloadSpec:
    """A parsed ``--workload`` value: a built-in name, or where a user's function lives."""

    builtin: str | None = None
    module: str | None = None
    path: str | None = None
    function: str | None = None

    @property
    def is_builtin(self) -> bool:
        return self.builtin is not None


@functools.lru_cache(maxsize=64)
def parse_spec(text: str) -> WorkloadSpec:
    """Parse a workload name; raises WorkloadError for an unknown built-in or a malformed spec.

    Cached: the parent's check, its floor and its reports, and the child's warm-up, step
    and floor all ask, and a spec is a pure, frozen function of its text.
    """
    if not isinstance(text, str) or not text.strip():
        raise WorkloadError(f"empty workload name (expected {_SPEC_HELP})")
    if ":" not in text:
        if text in BUILTIN_WORKLOADS:
            return WorkloadSpec(builtin=text)
        close = difflib.get_close_matches(text.strip().lower(), BUILTIN_WORKLOADS, n=1)
        if close:
            raise WorkloadError(f"unknown workload {text!r}: did you mean {close[0]!r}?")
        raise WorkloadError(f"unknown workload {text!r} (expected {_SPEC_HELP})")
    target, _, function = text.rpartition(":")
    if not target or not function.isidentifier():
        raise WorkloadError(f"malformed workload {text!r} (expected {_SPEC_HELP})")
    if target.endswith(".py") or os.sep in target or "/" in target:
        return WorkloadSpec(path=target, function=function)
    if not all(part.isidentifier() for part in target.split(".")):
        raise WorkloadError(f"malformed workload {text!r}: {target!r} is not a module name")
    return WorkloadSpec(module=target, function=function)


def parameters_read(config: RunConfig) -> list[str]:
    """``["size 10,000", "depth 3"]``: what the workload reads of ``config``, in words."""
    read = PARAMETERS_READ.get(config.workload)
    return read(config) if read is not None else []


# --- the parent's check: find without executing ------------------------------------------


def check_workload(text: str, cwd: str | None = None, *, confined: bool = False) -> WorkloadSpec:
    """Check that a workload can be found, without importing the user's code.

    Modules are searched as the child will see them: ``python -m`` puts the working
    directory first on ``sys.path``. When the source is Python, it is parsed and the
    function looked up among its top-level names; a module that defines ``__getattr__``
    or star-imports is given the benefit of the doubt (the child will tell).

    ``confined``: the workload was not named by the user (it comes from a baseline file),
    so its file must lie in the current directory tree.
    """
    spec = parse_spec(text)
    if spec.is_builtin:
        return spec
    cwd = cwd or os.getcwd()
    source, where = _source_of(spec, text, cwd)
    if confined:
        _refuse_outside(source, spec, cwd)
    if source is None or not source.name.endswith(".py"):
        return spec  # an extension or namespace module: only importing it can tell
    assert spec.function is not None
    names = _top_level_names(source, where)
    if names is not None and spec.function not in names:
        raise WorkloadError(f"{where} has no function {spec.function!r}")
    return spec


def _source_of(spec: WorkloadSpec, text: str, cwd: str) -> tuple[Path | None, str]:
    """The file a user's workload lives in (None for a namespace package), and its name."""
    if spec.path is not None:
        source = Path(cwd, spec.path)
        if source.is_dir():
            raise WorkloadError(f"workload {spec.path} is a directory, not a Python file")
        if not source.is_file():
            raise WorkloadError(
                f"workload file not found: {spec.path} (looked for {source.absolute()}; a "
                "workload's path is read from the current directory)"
            )
        return source, spec.path
    assert spec.module is not None
    origin = _find_module_origin(spec.module, [cwd, *sys.path])
    if origin is None:
        raise WorkloadError(f"cannot find module {spec.module!r} for workload {text!r}")
    where = f"module {spec.module!r}"
    return (Path(origin) if os.path.isabs(origin) else None), where


def _refuse_outside(source: Path | None, spec: WorkloadSpec, cwd: str) -> None:
    """Refuse a workload outside the current directory tree (built-in modules included)."""
    root = Path(cwd).resolve()
    if source is not None and source.resolve().is_relative_to(root):
        return
    what = f"file {spec.path}" if spec.path else f"module {spec.module!r}"
    place = "lies outside" if spec.path else "is not importable from"
    raise WorkloadError(
        f"the baseline's workload {what} {place} the current directory {root}: agmem runs "
        "only code found there unless you name it with --workload"
    )


def _find_module_origin(dotted: str, search_path: list[str]) -> str | None:
    """The file of a (sub)module, found package by package without running any ``__init__``."""
    path: list[str] | None = search_path
    origin: str | None = None
    for depth, part in enumerate(dotted.split(".")):
        if path is None:
            return None  # a parent that is a module, not a package
        found = importlib.machinery.PathFinder.find_spec(part, path)
        if found is None and depth == 0:
            # Built-ins and packages behind other finders (editable installs): for a
            # top-level name, find_spec asks every finder without running any code.
            try:
                found = importlib.util.find_spec(part)
            except (ImportError, ValueError):
                found = None
        if found is None:
            return None
        origin = found.origin
        path = list(found.submodule_search_locations or []) or None
    return origin or "<namespace>"


def _top_level_names(source: Path, where: str) -> set[str] | None:
    """Names bound at a module's top level, or None when they cannot be known statically."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"cannot read {where}: {exc}") from None
    except SyntaxError as exc:
        raise WorkloadError(f"cannot parse {where}: {exc.msg} (line {exc.lineno})") from None
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        # Definitions under if/try/with/for at top level still bind module names.
        for attr in ("body", "orelse", "finalbody", "handlers"):
            pending.extend(s for s in getattr(node, attr, []) if isinstance(s, ast.AST))
    if "__getattr__" in names:
        return None
    return names


# --- the child's side: build a step --------------------------------------------------------

_loaded_user_functions: dict[str, Step] = {}


def load_user_function(spec: WorkloadSpec) -> Step:
    """Import a user's workload in the child; raises WorkloadError when it cannot be imported."""
    key = f"{spec.path or spec.module}:{spec.function}"
    if key in _loaded_user_functions:
        return _loaded_user_functions[key]
    try:
        if spec.path is not None:
            path = Path(spec.path).resolve()
            if not path.is_file():
                raise WorkloadError(f"workload file not found: {spec.path}")
            # Like running a script: the file's directory comes first on sys.path.
            sys.path.insert(0, str(path.parent))
            module_spec = importlib.util.spec_from_file_location("agmem_user_workload", path)
            if module_spec is None or module_spec.loader is None:
                raise WorkloadError(f"cannot import {spec.path}: not a Python file")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module
            module_spec.loader.exec_module(module)
        else:
            assert spec.module is not None
            module = importlib.import_module(spec.module)
    except WorkloadError:
        raise
    except Exception as exc:
        where = spec.path or spec.module
        raise WorkloadError(f"cannot import {where}: {type(exc).__name__}: {exc}") from exc
    function = getattr(module, spec.function or "", None)
    if function is None:
        raise WorkloadError(f"{spec.path or spec.module} has no function {spec.function!r}")
    if not callable(function):
        raise WorkloadError(f"{spec.path or spec.module}:{spec.function} is not callable")
    _check_takes_the_iteration_index(function, f"{spec.path or spec.module}:{spec.function}")
    _loaded_user_functions[key] = function
    return function


def _check_takes_the_iteration_index(function: Step, where: str) -> None:
    """Refuse a function that cannot be called as ``function(iteration_index)``.

    Found here, before the warm-up, it is a usage error (exit 2) in one line; found by
    calling it, it would be a TypeError raised "by the workload", with a traceback.
    Callables whose signature Python cannot read (some built-ins) are let through.
    """
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(0)
    except TypeError:
        raise WorkloadError(
            f"{where} must take one argument, the iteration index; its signature is "
            f"{where.rpartition(':')[2]}{signature}"
        ) from None


def make_step(config: RunConfig) -> Step:
    """A fresh step for this configuration: new state for a built-in, the function for a user's."""
    spec = parse_spec(config.workload)
    if spec.builtin == "seed":
        return _seed_step(config)
    if spec.builtin == "mlp":
        return _mlp_step(config)
    if spec.builtin == "train":
        return _train_step(config)
    if spec.builtin == "cnn":
        return _cnn_step(config)
    if spec.builtin == "rnn":
        return _rnn_step(config)
    return load_user_function(spec)


def _seed_step(config: RunConfig) -> Step:
    """The notebook's loop body: ``x = Variable(randn(size)); y = square(...square(x))``.

    In the notebook ``x`` and ``y`` are loop variables, so the previous iteration's graph
    stays alive (through ``y``) while the next one is built; ``held`` keeps that exactly:
    ``x`` is rebound first, ``y`` last, as the notebook's assignments do.
    """
    import numpy as np

    from autograd_mem.engine import Variable
    from autograd_mem.engine.ops import square

    rng = np.random.default_rng(config.rng_seed)
    size, depth, backward = config.size, config.depth, config.backward
    held: list[Any] = [None, None]

    def seed_step(iteration: int) -> None:
        x = Variable(rng.standard_normal(size))
        held[0] = x
        y = x
        for _ in range(depth):
            y = square(y)
        if backward:
            y.backward()
        held[1] = y

    return seed_step


def _mlp_step(config: RunConfig) -> Step:
    """One SGD step of a two-layer perceptron on synthetic data (DeZero's sine regression).

    ``size`` is the number of training samples (the batch: every step sees them all) and
    the hidden width is fixed at ``MLP_HIDDEN``, so ``size`` scales the activations the
    graph holds, which is what the memory depends on. ``depth`` is not used. The previous
    step's ``loss`` stays bound while the next graph is built, as in a training loop.
    It always calls ``backward`` (``backward`` in the config changes nothing) unless
    ``no_grad`` asks for the forward pass alone.
    """
    import numpy as np

    from autograd_mem.engine import Variable
    from autograd_mem.engine.ops import linear, mean_squared_error, sigmoid

    rng = np.random.default_rng(config.rng_seed)
    x = rng.random((config.size, 1))
    t = np.sin(2 * np.pi * x) + rng.random((config.size, 1))
    w1 = Variable(0.01 * rng.standard_normal((1, MLP_HIDDEN)))
    b1 = Variable(np.zeros(MLP_HIDDEN))
    w2 = Variable(0.01 * rng.standard_normal((MLP_HIDDEN, 1)))
    b2 = Variable(np.zeros(1))
    parameters = (w1, b1, w2, b2)
    train = not config.no_grad  # an SGD step always needs its gradients
    held: list[Any] = [None]

    def mlp_step(iteration: int) -> None:
        hidden = sigmoid(linear(x, w1, b1))
        loss = mean_squared_error(linear(hidden, w2, b2), t)
        if train:
            for p in parameters:
                p.cleargrad()
            loss.backward()
            for p in parameters:
                p.data -= MLP_LEARNING_RATE * _array(p.grad)
        held[0] = loss

    mlp_step.parameters = parameters  # type: ignore[attr-defined]  # for inspection
    return mlp_step


def _array(grad: Any) -> Any:
    """A gradient as an array, whether the engine stores arrays or Variables in ``grad``."""
    return getattr(grad, "data", grad)


def _optimizer(config: RunConfig, sgd_learning_rate: float) -> Any:
    """The optimizer ``--optimizer`` names: SGD at the workload's rate, or Adam."""
    from autograd_mem.engine.optimizers import SGD, Adam

    if config.optimizer == "sgd":
        return SGD(sgd_learning_rate)
    return Adam(alpha=ADAM_STEP_SIZE)




def _training_step(config: RunConfig, model: Any, loader: Any, forward: Any, rate: float) -> Step:
    """One minibatch of a DeZero training loop, as the book writes it (steps 49-50).

    ``forward(x)`` maps a batch to class scores. The last loss stays bound until the
    next one replaces it, as a loop variable does, so the previous step's graph is
    alive while the next is built. Under ``no_grad`` only the forward pass runs.
    """
    from autograd_mem.engine.functions_nn import softmax_cross_entropy

    optimizer = _optimizer(config, rate).setup(model)
    train = not config.no_grad
    held: list[Any] = [None]
    batches = iter(loader)

    def training_step(iteration: int) -> None:
        nonlocal batches
        try:
            x, t = next(batches)
        except StopIteration:  # an epoch is over: the loader has reshuffled
            batches = iter(loader)
            x, t = next(batches)
        loss = softmax_cross_entropy(forward(x), t)
        if train:
            model.cleargrads()
            loss.backward()
            optimizer.update()
        held[0] = loss

    training_step.model = model  # type: ignore[attr-defined]  # for inspection
    training_step.held = held  # type: ignore[attr-defined]
    return training_step


def _train_step(config: RunConfig) -> Step:
    """The book's classifier (step 48-50): an MLP of one hidden layer on the Spiral data.

    ``hidden`` is the hidden layer's width and ``batch_size`` the minibatch; ``size``
    and ``depth`` are not used. The weights are sized before the first iteration, so
    that they belong to the baseline, as the data does.
    """
    import numpy as np

    from autograd_mem.engine import no_grad
    from autograd_mem.engine.dataloaders import DataLoader
    from autograd_mem.engine.datasets import Spiral
    from autograd_mem.engine.models import MLP

    rng = np.random.default_rng(config.rng_seed)
    data = Spiral(train=True)
    loader = DataLoader(data, config.batch_size, rng=rng)
    np.random.seed(config.rng_seed)  # the layers draw their weights from numpy's generator
    model = MLP((config.hidden, SPIRAL_CLASSES))
    with no_grad():
        model(data.data[:1])
    return _training_step(config, model, loader, model, SPIRAL_LEARNING_RATE)


def _cnn_step(config: RunConfig) -> Step:
    """A small CNN's training step on synthetic images, its convolution through im2col.

    Each image is noise with a bright row whose position is its class, so the net has
    something to learn. The convolution is ``conv2d_simple``: the im2col matrix is a
    node of the graph, held as long as the graph is (in strong mode, until the
    collector runs), as it is for a DeZero user who writes it. ``hidden`` is the
    number of filters and ``batch_size`` the minibatch; ``size`` and ``depth`` are
    not used.
    """
    import numpy as np

    from autograd_mem.engine.core import Parameter
    from autograd_mem.engine.dataloaders import DataLoader
    from autograd_mem.engine.datasets import Dataset
    from autograd_mem.engine.functions_conv import conv2d_simple, pooling
    from autograd_mem.engine.functions_nn import flatten
    from autograd_mem.engine.layers import Linear
    from autograd_mem.engine.models import Model
    from autograd_mem.engine.ops import relu

    rng = np.random.default_rng(config.rng_seed)
    images = Dataset()
    images.data, images.label = _synthetic_images(rng, CNN_SAMPLES)
    loader = DataLoader(images, config.batch_size, rng=rng)
    fan_in = CNN_KERNEL * CNN_KERNEL
    net = Model()
    net.conv_W = Parameter(
        (rng.standard_normal((config.hidden, 1, CNN_KERNEL, CNN_KERNEL)) / np.sqrt(fan_in))
        .astype(np.float32)
    )
    net.conv_b = Parameter(np.zeros(config.hidden, dtype=np.float32))
    pooled = CNN_IMAGE_SIZE // CNN_POOL
    np.random.seed(config.rng_seed)  # Linear draws its weights from numpy's generator
    net.fc = Linear(CNN_CLASSES, in_size=config.hidden * pooled * pooled)

    def forward(x: Any) -> Any:
        h = relu(conv2d_simple(x, net.conv_W, net.conv_b, 1, CNN_KERNEL // 2))
        return net.fc(flatten(pooling(h, CNN_POOL, CNN_POOL)))

    return _training_step(config, net, loader, forward, CNN_LEARNING_RATE)


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


def _synthetic_images(rng: Any, count: int) -> tuple[Any, Any]:
    """``count`` noisy (1, S, S) float32 images, and their class: the row that is bright."""
    import numpy as np

    labels = rng.integers(0, CNN_CLASSES, count)
    images = rng.standard_normal((count, 1, CNN_IMAGE_SIZE, CNN_IMAGE_SIZE), dtype=np.float32)
    first_row = (CNN_IMAGE_SIZE - CNN_CLASSES) // 2
    images[np.arange(count), 0, first_row + labels, :] += 2.0
    return images, labels


# --- floors -----------------------------------------------------------------------------------


def floor_bytes(config: RunConfig) -> int | None:
    """Bytes of array data that must be alive at the peak of one iteration; None for user workloads.

    A lower bound: only arrays the algorithm itself keeps are counted, never the
    temporaries numpy makes inside one operation. Each built-in's reasoning is in its
    own function.

    Below a few hundred kilobytes the measured RSS growth can sit a little under the
    floor: small arrays are carved from heap pages that were already resident at the
    baseline (``malloc_trim`` returns only whole free pages), so the kernel sees less
    growth than was allocated. ``tracemalloc``'s peak, which counts allocations, stays
    above the floor at every size (``tests/measure/test_runner.py`` checks it).
    """
    floors = {
        "seed": _seed_floor,
        "mlp": _mlp_floor,
        "train": _train_floor,
        "cnn": _cnn_floor,
        "rnn": _rnn_floor,
    }
    floor = floors.get(parse_spec(config.workload).builtin or "")
    return None if floor is None else floor(config)


def _seed_floor(config: RunConfig) -> int:
    """``seed``: ``size`` float64 per array, ``depth + 1`` arrays per graph (the input and
    one output per square).

    The previous iteration's graph is alive, through ``y``, while the next is built, so
    the floor is two graphs: ``2 * (depth + 1)`` arrays. With ``backward`` the previous
    graph also keeps its leaf's gradient (the engine frees intermediate gradients as it
    goes), and the iteration in backward holds, on top of its graph, the seed gradient
    ``ones_like(y)``, the gradient it reads and the one it makes (two when ``depth`` is
    1, the seed being the one read): ``(depth + 2) + (depth + 1) + min(depth + 1, 3)``.
    With ``no_grad`` no graph is recorded: the previous ``y``, the new ``x`` and at most
    two squares in flight, ``2 + min(depth, 2)``.
    """
    graph = config.depth + 1
    if config.no_grad:
        arrays = 2 + min(config.depth, 2)
    elif config.backward:
        arrays = (graph + 1) + graph + min(graph, 3)
    else:
        arrays = 2 * graph
    return arrays * config.size * FLOAT64_BYTES


def _mlp_floor(config: RunConfig) -> int:
    """``mlp``: only what the iterations allocate.

    The data and the parameters are made with the step, before the baseline, so they
    are in the baseline and not in the growth this floor is compared with. A graph holds
    the first linear layer's and the sigmoid's ``size x hidden`` outputs and the
    prediction's ``size``; backward gives the graph's two leaves, the data wrapped as
    Variables, a gradient of ``size`` each. At the sigmoid's backward, the busiest
    moment, the previous step's graph (kept by its ``loss``) is alive with its leaves'
    gradients, ``2 * s * h + 3 * s``; so is the current graph with the targets' gradient
    waiting in backward's table and the second layer's parameter gradients,
    ``2 * s * h + 2 * s + h + 1``; and the sigmoid reads its output's gradient and makes
    its input's, ``2 * s * h``. With ``no_grad`` there is no graph and no update: the
    sigmoid's input and output, ``2 * s * h``, are alive together.
    """
    hidden_layer = config.size * MLP_HIDDEN
    if config.no_grad:
        return 2 * hidden_layer * FLOAT64_BYTES
    previous_graph = 2 * hidden_layer + 3 * config.size
    current_graph = 2 * hidden_layer + 2 * config.size + MLP_HIDDEN + 1
    sigmoid_backward = 2 * hidden_layer
    return (previous_graph + current_graph + sigmoid_backward) * FLOAT64_BYTES


def _training_floor(
    config: RunConfig, graph: int, batch: int, in_flight: int, parameters: int
) -> int:
    """The floor of a training step, from its parts in bytes (see the two callers).

    Counted while backward runs through the largest activation: the previous step's
    graph is alive (its loss is still bound) with the gradient its backward gave the
    batch, a leaf; so is the new graph, with the gradients ``in_flight`` at that
    moment (the one the activation reads, the one it makes, and the parameter
    gradients of the layers after it); and a stateful optimizer's state, one array per
    parameter per moment. The parameters and the data are made with the step, before
    the baseline, so they are not counted.
    """
    state = OPTIMIZER_STATE_ARRAYS[config.optimizer] * parameters * FLOAT32_BYTES
    return 2 * graph + batch + in_flight + state


def _train_floor(config: RunConfig) -> int:
    """``train``: a minibatch of ``n`` Spiral points through one hidden layer of ``h``.

    A graph holds the batch (``n x 2``), the hidden layer's pre-activation and
    activation (``n x h`` each), the scores (``n x 3``), all float32, and the labels
    (``n`` int64). At the sigmoid's backward, the sigmoid reads one ``n x h`` gradient
    and makes another, and the output layer's gradients (``h x 3 + 3``) are made.
    Under ``no_grad`` the batch, its labels and the hidden layer's two arrays are alive
    together, at the sigmoid. A batch is at most the 300 points.
    """
    n, h = min(config.batch_size, SPIRAL_POINTS), config.hidden
    batch = n * SPIRAL_FEATURES * FLOAT32_BYTES
    hidden_layer = n * h * FLOAT32_BYTES
    if config.no_grad:
        return batch + n * INT64_BYTES + 2 * hidden_layer
    graph = batch + 2 * hidden_layer + n * SPIRAL_CLASSES * FLOAT32_BYTES + n * INT64_BYTES
    output_layer = h * SPIRAL_CLASSES + SPIRAL_CLASSES
    in_flight = 2 * hidden_layer + output_layer * FLOAT32_BYTES
    parameters = SPIRAL_FEATURES * h + h + output_layer
    return _training_floor(config, graph, batch, in_flight, parameters)


def _cnn_floor(config: RunConfig) -> int:
    """``cnn``: ``n`` images of ``S x S`` pixels, a 3x3 convolution to ``f`` filters.

    A graph holds, in float32: the batch (``n S^2``), its im2col matrix (``9 n S^2``,
    one row of 3x3 patch per pixel), the convolution's output and its ReLU (``f n S^2``
    each), the pooled maps (``f n S^2 / 4``) and the scores (``classes x n``); in
    int64, the pooling's argmax per pooled pixel and the labels. At the ReLU's
    backward, it reads one ``f n S^2`` gradient and makes another, and the classifier's
    gradients are made. Under ``no_grad`` the batch is alive with, first, its im2col
    matrix and the convolution's output, then that output and its ReLU.
    """
    n = min(config.batch_size, CNN_SAMPLES)
    f, k = config.hidden, CNN_KERNEL
    pixels = n * CNN_IMAGE_SIZE * CNN_IMAGE_SIZE
    pooled = (CNN_IMAGE_SIZE // CNN_POOL) ** 2
    batch = pixels * FLOAT32_BYTES
    if config.no_grad:
        return batch + max(k * k + f, 2 * f) * pixels * FLOAT32_BYTES
    floats = pixels * (1 + k * k + 2 * f) + n * f * pooled + n * CNN_CLASSES
    graph = floats * FLOAT32_BYTES + (n * f * pooled + n) * INT64_BYTES
    classifier = f * pooled * CNN_CLASSES + CNN_CLASSES
    in_flight = (2 * f * pixels + classifier) * FLOAT32_BYTES
    parameters = f * k * k + f + classifier
    return _training_floor(config, graph, batch, in_flight, parameters)


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
