"""PyTorch training loops (skipped without torch): agmem run and compare on issue 24's programs.

The programs are in ``tests/programs/torch_loops``: an MLP trained for a few hundred
steps on synthetic data, ``fixed.py`` and four versions that each keep something.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograd_mem.analysis.compare import comparison_from_dict
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
