"""A program's stdout and stderr, as the parent keeps them: on disk, and shown as they come.

The measured child of a program writes into two pipes; :class:`OutputPump`, a thread
of the parent, copies each into a log on disk (the runner reads the stderr log's tail
when the program fails) and, if given an ``echo``, passes the text on as it arrives,
so that a long training script is not silent for minutes. The CLI echoes to agmem's
stderr, never its stdout: stdout carries the report, which may be a JSON document.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# How long the pump keeps reading once the runner has ended the process group: a
# process that escaped the group (a daemon that called setsid) may hold the pipes open.
DRAIN_SECONDS = 1.0
_CHUNK_BYTES = 64 * 1024


class OutputPump:
    """Copies each of ``streams`` (a pipe's read end, and its log) to its log, and to ``echo``."""

    def __init__(
        self, streams: list[tuple[int, Path]], echo: Callable[[str], None] | None = None
    ) -> None:
        self._logs: dict[int, BinaryIO] = {fd: open(path, "wb") for fd, path in streams}  # noqa: SIM115
        self._decoders = {
            fd: codecs.getincrementaldecoder("utf-8")(errors="replace") for fd in self._logs
        }
        self._echo = echo
        self._deadline: float | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="agmem-output", daemon=True)

    def start(self) -> OutputPump:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Read what is left (for at most DRAIN_SECONDS), then close the pipes and logs."""
        self._deadline = time.monotonic() + DRAIN_SECONDS
        if self._thread.is_alive():
            self._thread.join()
        for fd, log in self._logs.items():
            with contextlib.suppress(OSError):
                os.close(fd)
            log.close()
        self._logs = {}

    def _run(self) -> None:
        open_fds = list(self._logs)
        try:
            while open_fds and (self._deadline is None or time.monotonic() < self._deadline):
                ready, _, _ = select.select(open_fds, [], [], 0.1)
                for fd in ready:
                    chunk = os.read(fd, _CHUNK_BYTES)
                    if not chunk:  # every writer has gone: the end of this stream
                        open_fds.remove(fd)
                    self._copy(fd, chunk)
        except Exception as exc:  # the runner reports it: no thread dies unheard
            self.error = f"{type(exc).__name__}: {exc}"

    def _copy(self, fd: int, chunk: bytes) -> None:
        log = self._logs[fd]
        log.write(chunk)
        log.flush()  # the tail is read from disk as soon as the child ends
        if self._echo is not None:
            text = self._decoders[fd].decode(chunk, final=not chunk)
            if text:
                self._echo(text)
