"""Labelled references: how the explain pass names the edges of a cycle."""

from __future__ import annotations

import sys
import types

from autograd_mem.cycles.labels import plan_for


class Node:
    pass


def test_a_half_imported_torch_is_no_reason_to_fail(monkeypatch):
    # given a collection while the workload is still importing torch: its module is in
    # sys.modules, without its names yet
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))

    # when a type's readers are worked out
    plan = plan_for(Node)

    # then they are those of any instance, with nothing of torch's
    assert plan
    assert not any("torch" in repr(extract).lower() for extract in plan)
