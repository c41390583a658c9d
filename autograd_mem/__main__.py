"""``python -m autograd_mem`` runs the ``agmem`` command."""

from autograd_mem.cli import entry_point

entry_point()
