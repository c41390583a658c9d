"""PyTorch training loops (skipped without torch): agmem run and compare on issue 24's programs.

The programs are in ``tests/programs/torch_loops``: an MLP trained for a few hundred
steps on synthetic data, ``fixed.py`` and four versions that each keep something.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_mem.analysis.compare import comparison_from_dict
from autograd_mem.schema.run import measurement_from_dict
from tests.cli.test_programs import agmem

pytest.importorskip("torch")

pytestmark = [pytest.mark.torch, pytest.mark.slow]

LOOPS = Path(__file__).parent.parent / "programs" / "torch_loops"


def test_compare_says_the_kept_losses_keep_growing_and_the_fixed_loop_levels_off():
    completed = agmem(
        "compare", "--format", "json", "leak_losses.py", "fixed.py", cwd=LOOPS, timeout=600
    )
    assert completed.returncode == 0, completed.stderr
    comparison = comparison_from_dict(json.loads(completed.stdout))
    sentence = comparison.after_setup or ""
    assert sentence.startswith("leak_losses.py keeps growing, +"), sentence
    assert sentence.endswith("/s after setup; fixed.py levels off"), sentence


SMALL = ("--steps", "100", "--hidden", "256")

HELD_BY_THE_LEAK = """
import gc, runpy, sys
sys.argv = ["leak_errors.py", *sys.argv[1:]]
sys.path.insert(0, ".")
from autograd_mem.probes import allocated
kept = runpy.run_path("leak_errors.py", run_name="__main__")["errors"]
gc.collect()
before = allocated.malloc_bytes()
kept.clear()
gc.collect()
print(before - allocated.malloc_bytes())
"""


def explained(program: str):
    completed = agmem(
        "run", "--explain", "--quiet", "--format", "json", program, *SMALL, cwd=LOOPS, timeout=900
    )
    assert completed.returncode == 0, completed.stderr
    report = measurement_from_dict(json.loads(completed.stdout)).explain
    assert report is not None
    return report


def tensor_bytes(report) -> int:
    row = next(row for row in report.growth if row.type == "Tensor")
    return row.bytes_end - row.bytes_start


def test_kept_errors_are_named_by_tensor_line_and_bytes_beside_the_fixed_loop():
    # the independent measure: what the C heap gives back when the kept errors are dropped
    held = subprocess.run(
        [sys.executable, "-c", HELD_BY_THE_LEAK, *SMALL], cwd=LOOPS, capture_output=True,
        text=True, timeout=600, check=True,
    )
    true_extra = int(held.stdout.strip().splitlines()[-1])
    leaky, fixed = explained("leak_errors.py"), explained("fixed.py")
    # the Tensor row, beside the fixed loop's (its parameters and gradients), and its line
    extra = tensor_bytes(leaky) - tensor_bytes(fixed)
    assert abs(extra - true_extra) <= 0.25 * true_extra, (extra, true_extra)
    row = next(row for row in leaky.growth if row.type == "Tensor")
    assert row.allocated_at is not None and row.allocated_at.function == "checked_step"
    # the top line is one of checked_step's forward lines, holding native bytes
    top = leaky.top_lines[0]
    assert Path(top.file).name == "leak_errors.py" and top.function == "checked_step"
    assert top.bytes >= 0.25 * true_extra
