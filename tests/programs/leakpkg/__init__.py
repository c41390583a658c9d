"""A package run with ``-m leakpkg`` (its ``__main__``) or ``-m leakpkg.run``."""
