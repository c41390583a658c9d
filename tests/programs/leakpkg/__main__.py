"""``python -m leakpkg``: runs leakpkg.run's main under this module's name."""

from leakpkg.run import main

main(__name__)
