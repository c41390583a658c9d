"""The measurement: the child that runs a target in a window, the runner that samples it."""
