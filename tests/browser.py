"""A headless Chromium driven through the DevTools protocol, for the report page's tests.

Chromium speaks the protocol over a pair of pipes when started with
``--remote-debugging-pipe``: it reads commands from its file descriptor 3 and writes
replies and events to its descriptor 4, each message JSON ended by a NUL byte. That
needs no websocket, no port and no dependency: a few lines of the standard library.

Debian's ``chromium`` package is the browser (``.ci/run`` installs it); builds that
download themselves are not reachable here. ``find_chromium`` returns None when there
is none, and the tests then skip in one line.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",  # the CI runs as root, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
# A protocol reply slower than this means the browser is stuck: fail, never hang.
REPLY_SECONDS = 30.0


def find_chromium() -> str | None:
    """The browser's path: ``AGMEM_CHROMIUM``, else Debian's ``chromium`` on PATH."""
    return os.environ.get("AGMEM_CHROMIUM") or shutil.which("chromium")


def _onto_3_and_4(commands: int, replies: int) -> None:
    """In the child: the commands' pipe on fd 3, the replies' on fd 4, whatever they were."""
    commands, replies = os.dup(commands), os.dup(replies)  # above 4: neither clobbers one
    os.dup2(commands, 3)
    os.dup2(replies, 4)


class BrowserError(RuntimeError):
    """The browser refused a command or stopped answering."""


class Browser:
    """One headless Chromium with one page, and every event it sent, in order."""

    def __init__(self, executable: str, profile: str) -> None:
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # The pipes become the child's fds 3 and 4 before exec; subprocess closes
            # the others after preexec_fn, keeping the ones pass_fds names.
            pass_fds=(3, 4),
            preexec_fn=lambda: _onto_3_and_4(commands_read, replies_write),
        )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command to the page (or to the browser before it has one); its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + REPLY_SECONDS
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise BrowserError("the browser stopped answering")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise BrowserError("the browser closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for(self, method: str) -> dict[str, Any]:
        """The first event named ``method`` (already received, or the next ones)."""
        while True:
            for event in self.events:
                if event["method"] == method:
                    return event
            self.events.append(self._read())

    def open(self, path: Path, width: int = 1400, height: int = 900) -> None:
        """Load a file at a window ``width`` px wide and wait until it has loaded."""
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.send("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def mouse(self, kind: str, x: float, y: float, **extra: Any) -> None:
        """One mouse event at page coordinates: mouseMoved, mousePressed, mouseWheel..."""
        self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, **extra)

    def key(self, key: str) -> None:
        """Press and release one key (``"Tab"``, ``"+"``) in the focused element."""
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                      text=key if len(key) == 1 and kind == "keyDown" else "")

    def screenshot(self, path: Path) -> None:
        """The whole page, scrolled height included, as a PNG."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))

    def requests(self) -> list[str]:
        """Every URL the page asked for since it was opened (itself included)."""
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions since the page was opened."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"].get("text", "exception"))
            elif event["method"] == "Runtime.consoleAPICalled" and params["type"] == "error":
                found.append(" ".join(str(a.get("value")) for a in params["args"]))
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found

    def close(self) -> None:
        with suppress(OSError):  # already gone: nothing to ask
            os.write(self._commands, json.dumps(
                {"id": 0, "method": "Browser.close", "params": {}}).encode() + b"\0")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)


@contextmanager
def chromium(executable: str) -> Iterator[Browser]:
    """A browser with a fresh profile, closed and its profile removed on the way out."""
    with tempfile.TemporaryDirectory(prefix="agmem-chromium-") as profile:
        browser = Browser(executable, profile)
        try:
            yield browser
        finally:
            browser.close()
