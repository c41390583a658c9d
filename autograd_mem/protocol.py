"""What the measured child and the runner agree on, beyond the result document itself.

A module of its own so that the runner can read how a child ended without importing
the child (and the probes, engine and numpy it pulls in).
"""

from __future__ import annotations

# Exit codes that say how the child ended even when its result file cannot be read.
EXIT_WORKLOAD_NOT_FOUND = 4
EXIT_WORKLOAD_RAISED = 5

# The parent's pid, given to the child so that it can tell whether its parent died
# before the child asked the kernel to signal it on that death (see child._follow_parent).
PARENT_PID_VARIABLE = "AGMEM_PARENT_PID"

# How much of a workload's traceback the child's result document carries, for when its
# stderr cannot be read (a workload that closed fds 1 and 2).
TRACEBACK_TAIL_CHARACTERS = 4_000
